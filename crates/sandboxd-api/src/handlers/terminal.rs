//! `GET /v1/sandboxes/{id}/terminal`: an interactive terminal over a WebSocket. Rule: everything
//! that can fail with an HTTP answer happens before the upgrade — the query is validated, the
//! sandbox woken (deleted ones are 410), its agent reached and the PTY process started — so a
//! client either gets an error envelope or a socket with a live process behind it. From then on
//! `relay` owns the process: it ends with the process, and a socket that goes away takes the
//! process down with it (no orphan shell).

mod relay;

use super::{parse_id, query, IdPath};
use crate::error::ApiError;
use crate::openapi::errors::{Failed, Missing, Refused};
use crate::wire::{TerminalParams, TERMINAL_CMD_MAX, TERMINAL_DIM_MAX};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use sandboxd_agent_client::{AgentClient, CallError, Endpoint, RpcStream};
use sandboxd_engine::SessionKind;
use serde_json::{json, Value};

/// The shells tried, in order, for a terminal (the first one the image has).
const SHELLS: [&str; 2] = ["/bin/bash", "/bin/sh"];

/// Open an interactive terminal (WebSocket)
///
/// Binary frames carry raw terminal bytes both ways. The client may send the text frame
/// `{"type":"resize","cols","rows"}` (schema `TerminalClientFrame`); the server sends
/// `{"type":"exit","exit_code"}` (schema `TerminalServerFrame`) when the process ends, then
/// closes. Closing the socket ends the process (SIGTERM, then SIGKILL to its group).
#[utoipa::path(get, path = "/v1/sandboxes/{id}/terminal", operation_id = "terminal",
    tag = "sandboxes", params(IdPath, TerminalParams),
    responses((status = 101, description = "Switching Protocols: the WebSocket is open and the \
        terminal's process is running"),
        Refused, Missing, Failed))]
pub async fn terminal(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<TerminalParams>, QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let q = query(q)?;
    let (cols, rows) = size(&q)?;
    if let Some(cmd) = &q.cmd {
        if cmd.is_empty() || cmd.len() > TERMINAL_CMD_MAX || cmd.contains('\0') {
            return Err(ApiError::invalid(format!(
                "cmd: 1 to {TERMINAL_CMD_MAX} bytes without NUL"
            )));
        }
    }
    let ws = ws.map_err(|e| ApiError::invalid(format!("this route needs a WebSocket: {e}")))?;
    let agent = st.engine.agent(&id).await?;
    let ep = Endpoint {
        addr: agent.addr,
        token: agent.token.expose().to_string(),
    };
    let guard = st.engine.session(&id, SessionKind::Terminal);
    let client = st.engine.agent_client();
    let shell = pick_shell(client, &ep).await?;
    let mut args = vec!["-l".to_string()];
    if let Some(cmd) = q.cmd {
        args.extend(["-c".to_string(), cmd]);
    }
    let start = json!({
        "process": {"cmd": shell, "args": args},
        "pty": {"size": {"cols": cols, "rows": rows}},
    });
    let mut events: RpcStream<Value> = client
        .stream(&ep, "/process.Process/Start", &start, &[])
        .await?;
    let pid = match events.next().await {
        Some(Ok(first)) => first["event"]["start"]["pid"].as_u64().ok_or_else(|| {
            ApiError::from(CallError::Protocol(format!(
                "the first event is not a start: {first}"
            )))
        })?,
        Some(Err(e)) => return Err(e.into()),
        None => return Err(CallError::Protocol("no start event".into()).into()),
    };
    tracing::info!(sandbox = %id, pid, shell, "terminal opened");
    let session = relay::Session {
        process: relay::Process {
            client: client.clone(),
            ep,
            pid,
        },
        events,
        _guard: guard,
        settled: false,
    };
    Ok(ws.on_upgrade(move |socket| relay::run(session, socket)))
}

/// The requested size, defaults filled in, each side within 1..=1000.
fn size(q: &TerminalParams) -> Result<(u16, u16), ApiError> {
    let cols = q.cols.unwrap_or(80);
    let rows = q.rows.unwrap_or(24);
    if !(1..=TERMINAL_DIM_MAX).contains(&cols) || !(1..=TERMINAL_DIM_MAX).contains(&rows) {
        return Err(ApiError::invalid(format!(
            "cols and rows must be 1 to {TERMINAL_DIM_MAX}"
        )));
    }
    Ok((cols, rows))
}

/// The first of [`SHELLS`] the sandbox has (asked through the agent's Stat).
async fn pick_shell(client: &AgentClient, ep: &Endpoint) -> Result<&'static str, ApiError> {
    for shell in SHELLS {
        let stat = client
            .unary::<_, Value>(
                ep,
                "/filesystem.Filesystem/Stat",
                &json!({"path": shell}),
                &[],
            )
            .await;
        match stat {
            Ok(_) => return Ok(shell),
            Err(e) if e.code() == Some("not_found") => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        sandboxd_core::ErrorCode::FailedPrecondition,
        "the sandbox's image has neither /bin/bash nor /bin/sh",
    ))
}
