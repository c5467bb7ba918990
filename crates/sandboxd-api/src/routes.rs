//! The route table. Each route is added once, here, through [`Routes::add`], which both registers
//! it with axum and records its method and path: the OpenAPI test compares that record with the
//! document, so the two cannot drift apart.

use crate::body::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::handlers::{
    access, activity, e2b, files, health, legacy, previews, processes, sandboxes, tasks, terminal,
};
use crate::{audit, auth, guard, scope, trace, ApiState};
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use sandboxd_core::ErrorCode;

pub struct Routes {
    router: Router<ApiState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn add(mut self, method: &'static str, path: &'static str, mr: MethodRouter<ApiState>) -> Self {
        self.table.push((method, path));
        self.router = self.router.route(path, mr);
        self
    }
}

/// Every `(METHOD, path)` the API serves, in registration order.
pub fn table() -> Vec<(&'static str, &'static str)> {
    routes().table
}

/// Build the router; also returns every `(METHOD, path)` it serves.
pub fn build(state: ApiState) -> (Router, Vec<(&'static str, &'static str)>) {
    let r = routes();
    let table = r.table;
    let router = r
        .router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost: a tenant reaches only its own sandboxes (needs the caller, so after auth).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            scope::scope_to_owner,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Outermost: a forged browser request is refused before the token is even looked at.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::refuse_browser_forgeries,
        ))
        // E2B routes answer errors in E2B's shape (auth and body refusals included).
        .layer(axum::middleware::from_fn(e2b::shape::e2b_errors))
        // Records every mutating call with the answer it got, refusals included.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record_mutations,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            trace::trace_request,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    (router, table)
}

fn routes() -> Routes {
    let r = Routes {
        router: Router::new(),
        table: Vec::new(),
    };
    r
        // Reference-compatible routes (the product brief's quick start uses these).
        .add("POST", "/sandbox", post(legacy::create))
        .add("GET", "/sandboxes", get(legacy::list))
        .add("GET", "/sandbox/{id}", get(legacy::get))
        .add("DELETE", "/sandbox/{id}", delete(legacy::delete))
        .add("POST", "/sandbox/{id}/exec", post(legacy::exec))
        .add("POST", "/sandbox/{id}/keepalive", post(legacy::keepalive))
        .add("POST", "/sandbox/{id}/purge", post(legacy::purge))
        .add("POST", "/wake/{id}", post(legacy::wake))
        // v1.
        .add("POST", "/v1/sandboxes", post(sandboxes::create))
        .add("GET", "/v1/sandboxes", get(sandboxes::list))
        .add("GET", "/v1/sandboxes/{id}", get(sandboxes::get_one))
        .add("DELETE", "/v1/sandboxes/{id}", delete(sandboxes::delete))
        .add("POST", "/v1/sandboxes/{id}/start", post(sandboxes::start))
        .add("POST", "/v1/sandboxes/{id}/stop", post(sandboxes::stop))
        .add("POST", "/v1/sandboxes/{id}/freeze", post(sandboxes::freeze))
        .add("POST", "/v1/sandboxes/{id}/exec", post(activity::exec))
        .add(
            "POST",
            "/v1/sandboxes/{id}/keepalive",
            post(activity::keepalive),
        )
        .add("GET", "/v1/sandboxes/{id}/logs", get(activity::logs))
        .add(
            "GET",
            "/v1/sandboxes/{id}/activity",
            get(activity::activity),
        )
        .add(
            "POST",
            "/v1/sandboxes/{id}/preview-tokens",
            post(previews::mint),
        )
        .add(
            "DELETE",
            "/v1/sandboxes/{id}/preview-tokens",
            delete(previews::revoke),
        )
        // Keys and audit (admin only, see scope.rs).
        .add("POST", "/v1/keys", post(access::create_key))
        .add("GET", "/v1/keys", get(access::list_keys))
        .add("DELETE", "/v1/keys/{key_id}", delete(access::revoke_key))
        .add("GET", "/v1/audit", get(access::audit))
        // Files (the agent's; uploads stream, so the API's body limit is lifted for them).
        .add("GET", "/v1/sandboxes/{id}/files", get(files::get))
        .add(
            "PUT",
            "/v1/sandboxes/{id}/files",
            put(files::transfer::put).layer(DefaultBodyLimit::disable()),
        )
        .add("DELETE", "/v1/sandboxes/{id}/files", delete(files::delete))
        .add("POST", "/v1/sandboxes/{id}/files/mkdir", post(files::mkdir))
        .add("POST", "/v1/sandboxes/{id}/files/move", post(files::rename))
        .add(
            "GET",
            "/v1/sandboxes/{id}/files/archive",
            get(files::transfer::archive_get),
        )
        .add(
            "PUT",
            "/v1/sandboxes/{id}/files/archive",
            put(files::transfer::archive_put).layer(DefaultBodyLimit::disable()),
        )
        .add(
            "GET",
            "/v1/sandboxes/{id}/files/watch",
            get(files::watch::watch),
        )
        .add(
            "GET",
            "/v1/sandboxes/{id}/terminal",
            get(terminal::terminal),
        )
        .add(
            "POST",
            "/v1/sandboxes/{id}/processes",
            post(processes::start),
        )
        .add("GET", "/v1/sandboxes/{id}/processes", get(processes::list))
        .add(
            "GET",
            "/v1/sandboxes/{id}/processes/{pid}/output",
            get(processes::stream::output),
        )
        .add(
            "POST",
            "/v1/sandboxes/{id}/processes/{pid}/stdin",
            post(processes::stdin),
        )
        .add(
            "POST",
            "/v1/sandboxes/{id}/processes/{pid}/signal",
            post(processes::signal),
        )
        // The E2B REST API (`GET /sandboxes` above serves E2B's list when sent X-API-KEY).
        .add("POST", "/sandboxes", post(e2b::create))
        .add("POST", "/v2/sandboxes", post(e2b::create_v2))
        .add("GET", "/v2/sandboxes", get(e2b::list::list_v2))
        .add("GET", "/sandboxes/{sandboxID}", get(e2b::get_one))
        .add("DELETE", "/sandboxes/{sandboxID}", delete(e2b::kill))
        .add(
            "POST",
            "/sandboxes/{sandboxID}/timeout",
            post(e2b::set_timeout),
        )
        .add("POST", "/sandboxes/{sandboxID}/connect", post(e2b::connect))
        .add(
            "POST",
            "/v2/sandboxes/{sandboxID}/connect",
            post(e2b::connect_v2),
        )
        .add("POST", "/sandboxes/{sandboxID}/resume", post(e2b::resume))
        .add("POST", "/sandboxes/{sandboxID}/pause", post(e2b::pause))
        .add("GET", "/health", get(e2b::health))
        .add("POST", "/v1/sandboxes/{id}/tasks", post(tasks::create))
        .add("GET", "/v1/sandboxes/{id}/tasks", get(tasks::list))
        .add("GET", "/v1/sandboxes/{id}/tasks/{tid}", get(tasks::get))
        .add(
            "GET",
            "/v1/sandboxes/{id}/tasks/{tid}/events",
            get(tasks::events::events),
        )
        .add(
            "POST",
            "/v1/sandboxes/{id}/tasks/{tid}/cancel",
            post(tasks::cancel),
        )
        .add("GET", "/v1/openapi.json", get(health::openapi))
        .add("GET", "/metrics", get(health::metrics))
        .add("GET", "/healthz", get(health::healthz))
        .add("GET", "/readyz", get(health::readyz))
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::invalid("method not allowed on this route")
}
