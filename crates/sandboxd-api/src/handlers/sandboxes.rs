//! The v1 sandbox resource: create, list, get, delete, start, stop.

use super::{detached, parse_id, query, IdPath};
use crate::audit::AuditedSandbox;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Conflict, Failed, Missing, Refused, TooLarge};
use crate::wire::{DeleteParams, ListParams, SandboxDetail, SandboxList, SandboxView};
use crate::{view, ApiState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use sandboxd_core::CreateRequest;

/// A created sandbox's answer; names the sandbox for the audit log (its id is not in the path).
pub(crate) type Created = (StatusCode, Extension<AuditedSandbox>, Json<SandboxView>);

pub(crate) async fn create_view(
    st: &ApiState,
    caller: &Caller,
    req: CreateRequest,
) -> Result<Created, ApiError> {
    let mut spec = req.validate(&st.engine.config().limits)?;
    spec.owner = caller.owner().map(str::to_string);
    let engine = st.engine.clone();
    let sb = detached(st, async move { engine.create_sandbox(spec).await }).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditedSandbox(sb.id.clone())),
        Json(view::sandbox(&sb, &st.previews)),
    ))
}

/// Create a sandbox
#[utoipa::path(post, path = "/v1/sandboxes", operation_id = "createSandbox", tag = "sandboxes",
    request_body = CreateRequest,
    responses((status = 201, description = "Created", body = SandboxView),
        Refused, Conflict, TooLarge, Failed))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    JsonBody(req): JsonBody<CreateRequest>,
) -> Result<Created, ApiError> {
    create_view(&st, &caller, req).await
}

pub(crate) async fn list_views(
    st: &ApiState,
    caller: &Caller,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Vec<SandboxView>, ApiError> {
    let mut filter: sandboxd_engine::SandboxQuery = query(q)?.into();
    filter.owner = caller.owner().map(str::to_string);
    let rows = st.engine.list(filter).await?;
    Ok(rows
        .iter()
        .map(|s| view::sandbox(s, &st.previews))
        .collect())
}

/// List sandboxes, newest first
#[utoipa::path(get, path = "/v1/sandboxes", operation_id = "listSandboxes", tag = "sandboxes",
    params(ListParams),
    responses((status = 200, description = "Sandboxes", body = SandboxList), Refused, Failed))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SandboxList>, ApiError> {
    Ok(Json(SandboxList {
        sandboxes: list_views(&st, &caller, q).await?,
    }))
}

/// Get a sandbox with its live container state
#[utoipa::path(get, path = "/v1/sandboxes/{id}", operation_id = "getSandbox", tag = "sandboxes",
    params(IdPath),
    responses((status = 200, description = "Sandbox", body = SandboxDetail),
        Refused, Missing, Failed))]
pub async fn get_one(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<SandboxDetail>, ApiError> {
    let d = st.engine.describe(&parse_id(&id)?).await?;
    Ok(Json(SandboxDetail {
        sandbox: view::described(&d, &st.previews),
        live: view::live(d.live),
    }))
}

/// Delete a sandbox (tombstone); purge=true also removes the workspace
#[utoipa::path(delete, path = "/v1/sandboxes/{id}", operation_id = "deleteSandbox",
    tag = "sandboxes", params(IdPath, DeleteParams),
    responses((status = 204, description = "Deleted"), Refused, Missing, Failed))]
pub async fn delete(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<DeleteParams>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let purge = query(q)?.purge.unwrap_or(false);
    let engine = st.engine.clone();
    detached(&st, async move { engine.delete_sandbox(&id, purge).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn start_view(st: &ApiState, id: &str) -> Result<Json<SandboxView>, ApiError> {
    let id = parse_id(id)?;
    let engine = st.engine.clone();
    let sb = detached(st, async move { engine.start_sandbox(&id).await }).await?;
    Ok(Json(view::sandbox(&sb, &st.previews)))
}

/// Start (recreating the container when missing or in error)
#[utoipa::path(post, path = "/v1/sandboxes/{id}/start", operation_id = "startSandbox",
    tag = "sandboxes", params(IdPath),
    responses((status = 200, description = "Sandbox", body = SandboxView),
        Refused, Missing, Failed))]
pub async fn start(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<SandboxView>, ApiError> {
    start_view(&st, &id).await
}

/// Stop now; the workspace is kept
#[utoipa::path(post, path = "/v1/sandboxes/{id}/stop", operation_id = "stopSandbox",
    tag = "sandboxes", params(IdPath),
    responses((status = 200, description = "Sandbox", body = SandboxView),
        Refused, Missing, Conflict, Failed))]
pub async fn stop(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<SandboxView>, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    let sb = detached(&st, async move { engine.stop_sandbox(&id).await }).await?;
    Ok(Json(view::sandbox(&sb, &st.previews)))
}

/// Freeze now: processes paused, memory kept; any request, exec or API call thaws it
#[utoipa::path(post, path = "/v1/sandboxes/{id}/freeze", operation_id = "freezeSandbox",
    tag = "sandboxes", params(IdPath),
    responses((status = 200, description = "Sandbox", body = SandboxView),
        Refused, Missing, Conflict, Failed))]
pub async fn freeze(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<SandboxView>, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    let sb = detached(&st, async move { engine.freeze_sandbox(&id).await }).await?;
    Ok(Json(view::sandbox(&sb, &st.previews)))
}
