//! Requests a web page cannot forge. The rule: the API serves no browser, so a request that a
//! browser marks as coming from another site (`Origin`, `Sec-Fetch-Site`), that names a host the
//! API is not (DNS rebinding: `Host: attacker.example` resolving to 127.0.0.1), or that carries a
//! body a page can send without a CORS preflight (`text/plain`, form encodings) is refused before
//! authentication and before any handler runs. Clients that are not browsers (curl, SDKs, the
//! CLI) send none of these headers, so they are unaffected; the health probes are exempt.

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use sandboxd_core::ErrorCode;
use std::net::IpAddr;

/// Which `Host` names the API answers to, besides IP literals and `localhost`.
#[derive(Debug, Clone, Default)]
pub struct ApiHosts {
    names: Vec<String>,
}

impl ApiHosts {
    /// Extra host names (`--api-host`), compared without letter case or port.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            names: names
                .into_iter()
                .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// Whether a `Host` header value (with or without port) names this API. IP literals are
    /// always accepted: a rebinding attack needs a name it controls.
    pub fn accepts(&self, host_header: &str) -> bool {
        let name = host_name(host_header).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        if name.is_empty() {
            return false;
        }
        name == "localhost"
            || name.parse::<IpAddr>().is_ok()
            || self.names.iter().any(|n| n == name)
    }
}

/// The name part of a `Host` value: `[::1]:9090` → `::1`, `a.b:80` → `a.b`.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, "")) => name,
            Some((name, port)) if port.strip_prefix(':').is_some_and(is_port) => name,
            _ => "",
        };
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((name, port)) if !name.contains(':') && is_port(port) => name,
        _ => host,
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Why a request is refused, or `None` when it may proceed.
pub fn check(method: &Method, headers: &HeaderMap, hosts: &ApiHosts) -> Option<ApiError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header(axum::http::HeaderName::from_static("sec-fetch-site")) {
        if matches!(site, "cross-site" | "same-site") {
            return Some(forbidden(format!(
                "cross-site request refused (Sec-Fetch-Site: {site}); the API does not serve browsers"
            )));
        }
    }
    let host = header(HOST).unwrap_or("");
    if !hosts.accepts(host) {
        return Some(forbidden(format!(
            "Host {host:?} is not a name of this API (loopback names, IP addresses and --api-host are)"
        )));
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !same_origin(origin, host) {
            return Some(forbidden(format!(
                "request from origin {origin:?} refused; the API does not serve browsers"
            )));
        }
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        let has_body = headers.contains_key(TRANSFER_ENCODING)
            || header(CONTENT_LENGTH).is_some_and(|l| l.trim() != "0");
        match header(CONTENT_TYPE) {
            Some(ct) if !is_accepted_body(ct) => {
                return Some(unsupported(format!(
                    "content-type {ct:?} is not accepted; send application/json (file uploads: \
                     application/octet-stream, archives: application/x-tar)"
                )))
            }
            None if has_body => {
                return Some(unsupported(
                    "a request body needs content-type: application/json".to_string(),
                ))
            }
            _ => {}
        }
    }
    None
}

/// `Origin` equal to the API's own origin (`http(s)://<Host as sent>`); `null` never is.
fn same_origin(origin: &str, host: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|r| !host.is_empty() && r.eq_ignore_ascii_case(host))
}

/// JSON, and the two upload types of the files routes. All three need a CORS preflight from a
/// web page (which the API never grants), unlike `text/plain` and the form types.
fn is_accepted_body(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    [
        "application/json",
        "application/octet-stream",
        "application/x-tar",
    ]
    .iter()
    .any(|ok| essence.eq_ignore_ascii_case(ok))
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

fn unsupported(message: String) -> ApiError {
    ApiError::new(ErrorCode::UnsupportedMediaType, message)
}

pub async fn refuse_browser_forgeries(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return Ok(next.run(req).await);
    }
    match check(req.method(), req.headers(), &state.hosts) {
        Some(err) => {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), reason = %err.message, "request refused");
            Err(err)
        }
        None => Ok(next.run(req).await),
    }
}

#[cfg(test)]
mod tests;
