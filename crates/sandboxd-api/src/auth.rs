//! Who is calling. Rule: a request presents at most one secret, as `Authorization: Bearer <s>`
//! or `X-API-KEY: <s>` (one key model, two header forms); it resolves to the admin token, an
//! issued key (admin or tenant), or — only when the API does not require a token — the anonymous
//! loopback caller, who acts as admin. Secrets are compared only as SHA-256 hashes. An unknown or
//! revoked secret is 401 even where no token is required. The health probes (ours and E2B's
//! `/health`) are exempt. The
//! resolved [`Caller`] goes into the request's extensions (for scoping and handlers) and the
//! response's (for the audit log); a key's `last_used_at` is written at most once a minute, off
//! the response path.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sandboxd_core::{hash_secret, ErrorCode, KeyRole};
use std::collections::HashMap;
use std::sync::Mutex;

/// How often a key's `last_used_at` is written.
const TOUCH_EVERY_MS: i64 = 60_000;

/// The API's authentication settings.
pub struct Auth {
    /// SHA-256 of the admin token.
    admin_hash: Option<String>,
    /// Whether a request without a secret is refused.
    required: bool,
    /// When each key's use was last written.
    touched: Mutex<HashMap<String, i64>>,
}

impl Auth {
    pub fn new(admin_token: Option<&str>, required: bool) -> Self {
        Auth {
            admin_hash: admin_token.filter(|t| !t.is_empty()).map(hash_secret),
            required,
            touched: Mutex::default(),
        }
    }

    /// No admin token and nothing required (unit tests, embedded use).
    pub fn open() -> Self {
        Self::new(None, false)
    }

    /// Whether this use of key `id` at `now_ms` should be written.
    fn due(&self, id: &str, now_ms: i64) -> bool {
        // A poisoned map only means a panic elsewhere; recording usage is best effort.
        let Ok(mut map) = self.touched.lock() else {
            return false;
        };
        match map.get(id) {
            Some(last) if now_ms - last < TOUCH_EVERY_MS => false,
            _ => {
                map.insert(id.to_string(), now_ms);
                true
            }
        }
    }
}

/// The resolved caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token (`key_id` none) or an admin key.
    Admin {
        key_id: Option<String>,
        name: String,
    },
    /// A tenant key: sees only sandboxes whose owner is `owner`.
    Tenant {
        key_id: String,
        name: String,
        owner: String,
    },
    /// No secret, on an API that requires none (loopback): acts as admin.
    Loopback,
}

impl Caller {
    /// The owner recorded on what this caller creates, and the only owner it may see.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Caller::Tenant { owner, .. } => Some(owner),
            _ => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        !matches!(self, Caller::Tenant { .. })
    }

    /// `(key id, name)` for the audit log.
    pub fn actor(&self) -> (Option<String>, String) {
        match self {
            Caller::Admin { key_id, name } => (key_id.clone(), name.clone()),
            Caller::Tenant { key_id, name, .. } => (Some(key_id.clone()), name.clone()),
            Caller::Loopback => (None, "loopback".into()),
        }
    }
}

/// The secret a request presents, if any.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    bearer.or(api_key).map(str::trim).filter(|s| !s.is_empty())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

async fn resolve(state: &ApiState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let auth = &state.auth;
    let Some(secret) = presented(headers) else {
        if auth.required {
            return Err(unauthorized(
                "a token is required (Authorization: Bearer <key> or X-API-KEY: <key>)",
            ));
        }
        return Ok(Caller::Loopback);
    };
    let hash = hash_secret(secret);
    if auth.admin_hash.as_deref() == Some(hash.as_str()) {
        return Ok(Caller::Admin {
            key_id: None,
            name: "admin-token".into(),
        });
    }
    let Some(key) = state.engine.key_for_secret(secret).await? else {
        return Err(unauthorized("unknown API key or token"));
    };
    if key.revoked_at_ms.is_some() {
        return Err(unauthorized("this API key was revoked"));
    }
    if auth.due(&key.id, state.engine.now_ms()) {
        let engine = state.engine.clone();
        let id = key.id.clone();
        state.engine.spawn(async move {
            if let Err(e) = engine.touch_key(&id).await {
                tracing::warn!(key = %id, error = %e, "recording key use failed");
            }
        });
    }
    Ok(match key.role {
        KeyRole::Admin => Caller::Admin {
            key_id: Some(key.id),
            name: key.name,
        },
        KeyRole::Tenant(owner) => Caller::Tenant {
            key_id: key.id,
            name: key.name,
            owner,
        },
    })
}

pub async fn authenticate(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz" | "/health") {
        return next.run(req).await;
    }
    match resolve(&state, req.headers()).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller.clone());
            let mut resp = next.run(req).await;
            resp.extensions_mut().insert(caller);
            resp
        }
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_header_forms_and_bearer_first() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("x-api-key", "e2b_a".parse().unwrap());
        assert_eq!(presented(&h), Some("e2b_a"));
        h.insert(AUTHORIZATION, "Bearer e2b_b".parse().unwrap());
        assert_eq!(presented(&h), Some("e2b_b"));
    }

    #[test]
    fn key_use_is_written_once_a_minute() {
        let auth = Auth::open();
        assert!(auth.due("k", 0));
        assert!(!auth.due("k", 59_999));
        assert!(auth.due("other", 1));
        assert!(auth.due("k", 60_000));
    }
}
