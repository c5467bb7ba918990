//! Coding-agent tasks: start one (answered once its agent process runs; a stopped sandbox is
//! woken first), list them, read one, cancel one; their events stream from `tasks/events.rs`.
//! Input is checked before anything starts, so a refused request creates nothing. Env values
//! never appear in an answer: a task lists only the names it was given.

pub mod events;

use super::{parse_id, IdPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Failed, Missing, Refused, TooLarge};
use crate::wire::{AgentChoice, TaskBody, TaskList, TaskView};
use crate::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sandboxd_core::time::rfc3339_ms;
use sandboxd_engine::container::HOME;
use sandboxd_engine::tasks::{Adapter, TaskAgent, TaskRow, TaskSpec};

/// The `{tid}` path segment.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its parameter description is used.
pub struct TaskPath {
    /// Sandbox id (any letter case).
    id: String,
    /// Task id, as returned by the start.
    tid: String,
}

/// A task id is a lowercase ULID; anything else cannot name a task.
fn parse_tid(raw: &str) -> Result<String, ApiError> {
    let tid = raw.to_ascii_lowercase();
    if tid.is_empty() || tid.len() > 32 || !tid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "task id must be a task id as returned by the start",
        ));
    }
    Ok(tid)
}

fn spec(b: TaskBody) -> Result<TaskSpec, ApiError> {
    let agent = match b.agent {
        None => return Err(ApiError::invalid("agent: required")),
        Some(AgentChoice::Named(name)) => TaskAgent::parse(&name).ok_or_else(|| {
            ApiError::invalid(format!(
                "agent: unknown agent {name:?} (claude-code, opencode, codex, aider, or \
                 {{\"command\": [...]}})"
            ))
        })?,
        Some(AgentChoice::Command(c)) => {
            let adapter = match c.adapter.as_deref() {
                None => Adapter::Lines,
                Some(a) => Adapter::parse(a).ok_or_else(|| {
                    ApiError::invalid("agent.adapter: lines or claude-stream-json")
                })?,
            };
            if c.command.is_empty() {
                return Err(ApiError::invalid("agent.command: must name a program"));
            }
            TaskAgent::Command {
                command: c.command,
                adapter,
            }
        }
    };
    let cwd = match b.cwd {
        Some(c) if c.starts_with('/') => c,
        Some(c) => format!("{HOME}/{c}"),
        None => format!("{HOME}/workspace"),
    };
    Ok(TaskSpec {
        prompt: b.prompt,
        agent,
        cwd,
        env: b.env.unwrap_or_default(),
        timeout_s: b.timeout_s,
    })
}

pub(crate) fn view(t: TaskRow) -> TaskView {
    TaskView {
        id: t.id,
        sandbox_id: t.sandbox_id,
        agent: t.agent,
        adapter: t.adapter,
        prompt: t.prompt,
        command: t.command,
        cwd: t.cwd,
        env: t.env_keys,
        timeout_s: t.timeout_s,
        status: t.status,
        reason: t.reason,
        exit_code: t.exit_code,
        pid: t.pid,
        last_event_id: t.last_event,
        created_at: rfc3339_ms(t.created_at_ms),
        ended_at: t.ended_at_ms.map(rfc3339_ms),
    }
}

/// Run a coding agent headlessly in the sandbox; a stopped sandbox is started first
#[utoipa::path(post, path = "/v1/sandboxes/{id}/tasks", operation_id = "createTask",
    tag = "tasks", params(IdPath), request_body = TaskBody,
    responses((status = 201, description = "Started", body = TaskView),
        Refused, Missing, TooLarge, Failed))]
pub async fn create(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TaskBody>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    let id = parse_id(&id)?;
    let spec = spec(body)?;
    let task = st.engine.create_task(&id, spec).await?;
    Ok((StatusCode::CREATED, Json(view(task))))
}

/// The sandbox's tasks, newest first
#[utoipa::path(get, path = "/v1/sandboxes/{id}/tasks", operation_id = "listTasks",
    tag = "tasks", params(IdPath),
    responses((status = 200, description = "Tasks", body = TaskList), Refused, Missing, Failed))]
pub async fn list(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TaskList>, ApiError> {
    let id = parse_id(&id)?;
    st.engine.get(&id).await?;
    let tasks = st.engine.tasks(&id).await?;
    Ok(Json(TaskList {
        tasks: tasks.into_iter().map(view).collect(),
    }))
}

/// One task
#[utoipa::path(get, path = "/v1/sandboxes/{id}/tasks/{tid}", operation_id = "getTask",
    tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task", body = TaskView),
        Refused, Missing, Failed))]
pub async fn get(
    State(st): State<ApiState>,
    Path((id, tid)): Path<(String, String)>,
) -> Result<Json<TaskView>, ApiError> {
    let (id, tid) = (parse_id(&id)?, parse_tid(&tid)?);
    st.engine.get(&id).await?;
    Ok(Json(view(st.engine.task(&id, &tid).await?)))
}

/// Cancel a running task: SIGTERM to its process group, SIGKILL after 3 s; answers once it ended
#[utoipa::path(post, path = "/v1/sandboxes/{id}/tasks/{tid}/cancel", operation_id = "cancelTask",
    tag = "tasks", params(TaskPath),
    responses((status = 200, description = "The task (`cancelled`, or as it ended before)",
        body = TaskView), Refused, Missing, Failed))]
pub async fn cancel(
    State(st): State<ApiState>,
    Path((id, tid)): Path<(String, String)>,
) -> Result<Json<TaskView>, ApiError> {
    let (id, tid) = (parse_id(&id)?, parse_tid(&tid)?);
    st.engine.get(&id).await?;
    Ok(Json(view(st.engine.cancel_task(&id, &tid).await?)))
}
