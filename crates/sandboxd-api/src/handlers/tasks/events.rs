//! A task's events as server-sent events, read from the store (so they survive a sandboxd
//! restart). Rule: each SSE `id:` is the stored event id; a client resumes exactly after
//! `Last-Event-ID` (else `?since=`, else from the start); a `gap` event says events it missed were
//! already dropped by the per-task retention; the stream ends after the task's `end` event and
//! otherwise waits on the engine's task-update signal, never on a timer.

use super::{parse_tid, TaskPath};
use crate::error::ApiError;
use crate::handlers::parse_id;
use crate::handlers::processes::stream::since;
use crate::openapi::errors::{Failed, Missing, Refused};
use crate::wire::OutputParams;
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use sandboxd_engine::Engine;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Events read from the store at a time.
const PAGE: u32 = 256;

/// Follow a task's events (text/event-stream); resumable with Last-Event-ID or ?since=
#[utoipa::path(get, path = "/v1/sandboxes/{id}/tasks/{tid}/events", operation_id = "taskEvents",
    tag = "tasks", params(TaskPath, OutputParams),
    responses((status = 200, description = "Server-sent events: `message`, `tool_call`, \
        `tool_result`, `file_change`, `usage`, `result`, `error`, `log` (data: a JSON object, see \
        docs/api.md), `gap` (events were dropped), `end` (data: status, exit_code, reason; last); \
        `id` is the event id", content_type = "text/event-stream", body = String),
        Refused, Missing, Failed))]
pub async fn events(
    State(st): State<ApiState>,
    Path((id, tid)): Path<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<OutputParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (id, tid) = (parse_id(&id)?, parse_tid(&tid)?);
    let since = since(&headers, q)?;
    st.engine.get(&id).await?;
    st.engine.task(&id, &tid).await?;
    let state = Follow {
        engine: st.engine.clone(),
        id,
        tid,
        after: since,
        done: false,
    };
    let sse = Sse::new(stream::unfold(state, next_events).flat_map(stream::iter))
        .keep_alive(KeepAlive::new().interval(KEEPALIVE));
    Ok(sse.into_response())
}

struct Follow {
    engine: Engine,
    id: sandboxd_core::SandboxId,
    tid: String,
    after: u64,
    done: bool,
}

async fn next_events(mut f: Follow) -> Option<(Vec<Result<Event, Infallible>>, Follow)> {
    if f.done {
        return None;
    }
    // Subscribed before reading, so a change between the read and the wait is not missed.
    let mut updates = f.engine.task_updates();
    loop {
        let rows = match f.engine.task_events(&f.tid, f.after, PAGE).await {
            Ok(rows) => rows,
            Err(e) => return Some((vec![Ok(error_event(e.into()))], ended(f))),
        };
        if let Some(last) = rows.last() {
            let mut out = Vec::with_capacity(rows.len() + 1);
            if rows[0].id > f.after + 1 {
                out.push(Ok(Event::default().event("gap").data("{}")));
            }
            let last_id = last.id;
            for r in rows {
                f.done |= r.kind == "end";
                out.push(Ok(Event::default()
                    .event(r.kind)
                    .id(r.id.to_string())
                    .data(r.data)));
            }
            f.after = last_id;
            return Some((out, f));
        }
        match f.engine.task(&f.id, &f.tid).await {
            // Ended and every event read (the end event is stored before the status).
            Ok(t) if t.status != "running" => return None,
            Ok(_) => {}
            Err(e) => return Some((vec![Ok(error_event(e.into()))], ended(f))),
        }
        if updates.changed().await.is_err() {
            return None;
        }
    }
}

fn ended(mut f: Follow) -> Follow {
    f.done = true;
    f
}

fn error_event(err: ApiError) -> Event {
    let data = serde_json::json!({"code": err.code, "message": err.message});
    Event::default().event("error").data(data.to_string())
}
