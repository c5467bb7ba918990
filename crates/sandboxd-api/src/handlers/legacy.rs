//! The reference-compatible routes (the product brief's quick start uses these). Their shapes
//! match the reference API so its clients work unchanged; each is its own operation in the
//! document and shares its work with the v1 handler.

use super::activity::{exec_output, lease};
use super::e2b;
use super::sandboxes::{create_view, list_views, start_view};
use super::{detached, parse_id, IdPath};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Conflict, Failed, Missing, Refused, TooLarge};
use crate::wire::E2bListParams;
use crate::wire::{
    ExecBody, ExecOutput, KeepaliveBody, Lease, LegacySandboxDetail, LegacySandboxList, ListParams,
    SandboxView,
};
use crate::{view, ApiState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use sandboxd_core::CreateRequest;

/// Create a sandbox (reference route; empty body allowed)
#[utoipa::path(post, path = "/sandbox", operation_id = "createSandboxLegacy", tag = "sandboxes",
    request_body = CreateRequest,
    responses((status = 201, description = "Created", body = SandboxView),
        Refused, Conflict, TooLarge, Failed))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    JsonBody(req): JsonBody<CreateRequest>,
) -> Result<super::sandboxes::Created, ApiError> {
    create_view(&st, &caller, req).await
}

/// List sandboxes, newest first (reference route: a bare array). A request carrying
/// `X-API-KEY` (the E2B SDK 1.x) gets E2B's list instead: the query and answer of
/// `GET /v2/sandboxes`.
#[utoipa::path(get, path = "/sandboxes", operation_id = "listSandboxesLegacy", tag = "sandboxes",
    params(ListParams),
    responses((status = 200, description = "Sandboxes", body = LegacySandboxList),
        Refused, Failed))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    if headers.contains_key("x-api-key") {
        let p = Query::<E2bListParams>::try_from_uri(&uri)
            .map(|Query(p)| p)
            .map_err(|e| ApiError::invalid(format!("query string: {e}")))?;
        let (items, next) = e2b::list::page(&st, &caller, p).await?;
        return Ok(e2b::list::answer(items, next));
    }
    Ok(Json(LegacySandboxList(list_views(&st, &caller, q).await?)).into_response())
}

/// Get a sandbox with its live container state (reference route)
#[utoipa::path(get, path = "/sandbox/{id}", operation_id = "getSandboxLegacy", tag = "sandboxes",
    params(IdPath),
    responses((status = 200, description = "Sandbox", body = LegacySandboxDetail),
        Refused, Missing, Failed))]
pub async fn get(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<LegacySandboxDetail>, ApiError> {
    let d = st.engine.describe(&parse_id(&id)?).await?;
    let sandbox = view::described(&d, &st.previews);
    Ok(Json(LegacySandboxDetail {
        row: sandbox.clone(),
        sandbox,
        live_state: view::live(d.live),
    }))
}

async fn remove(st: &ApiState, id: &str, purge: bool) -> Result<StatusCode, ApiError> {
    let id = parse_id(id)?;
    let engine = st.engine.clone();
    detached(st, async move { engine.delete_sandbox(&id, purge).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove the container; keep the workspace (reference route)
#[utoipa::path(delete, path = "/sandbox/{id}", operation_id = "deleteSandboxLegacy",
    tag = "sandboxes", params(IdPath),
    responses((status = 204, description = "Deleted"), Refused, Missing, Failed))]
pub async fn delete(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&st, &id, false).await
}

/// Remove container and workspace (reference route)
#[utoipa::path(post, path = "/sandbox/{id}/purge", operation_id = "purgeLegacy",
    tag = "sandboxes", params(IdPath),
    responses((status = 204, description = "Purged"), Refused, Missing, Failed))]
pub async fn purge(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&st, &id, true).await
}

/// Run a command (reference route)
#[utoipa::path(post, path = "/sandbox/{id}/exec", operation_id = "execLegacy", tag = "sandboxes",
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

/// Hold off the idle reaper (reference route)
#[utoipa::path(post, path = "/sandbox/{id}/keepalive", operation_id = "keepaliveLegacy",
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

/// Start a stopped sandbox (reference route)
#[utoipa::path(post, path = "/wake/{id}", operation_id = "wakeLegacy", tag = "sandboxes",
    params(IdPath),
    responses((status = 200, description = "Sandbox", body = SandboxView),
        Refused, Missing, Failed))]
pub async fn wake(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<SandboxView>, ApiError> {
    start_view(&st, &id).await
}
