//! The watch: `GET .../files/watch` opens the agent's `WatchDir` stream and answers only once
//! the agent has started watching (a missing or wrong path is a plain error answer, not a
//! stream), then relays each change as a server-sent event named after its kind (`create`,
//! `write`, `remove`, `rename`, `chmod`) with data `{"path"}` relative to the home. A broken
//! agent stream ends with an `error` event. The stream holds a `Watch` session for its whole
//! life; keep-alive comments keep idle proxies from closing it.

use super::{reach, root, utf8_query};
use crate::error::ApiError;
use crate::handlers::{query, IdPath};
use crate::wire::{FileEvent, WatchParams};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sandboxd_agent_client::RpcStream;
use sandboxd_core::ErrorCode;
use sandboxd_engine::SessionKind;
use serde_json::{json, Value};
use std::convert::Infallible;

/// The SSE event name for an agent event type.
fn event_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "EVENT_TYPE_CREATE" => "create",
        "EVENT_TYPE_WRITE" => "write",
        "EVENT_TYPE_REMOVE" => "remove",
        "EVENT_TYPE_RENAME" => "rename",
        "EVENT_TYPE_CHMOD" => "chmod",
        _ => return None,
    })
}

/// `dir` + `name` as a home-relative path.
fn joined(dir: &str, name: &str) -> String {
    let dir = dir.trim_matches('/');
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The SSE event for one agent message; `None` for keepalives and unknown kinds.
fn to_event(dir: &str, msg: &Value) -> Option<Event> {
    let fs = msg.get("filesystem")?;
    let name = event_name(fs.get("type")?.as_str()?)?;
    let path = joined(dir, fs.get("name")?.as_str()?);
    Event::default()
        .event(name)
        .json_data(FileEvent { path })
        .ok()
}

/// Watch a directory for changes (server-sent events)
#[utoipa::path(get, path = "/v1/sandboxes/{id}/files/watch", operation_id = "watchFiles",
    tag = "files", params(IdPath, WatchParams),
    responses((status = 200, description = "Events `create`, `write`, `remove`, `rename`, \
            `chmod` with data `{\"path\"}` (FileEvent); `error` when the watch breaks",
            content_type = "text/event-stream", body = String),
        crate::openapi::errors::Refused, super::FileErrors))]
pub async fn watch(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<WatchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    utf8_query(raw.as_deref())?;
    let q = query(q)?;
    let dir = q.path.unwrap_or_default();
    let (id, ep) = reach(&st, &id).await?;
    let request = json!({ "path": dir, "recursive": q.recursive.unwrap_or(false) });
    let mut stream: RpcStream<Value> = st
        .engine
        .agent_client()
        .stream(&ep, "/filesystem.Filesystem/WatchDir", &request, &root())
        .await?;
    match stream.next().await {
        Some(Ok(first)) if first.get("start").is_some() => {}
        Some(Ok(other)) => {
            return Err(ApiError::new(
                ErrorCode::AgentUnavailable,
                format!("the agent's watch began with {other}"),
            ))
        }
        Some(Err(e)) => return Err(e.into()),
        None => {
            return Err(ApiError::new(
                ErrorCode::AgentUnavailable,
                "the agent's watch ended at once",
            ))
        }
    }
    let guard = st.engine.session(&id, SessionKind::Watch);
    let events = futures_util::stream::unfold(Some((stream, guard, dir)), |state| async move {
        let (mut stream, guard, dir) = state?;
        loop {
            match stream.next().await {
                Some(Ok(msg)) => {
                    if let Some(event) = to_event(&dir, &msg) {
                        return Some((Ok::<_, Infallible>(event), Some((stream, guard, dir))));
                    }
                }
                Some(Err(e)) => {
                    let err = ApiError::from(e);
                    let event = Event::default()
                        .event("error")
                        .json_data(json!({ "code": err.code, "message": err.message }))
                        .unwrap_or_default();
                    return Some((Ok(event), None));
                }
                None => return None,
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_events_become_named_home_relative_events() {
        assert_eq!(joined("", "a.txt"), "a.txt");
        assert_eq!(joined("src/", "a.txt"), "src/a.txt");
        let msg = json!({"filesystem": {"name": "x", "type": "EVENT_TYPE_RENAME"}});
        assert!(to_event("d", &msg).is_some());
        assert!(to_event("d", &json!({"keepalive": {}})).is_none());
        assert_eq!(event_name("EVENT_TYPE_CHMOD"), Some("chmod"));
        assert_eq!(event_name("EVENT_TYPE_UNSPECIFIED"), None);
    }
}
