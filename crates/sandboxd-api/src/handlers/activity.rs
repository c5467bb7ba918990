//! Working with a sandbox: exec, keepalive leases, logs, and what keeps it awake.

use super::{parse_id, query, IdPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Conflict, Failed, Missing, Refused, TooLarge};
use crate::wire::{ActivityBody, ExecBody, ExecOutput, KeepaliveBody, Lease, Logs, LogsParams};
use crate::{view, ApiState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use sandboxd_engine::ExecCommand;

pub(crate) async fn exec_output(
    st: &ApiState,
    id: &str,
    body: ExecBody,
) -> Result<ExecOutput, ApiError> {
    let id = parse_id(id)?;
    let cmd = ExecCommand::from(body);
    cmd.validate()?;
    let out = st.engine.exec(&id, cmd).await?;
    Ok(view::exec(out))
}

/// Run a command; a stopped sandbox is started first
#[utoipa::path(post, path = "/v1/sandboxes/{id}/exec", operation_id = "exec", tag = "sandboxes",
    params(IdPath), request_body = ExecBody,
    responses((status = 200, description = "Command finished", body = ExecOutput),
        Refused, Missing, Conflict, TooLarge, Failed))]
pub async fn exec(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExecBody>,
) -> Result<ExecOutput, ApiError> {
    exec_output(&st, &id, body).await
}

pub(crate) async fn lease(
    st: &ApiState,
    id: &str,
    body: KeepaliveBody,
) -> Result<Json<Lease>, ApiError> {
    let id = parse_id(id)?;
    let until_ms = st.engine.keepalive(&id, body.lease()?).await?;
    Ok(Json(view::lease(id, until_ms)))
}

/// Hold off the idle reaper (empty body: one idle timeout)
#[utoipa::path(post, path = "/v1/sandboxes/{id}/keepalive", operation_id = "keepalive",
    tag = "sandboxes", params(IdPath), request_body = KeepaliveBody,
    responses((status = 200, description = "Lease", body = Lease),
        Refused, Missing, TooLarge, Failed))]
pub async fn keepalive(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<KeepaliveBody>,
) -> Result<Json<Lease>, ApiError> {
    lease(&st, &id, body).await
}

/// Output of the sandbox's init and start command
#[utoipa::path(get, path = "/v1/sandboxes/{id}/logs", operation_id = "logs", tag = "sandboxes",
    params(IdPath, LogsParams),
    responses((status = 200, description = "Log lines", body = Logs), Refused, Missing, Failed))]
pub async fn logs(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<LogsParams>, QueryRejection>,
) -> Result<Json<Logs>, ApiError> {
    let id = parse_id(&id)?;
    let tail = query(q)?.tail.unwrap_or(200).clamp(1, 10_000);
    let lines = st.engine.logs(&id, tail).await?;
    let lines = lines.into_iter().map(|l| (l.stream.to_string(), l.text));
    Ok(Json(view::logs(id, lines)))
}

/// What keeps the sandbox awake
#[utoipa::path(get, path = "/v1/sandboxes/{id}/activity", operation_id = "activity",
    tag = "sandboxes", params(IdPath),
    responses((status = 200, description = "Activity", body = ActivityBody),
        Refused, Missing, Failed))]
pub async fn activity(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ActivityBody>, ApiError> {
    let id = parse_id(&id)?;
    let v = st.engine.activity(&id).await?;
    Ok(Json(view::activity(id, v)))
}
