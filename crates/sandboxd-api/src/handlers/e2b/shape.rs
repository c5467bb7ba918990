//! Errors on the E2B routes. Rule: any error answer to a request for an E2B route — whoever made
//! it: the handler, authentication (401), tenant scoping, the body reader — goes out as E2B's
//! `{"code":<status>,"message"}` instead of sandboxd's envelope; a tombstone's `410 gone` is
//! E2B's `404` (a killed sandbox is not found); and an error answer to a create says
//! `Should-Retry: false`, so the SDK never retries a create into a duplicate sandbox. `GET
//! /sandboxes` is E2B's only when the request carries `X-API-KEY` (the reference API owns it
//! otherwise).

use crate::wire::E2bError;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Largest error body rewritten (ours are small; anything larger passes unchanged).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether this request is for the E2B API.
pub fn is_e2b(method: &Method, path: &str, has_api_key: bool) -> bool {
    if path == "/sandboxes" && method == Method::GET {
        return has_api_key;
    }
    path == "/health"
        || path == "/sandboxes"
        || path.starts_with("/sandboxes/")
        || path == "/v2/sandboxes"
        || path.starts_with("/v2/sandboxes/")
}

/// Whether this request creates a sandbox through the E2B API.
fn is_create(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path, "/sandboxes" | "/v2/sandboxes")
}

pub async fn e2b_errors(req: Request, next: Next) -> Response {
    let has_key = req.headers().contains_key("x-api-key");
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if !is_e2b(&method, &path, has_key) {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    if resp.status().as_u16() < 400 {
        return resp;
    }
    let mut out = reshape(resp).await;
    if is_create(&method, &path) {
        out.headers_mut()
            .insert("should-retry", HeaderValue::from_static("false"));
    }
    out
}

async fn reshape(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let ours: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let Some(message) = ours
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str())
        .map(str::to_string)
    else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let status = match parts.status {
        StatusCode::GONE => StatusCode::NOT_FOUND,
        s => s,
    };
    let mut out = (
        status,
        axum::Json(E2bError {
            code: status.as_u16(),
            message,
        }),
    )
        .into_response();
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_requests_are_e2b() {
        let (get, post) = (Method::GET, Method::POST);
        assert!(is_e2b(&get, "/sandboxes", true));
        assert!(!is_e2b(&get, "/sandboxes", false));
        assert!(is_e2b(&post, "/sandboxes", false));
        assert!(is_e2b(&get, "/sandboxes/x", false));
        assert!(is_e2b(&get, "/v2/sandboxes", false));
        assert!(is_e2b(&get, "/health", false));
        assert!(!is_e2b(&get, "/sandbox/x", true));
        assert!(!is_e2b(&get, "/v1/sandboxes", true));
        assert!(is_create(&post, "/v2/sandboxes") && !is_create(&get, "/v2/sandboxes"));
    }
}
