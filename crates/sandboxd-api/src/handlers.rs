//! Request handlers, grouped by resource. Each one only parses, validates and delegates to one
//! engine method, and answers with a wire type; its `#[utoipa::path]` is its entry in the OpenAPI
//! document.

pub mod access;
pub mod activity;
pub mod e2b;
pub mod files;
pub mod health;
pub mod legacy;
pub mod previews;
pub mod processes;
pub mod sandboxes;
pub mod tasks;
pub mod terminal;

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use sandboxd_core::SandboxId;
use utoipa::IntoParams;

/// The `{id}` path segment.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its parameter description is used.
pub struct IdPath {
    /// Sandbox id (any letter case).
    id: String,
}

fn parse_id(raw: &str) -> Result<SandboxId, ApiError> {
    Ok(SandboxId::parse_lookup(raw)?)
}

/// A query string, or the error envelope saying what is wrong with it.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid(format!("query string: {e}")))
}

/// Run a lifecycle action to completion even if the client goes away: a create, stop or delete
/// cut off half-way would leave state to undo. (Exec is not detached: its activity ends when its
/// caller leaves.)
async fn detached<T, F>(st: &ApiState, action: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, sandboxd_engine::EngineError>> + Send + 'static,
{
    st.engine
        .spawn(action)
        .await
        .map_err(|e| {
            ApiError::new(
                sandboxd_core::ErrorCode::Internal,
                format!("action failed: {e}"),
            )
        })?
        .map_err(ApiError::from)
}
