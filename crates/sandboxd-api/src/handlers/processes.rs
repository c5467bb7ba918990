//! Background processes through the sandbox's agent: start one (the answer comes once it runs),
//! list them, follow one's output as server-sent events (resumable by event id, which is the
//! agent's per-process seq), write its stdin, signal it. Input is validated before anything is
//! started; a stopped sandbox is woken first; every output stream holds a `process_output`
//! session for its whole life.

pub mod stream;

use super::{parse_id, IdPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Conflict, Failed, Missing, Refused, TooLarge};
use crate::wire::{ProcessBody, ProcessList, ProcessView, SignalBody, SignalName, StdinBody};
use crate::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use sandboxd_agent_client::process_events::{ProcessEvent, ProcessMessage};
use sandboxd_agent_client::{CallError, Endpoint};
use sandboxd_core::SandboxId;
use sandboxd_engine::container::HOME;
use sandboxd_engine::ExecCommand;
use serde_json::{json, Value};

/// Longest tag.
const MAX_TAG: usize = 64;

/// The `{pid}` path segment.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its parameter description is used.
pub struct PidPath {
    /// Sandbox id (any letter case).
    id: String,
    /// Process id, as returned by the start.
    pid: u32,
}

fn parse_pid(raw: &str) -> Result<u32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("pid must be a process id (a positive integer)"))
}

/// The agent of `id` (woken first) as a client endpoint.
async fn agent(st: &ApiState, id: &SandboxId) -> Result<Endpoint, ApiError> {
    Ok(st.engine.agent(id).await?.client_endpoint())
}

/// The checks of `POST .../processes`; returns the agent's Start request and the deadline (ms).
fn start_request(b: ProcessBody) -> Result<(Value, Option<u64>), ApiError> {
    let cwd = match b.cwd {
        Some(c) if c.starts_with('/') => c,
        Some(c) => format!("{HOME}/{c}"),
        None => format!("{HOME}/workspace"),
    };
    let cmd = ExecCommand {
        cmd: b.cmd,
        cwd: Some(cwd),
        env: b.env.unwrap_or_default(),
        timeout_s: b.timeout_s,
    };
    cmd.validate()?;
    if let Some(tag) = &b.tag {
        if tag.is_empty() || tag.len() > MAX_TAG || tag.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "tag: must be 1 to 64 characters, no control characters",
            ));
        }
    }
    let mut req = json!({"process": {
        "cmd": cmd.cmd[0], "args": cmd.cmd[1..], "envs": cmd.env, "cwd": cmd.cwd,
    }});
    if let Some(p) = b.pty {
        if !(1..=1000).contains(&p.cols) || !(1..=1000).contains(&p.rows) {
            return Err(ApiError::invalid("pty: cols and rows must be 1 to 1000"));
        }
        req["pty"] = json!({"size": {"cols": p.cols, "rows": p.rows}});
    }
    if let Some(tag) = b.tag {
        req["tag"] = json!(tag);
    }
    if b.stdin == Some(true) {
        req["stdin"] = json!(true);
    }
    Ok((req, cmd.timeout_s.map(|t| t * 1000)))
}

/// Start a process in the background; a stopped sandbox is started first
#[utoipa::path(post, path = "/v1/sandboxes/{id}/processes", operation_id = "startProcess",
    tag = "processes", params(IdPath), request_body = ProcessBody,
    responses((status = 201, description = "Started", body = ProcessView),
        (status = 422, description = "The agent runs too many processes",
            body = crate::wire::ErrorBody),
        Refused, Missing, Conflict, TooLarge, Failed))]
pub async fn start(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ProcessBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (tag, argv) = (body.tag.clone(), body.cmd.clone());
    let (req, deadline_ms) = start_request(body)?;
    let ep = agent(&st, &id).await?;
    let mut headers = Vec::new();
    if let Some(ms) = deadline_ms {
        headers.push((
            axum::http::HeaderName::from_static("connect-timeout-ms"),
            axum::http::HeaderValue::from(ms),
        ));
    }
    let client = st.engine.agent_client();
    let mut events = client
        .stream::<_, ProcessMessage>(&ep, "/process.Process/Start", &req, &headers)
        .await?;
    // The first message is the start (or why it could not start). Dropping the stream after it
    // leaves the process running: the agent never ties a process to its caller.
    let pid = match events.next().await {
        Some(Ok(ProcessMessage {
            event: ProcessEvent::Start { pid },
            ..
        })) => pid,
        Some(Err(e)) => return Err(e.into()),
        _ => {
            return Err(CallError::Protocol("the start stream began without a start".into()).into())
        }
    };
    let view = ProcessView {
        pid,
        tag,
        cmd: argv,
        cwd: req["process"]["cwd"].as_str().map(str::to_string),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The processes the agent started (running, and recently exited ones it still keeps)
#[utoipa::path(get, path = "/v1/sandboxes/{id}/processes", operation_id = "listProcesses",
    tag = "processes", params(IdPath),
    responses((status = 200, description = "Processes", body = ProcessList),
        Refused, Missing, Failed))]
