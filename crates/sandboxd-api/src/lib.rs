//! The HTTP API. Handlers parse and validate input, then call engine methods (never the runtime
//! or the store themselves) and answer with the typed wire structs of `wire`. The OpenAPI
//! document is generated from those handlers and types ([`openapi`]). Every route is registered
//! through [`routes::Routes`], which also records it, so the document can be checked against the
//! real router.

mod audit;
mod auth;
mod body;
mod error;
mod guard;
mod handlers;
pub mod openapi;
mod ready;
pub mod routes;
mod scope;
mod trace;
mod view;
mod wire;

pub use audit::AuditLog;
pub use auth::{Auth, Caller};
pub use body::MAX_BODY_BYTES;
pub use error::ApiError;
pub use guard::ApiHosts;
pub use handlers::e2b::{E2bSettings, ENVD_VERSION};
pub use ready::ReadyState;
pub use view::PreviewUrls;

use axum::Router;
use sandboxd_engine::Engine;
use std::sync::Arc;

/// Shared by every handler.
#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    pub previews: Arc<PreviewUrls>,
    pub ready: ReadyState,
    /// The admin token and whether a token is required (see `auth.rs`).
    pub auth: Arc<Auth>,
    /// Where mutating calls are recorded (see `audit.rs`).
    pub audit: AuditLog,
    /// Host names the API answers to besides loopback names and IP literals.
    pub hosts: Arc<ApiHosts>,
    /// Templates and domain of the E2B API (see `handlers/e2b.rs`).
    pub e2b: Arc<E2bSettings>,
}

/// The API router (without a listener).
pub fn router(state: ApiState) -> Router {
    routes::build(state).0
}
