//! The E2B REST API on sandboxd, so the stock E2B SDK works unchanged. Rule: these routes speak
//! E2B's shapes and codes (camelCase bodies, `{"code","message"}` errors — see `e2b/shape.rs`)
//! and map onto sandboxd's own operations: create = create with an E2B lifetime, pause = stop,
//! connect/resume = start, kill = delete (tombstones answer 404 here). A create or connect
//! answers only once the sandbox's agent accepts connections, since the SDK never polls.

pub mod list;
pub mod shape;
mod view;

use super::{detached, parse_id};
use crate::audit::AuditedSandbox;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    E2bConnect, E2bError, E2bHealth, E2bNewSandbox, E2bSandbox, E2bSandboxDetail, E2bTimeout,
};
use crate::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use sandboxd_core::{CreateRequest, E2bLifetime, Egress, ErrorCode, OnEnd, SandboxId};
use sandboxd_engine::EndChange;

pub use view::E2bSettings;

/// The highest E2B envd version whose SDK-gated features the agent implements (see
/// `docs/api.md`): 0.5.7 enables octet-stream and gzip uploads; 0.6.2 would also promise file
/// metadata read back in entries, which the agent does not return yet.
pub const ENVD_VERSION: &str = "0.5.7";

/// E2B's default sandbox lifetime, in seconds.
const DEFAULT_TIMEOUT_S: i64 = 300;

/// The `{sandboxID}` segment (E2B's spelling).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its parameter description is used.
pub struct SandboxIdPath {
    /// Sandbox id.
    #[param(rename = "sandboxID")]
    sandbox_id: String,
}

fn seconds(t: Option<i64>) -> Result<i64, ApiError> {
    match t.unwrap_or(DEFAULT_TIMEOUT_S) {
        t if t < 0 => Err(ApiError::invalid("timeout must not be negative")),
        t => Ok(t.min(30 * 24 * 3600)),
    }
}

type Created = (StatusCode, Extension<AuditedSandbox>, Json<E2bSandbox>);

/// Create a sandbox from a template (E2B)
#[utoipa::path(post, path = "/sandboxes", operation_id = "e2bCreate", tag = "e2b",
    request_body = E2bNewSandbox,
    responses((status = 201, description = "Created", body = E2bSandbox),
        (status = 400, description = "Unknown template or invalid input", body = E2bError),
        (status = 401, description = "Wrong API key", body = E2bError)))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    JsonBody(req): JsonBody<E2bNewSandbox>,
) -> Result<Created, ApiError> {
    let image = st.e2b.image_of(&req.template_id)?;
    let timeout = seconds(req.timeout)?;
    let ours = CreateRequest {
        image: Some(image),
        env: req.env_vars,
        metadata: req.metadata,
        egress: (req.allow_internet_access == Some(false)).then_some(Egress::None),
        ..CreateRequest::default()
    };
    let mut spec = ours.validate(&st.engine.config().limits)?;
    spec.owner = caller.owner().map(str::to_string);
    spec.e2b = Some(E2bLifetime {
        template_id: req.template_id,
        end_at_ms: st.engine.now_ms() + timeout * 1000,
        on_end: if req.auto_pause.unwrap_or(false) {
            OnEnd::Pause
        } else {
            OnEnd::Kill
        },
    });
    let engine = st.engine.clone();
    let sb = detached(&st, async move {
        let sb = engine.create_sandbox(spec).await?;
        // The SDK raises on a failed create and never learns the id: do not leave it running.
        if let Err(e) = engine.agent(&sb.id).await {
            if let Err(rm) = engine.delete_sandbox(&sb.id, true).await {
                tracing::warn!(id = %sb.id, error = %rm, "removing a sandbox without an agent failed");
            }
            return Err(e);
        }
        Ok(sb)
    })
    .await?;
    let body = view::sandbox(&st, &sb).await?;
    Ok((
        StatusCode::CREATED,
        Extension(AuditedSandbox(sb.id.clone())),
        Json(body),
    ))
}

/// Create a sandbox from a template (E2B SDK ≥ 2.63)
#[utoipa::path(post, path = "/v2/sandboxes", operation_id = "e2bCreateV2", tag = "e2b",
    request_body = E2bNewSandbox,
    responses((status = 201, description = "Created", body = E2bSandbox),
        (status = 400, description = "Unknown template or invalid input", body = E2bError)))]
pub async fn create_v2(
    st: State<ApiState>,
    caller: Extension<Caller>,
    req: JsonBody<E2bNewSandbox>,
) -> Result<Created, ApiError> {
    create(st, caller, req).await
}

