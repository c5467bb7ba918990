//! A process's output as server-sent events. Rule: one agent `Connect` per subscriber, replaying
//! the kept events after the resume point (`Last-Event-ID`, else `?since=`, else from the start)
//! and then following live; each SSE `id:` is the agent's seq, so a client that reconnects with
//! its last id gets neither duplicates nor holes (a `gap` event says when the agent had already
//! dropped some). The stream ends after `exit`; a lost agent ends it with an `error` event. The
//! session guard lives inside the stream, so `/activity` shows it for exactly as long as a client
//! is attached.

use super::{agent, parse_pid, PidPath};
use crate::error::ApiError;
use crate::handlers::{parse_id, query};
use crate::openapi::errors::{Failed, Missing, Refused};
use crate::wire::{ExitEvent, OutputChunk, OutputParams};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::stream::{self, StreamExt};
use sandboxd_agent_client::process_events::{Chunk, ProcessEvent, ProcessMessage, SINCE_HEADER};
use sandboxd_agent_client::{CallError, RpcStream};
use sandboxd_engine::{SessionGuard, SessionKind};
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Follow a process's output (text/event-stream); resumable with Last-Event-ID or ?since=
#[utoipa::path(get, path = "/v1/sandboxes/{id}/processes/{pid}/output", operation_id = "processOutput",
    tag = "processes", params(PidPath, OutputParams),
    responses((status = 200, description = "Server-sent events: `stdout`, `stderr`, `pty` \
        (data OutputChunk), `gap` (events were dropped), `exit` (data ExitEvent, last), `error`; \
        `id` is the event's seq", content_type = "text/event-stream", body = String),
        Refused, Missing, Failed))]
pub async fn output(
    State(st): State<ApiState>,
    Path((id, pid)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<OutputParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (id, pid) = (parse_id(&id)?, parse_pid(&pid)?);
    let since = since(&headers, q)?;
    let ep = agent(&st, &id).await?;
    let guard = st.engine.session(&id, SessionKind::ProcessOutput);
    let header = [(
        HeaderName::from_static(SINCE_HEADER),
        HeaderValue::from(since),
    )];
    let req = serde_json::json!({"process": {"pid": pid}});
    let mut events: RpcStream<ProcessMessage> = st
        .engine
        .agent_client()
        .stream(&ep, "/process.Process/Connect", &req, &header)
        .await?;
    // An unknown pid is the first item: answer it as a status, not as an event.
    let first = match events.next().await {
        Some(Err(e)) => return Err(e.into()),
        first => first,
    };
    let state = Follow {
        events,
        first,
        _guard: guard,
        done: false,
    };
    let sse = Sse::new(stream::unfold(state, next_event).flat_map(stream::iter))
        .keep_alive(KeepAlive::new().interval(KEEPALIVE));
    Ok(sse.into_response())
}

struct Follow {
    events: RpcStream<ProcessMessage>,
    first: Option<Result<ProcessMessage, CallError>>,
    _guard: SessionGuard,
    done: bool,
}

/// The SSE events of the next agent message (none for start and keepalives).
async fn next_event(mut f: Follow) -> Option<(Vec<Result<Event, Infallible>>, Follow)> {
    if f.done {
        return None;
    }
    let item = match f.first.take() {
        Some(item) => Some(item),
        None => f.events.next().await,
    };
    let out = match item {
        Some(Ok(msg)) => events_of(msg, &mut f.done),
        Some(Err(e)) => {
            f.done = true;
            let err = ApiError::from(e);
            let data = serde_json::json!({"code": err.code, "message": err.message});
            vec![Event::default().event("error").data(data.to_string())]
        }
        // Connect always ends with `exit` for an exited process; a clean end without it means
        // the agent went away in an orderly way: just end.
        None => return None,
    };
    Some((out.into_iter().map(Ok).collect(), f))
}

fn events_of(msg: ProcessMessage, done: &mut bool) -> Vec<Event> {
    let mut out = Vec::new();
    if msg.gap {
        out.push(Event::default().event("gap").data("{}"));
    }
    let id = msg.seq.to_string();
    match msg.event {
        ProcessEvent::Start { .. } | ProcessEvent::Keepalive {} => {}
        ProcessEvent::Data(chunk) => {
            let (kind, bytes) = match chunk {
                Chunk::Stdout(b) => ("stdout", b),
                Chunk::Stderr(b) => ("stderr", b),
                Chunk::Pty(b) => ("pty", b),
            };
            let data = match String::from_utf8(bytes) {
                Ok(text) => OutputChunk {
                    text: Some(text),
                    base64: None,
                },
                Err(e) => OutputChunk {
                    text: None,
                    base64: Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
                },
            };
            out.push(json_event(kind, &id, &data));
        }
        ProcessEvent::End(end) => {
            *done = true;
            let data = ExitEvent {
                exit_code: i64::from(end.shell_code()),
                status: end.status,
            };
            out.push(json_event("exit", &id, &data));
        }
    }
    out
}

fn json_event<T: serde::Serialize>(kind: &str, id: &str, data: &T) -> Event {
    // Plain structs of strings and numbers always serialize.
    let text = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    Event::default().event(kind).id(id).data(text)
}

/// Where a resumed stream starts: `Last-Event-ID` wins over `?since=` (process output and task
/// events resume the same way).
pub(crate) fn since(
    headers: &HeaderMap,
    q: Result<Query<OutputParams>, QueryRejection>,
) -> Result<u64, ApiError> {
    let q = query(q)?;
    match headers.get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| ApiError::invalid("Last-Event-ID must be an event id (an integer)")),
        None => Ok(q.since.unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandboxd_agent_client::process_events::Ended;

    #[test]
    fn messages_become_events() {
        let mut done = false;
        let msg = |event, seq, gap| ProcessMessage { event, seq, gap };
        let evs = events_of(msg(ProcessEvent::Start { pid: 1 }, 0, false), &mut done);
        assert!(evs.is_empty());
        let evs = events_of(
            msg(ProcessEvent::Data(Chunk::Stdout(b"hi\n".to_vec())), 4, true),
            &mut done,
        );
        assert_eq!(evs.len(), 2, "a gap event, then the data");
        let end = Ended {
            exit_code: -1,
            exited: false,
            status: "signal: terminated".into(),
            error: None,
        };
        let evs = events_of(msg(ProcessEvent::End(end), 5, false), &mut done);
        assert_eq!(evs.len(), 1);
        assert!(done);
    }
}
