//! Tenant scoping, for every route at once. Rule: a route whose template has an `{id}` segment
//! (or another of [`SANDBOX_PARAMS`]) names a sandbox; a tenant may reach it only if the sandbox's recorded owner is that tenant, and
//! otherwise gets exactly the answer a missing id gets (404 `not_found`), so ids of other tenants'
//! sandboxes cannot even be probed. Routes under [`ADMIN_ONLY`] answer 403 to tenants. This runs
//! after routing (it reads the matched template), so routes added later are covered without
//! touching their handlers; listing is filtered by the handlers through [`Caller::owner`].

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ApiState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sandboxd_core::{ErrorCode, SandboxId};
use sandboxd_engine::EngineError;

/// Route prefixes only admins (and the anonymous loopback caller) may use.
pub const ADMIN_ONLY: &[&str] = &["/v1/keys", "/v1/audit"];

/// Path parameters that name a sandbox: ours, and the E2B REST API's spelling.
pub const SANDBOX_PARAMS: &[&str] = &["{id}", "{sandbox_id}", "{sandboxID}"];

/// The raw sandbox segment of `path`, given the route `template` it matched.
pub fn id_segment<'a>(template: &str, path: &'a str) -> Option<&'a str> {
    let index = template
        .split('/')
        .position(|s| SANDBOX_PARAMS.contains(&s))?;
    path.split('/').nth(index)
}

/// Why a tenant may not make this request, if it may not.
async fn refusal(state: &ApiState, owner: &str, template: &str, path: &str) -> Option<ApiError> {
    if ADMIN_ONLY.iter().any(|p| template.starts_with(p)) {
        return Some(ApiError::new(
            ErrorCode::Forbidden,
            "this route needs an admin key",
        ));
    }
    let raw = id_segment(template, path)?;
    // An id that does not parse names nothing; the handler answers as for anyone.
    let id = SandboxId::parse_lookup(raw).ok()?;
    match state.engine.get(&id).await {
        Ok(sb) if sb.owner.as_deref() == Some(owner) => None,
        Ok(_) | Err(EngineError::NotFound(_)) => Some(EngineError::NotFound(id).into()),
        Err(e) => Some(e.into()),
    }
}

pub async fn scope_to_owner(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let owner = match req.extensions().get::<Caller>() {
        Some(Caller::Tenant { owner, .. }) => owner.clone(),
        _ => return next.run(req).await,
    };
    let Some(template) = req.extensions().get::<MatchedPath>() else {
        return next.run(req).await;
    };
    let template = template.as_str().to_string();
    match refusal(&state, &owner, &template, req.uri().path()).await {
        Some(err) => err.into_response(),
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::id_segment;

    #[test]
    fn finds_the_id_segment_in_any_route() {
        let t = "/v1/sandboxes/{id}/files/{path}";
        assert_eq!(id_segment(t, "/v1/sandboxes/abc/files/x"), Some("abc"));
        assert_eq!(id_segment("/wake/{id}", "/wake/Q1"), Some("Q1"));
        assert_eq!(id_segment("/v1/sandboxes", "/v1/sandboxes"), None);
        let e2b = "/sandboxes/{sandboxID}/timeout";
        assert_eq!(id_segment(e2b, "/sandboxes/x1/timeout"), Some("x1"));
        assert_eq!(id_segment("/v1/keys/{key_id}", "/v1/keys/k"), None);
    }
}