/// Get a sandbox (E2B)
#[utoipa::path(get, path = "/sandboxes/{sandboxID}", operation_id = "e2bGet", tag = "e2b",
    params(SandboxIdPath),
    responses((status = 200, description = "Sandbox", body = E2bSandboxDetail),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn get_one(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<E2bSandboxDetail>, ApiError> {
    let sb = st.engine.get_live(&parse_id(&id)?).await?;
    Ok(Json(view::detail(&st, &sb)))
}

/// Kill a sandbox (E2B): deleted; its workspace is kept unless the server purges on kill
#[utoipa::path(delete, path = "/sandboxes/{sandboxID}", operation_id = "e2bKill", tag = "e2b",
    params(SandboxIdPath),
    responses((status = 204, description = "Killed"),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn kill(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    st.engine.get_live(&id).await?;
    let purge = st.engine.config().e2b_purge_on_kill;
    let engine = st.engine.clone();
    detached(&st, async move { engine.delete_sandbox(&id, purge).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the end time to now + timeout (E2B; may shorten it)
#[utoipa::path(post, path = "/sandboxes/{sandboxID}/timeout", operation_id = "e2bSetTimeout",
    tag = "e2b", params(SandboxIdPath), request_body = E2bTimeout,
    responses((status = 204, description = "Set"),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn set_timeout(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<E2bTimeout>,
) -> Result<StatusCode, ApiError> {
    let Some(t) = body.timeout else {
        return Err(ApiError::invalid("timeout is required"));
    };
    let id = parse_id(&id)?;
    let sb = st.engine.get_live(&id).await?;
    let end = st.engine.now_ms() + seconds(Some(t))? * 1000;
    let template = st.e2b.template_of(&sb);
    let engine = st.engine.clone();
    detached(&st, async move {
        engine
            .set_e2b_end(&id, end, EndChange::Set, &template)
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a sandbox back (or keep it) running and extend its end time.
async fn connect_inner(
    st: &ApiState,
    id: &str,
    body: E2bConnect,
) -> Result<(StatusCode, Json<E2bSandbox>), ApiError> {
    let id: SandboxId = parse_id(id)?;
    let was = st.engine.get_live(&id).await?.status;
    let end = st.engine.now_ms() + seconds(body.timeout)? * 1000;
    let engine = st.engine.clone();
    let sb = detached(st, async move {
        engine.set_e2b_end(&id, end, EndChange::Extend, "").await?;
        engine.agent(&id).await?;
        engine.get_live(&id).await
    })
    .await?;
    let status = if was.is_up() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view::sandbox(st, &sb).await?)))
}

/// Connect: start a paused sandbox (201) or keep a running one (200); only extends the end time
#[utoipa::path(post, path = "/sandboxes/{sandboxID}/connect", operation_id = "e2bConnect",
    tag = "e2b", params(SandboxIdPath), request_body = E2bConnect,
    responses((status = 200, description = "Running", body = E2bSandbox),
        (status = 201, description = "Resumed", body = E2bSandbox),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn connect(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<E2bConnect>,
) -> Result<(StatusCode, Json<E2bSandbox>), ApiError> {
    connect_inner(&st, &id, body).await
}

/// Connect (E2B SDK ≥ 2.63)
#[utoipa::path(post, path = "/v2/sandboxes/{sandboxID}/connect", operation_id = "e2bConnectV2",
    tag = "e2b", params(SandboxIdPath), request_body = E2bConnect,
    responses((status = 200, description = "Running", body = E2bSandbox),
        (status = 201, description = "Resumed", body = E2bSandbox),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn connect_v2(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<E2bConnect>,
) -> Result<(StatusCode, Json<E2bSandbox>), ApiError> {
    connect_inner(&st, &id, body).await
}

/// Resume a paused sandbox (E2B SDK 2.0; 409 when it runs)
#[utoipa::path(post, path = "/sandboxes/{sandboxID}/resume", operation_id = "e2bResume",
    tag = "e2b", params(SandboxIdPath), request_body = E2bConnect,
    responses((status = 201, description = "Resumed", body = E2bSandbox),
        (status = 409, description = "Already running", body = E2bError),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn resume(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<E2bConnect>,
) -> Result<(StatusCode, Json<E2bSandbox>), ApiError> {
    if st.engine.get_live(&parse_id(&id)?).await?.status.is_up() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "sandbox is already running",
        ));
    }
    connect_inner(&st, &id, body).await
}

/// Pause a sandbox: stopped, workspace kept (E2B; 409 when already paused)
#[utoipa::path(post, path = "/sandboxes/{sandboxID}/pause", operation_id = "e2bPause",
    tag = "e2b", params(SandboxIdPath),
    responses((status = 204, description = "Paused"),
        (status = 409, description = "Already paused", body = E2bError),
        (status = 404, description = "No such sandbox", body = E2bError)))]
pub async fn pause(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if !st.engine.get_live(&id).await?.status.is_up() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "sandbox is already paused",
        ));
    }
    let engine = st.engine.clone();
    detached(&st, async move { engine.stop_sandbox(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Health of the API (E2B; no auth)
#[utoipa::path(get, path = "/health", operation_id = "e2bHealth", tag = "e2b", security(()),
    responses((status = 200, description = "Healthy", body = E2bHealth)))]
pub async fn health() -> Json<E2bHealth> {
    Json(E2bHealth {
        message: "Health check successful".into(),
    })
}