pub async fn list(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ProcessList>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default)]
        processes: Vec<Info>,
    }
    #[derive(serde::Deserialize)]
    struct Info {
        pid: u32,
        #[serde(default)]
        tag: Option<String>,
        #[serde(default)]
        config: Config,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Config {
        cmd: String,
        args: Vec<String>,
        cwd: Option<String>,
    }
    let id = parse_id(&id)?;
    let ep = agent(&st, &id).await?;
    let client = st.engine.agent_client();
    let listed: Listed = client
        .unary(&ep, "/process.Process/List", &json!({}), &[])
        .await?;
    let mut processes: Vec<ProcessView> = listed
        .processes
        .into_iter()
        .map(|p| ProcessView {
            pid: p.pid,
            tag: p.tag,
            cmd: std::iter::once(p.config.cmd).chain(p.config.args).collect(),
            cwd: p.config.cwd,
        })
        .collect();
    processes.sort_by_key(|p| p.pid);
    Ok(Json(ProcessList { processes }))
}

/// Write to a process's stdin (started with `"stdin": true`), and/or close it
#[utoipa::path(post, path = "/v1/sandboxes/{id}/processes/{pid}/stdin", operation_id = "processStdin",
    tag = "processes", params(PidPath), request_body = StdinBody,
    responses((status = 204, description = "Written"), Refused, Missing, Conflict, TooLarge, Failed))]
pub async fn stdin(
    State(st): State<ApiState>,
    Path((id, pid)): Path<(String, String)>,
    JsonBody(body): JsonBody<StdinBody>,
) -> Result<StatusCode, ApiError> {
    let (id, pid) = (parse_id(&id)?, parse_pid(&pid)?);
    let bytes = match (body.text, body.base64) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("give either text or base64")),
        (Some(t), None) => Some(t.into_bytes()),
        (None, Some(b)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| ApiError::invalid(format!("base64: {e}")))?,
        ),
        (None, None) => None,
    };
    let eof = body.eof.unwrap_or(false);
    if bytes.is_none() && !eof {
        return Err(ApiError::invalid("give text, base64 or eof"));
    }
    let ep = agent(&st, &id).await?;
    let client = st.engine.agent_client();
    if let Some(bytes) = bytes.filter(|b| !b.is_empty()) {
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let req = json!({"process": {"pid": pid}, "input": {"stdin": data}});
        let _: Value = client
            .unary(&ep, "/process.Process/SendInput", &req, &[])
            .await?;
    }
    if eof {
        let req = json!({"process": {"pid": pid}});
        let _: Value = client
            .unary(&ep, "/process.Process/CloseStdin", &req, &[])
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Send SIGTERM (default) or SIGKILL to a process's group
#[utoipa::path(post, path = "/v1/sandboxes/{id}/processes/{pid}/signal", operation_id = "processSignal",
    tag = "processes", params(PidPath), request_body = SignalBody,
    responses((status = 204, description = "Sent"), Refused, Missing, Conflict, TooLarge, Failed))]
pub async fn signal(
    State(st): State<ApiState>,
    Path((id, pid)): Path<(String, String)>,
    JsonBody(body): JsonBody<SignalBody>,
) -> Result<StatusCode, ApiError> {
    let (id, pid) = (parse_id(&id)?, parse_pid(&pid)?);
    let name = match body.signal.unwrap_or_default() {
        SignalName::Sigterm => "SIGNAL_SIGTERM",
        SignalName::Sigkill => "SIGNAL_SIGKILL",
    };
    let ep = agent(&st, &id).await?;
    let req = json!({"process": {"pid": pid}, "signal": name});
    let _: Value = st
        .engine
        .agent_client()
        .unary(&ep, "/process.Process/SendSignal", &req, &[])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
