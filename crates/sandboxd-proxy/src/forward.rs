//! Forwarding a plain HTTP request over the pooled keep-alive client. The body streams to the
//! upstream as the client sends it and the response streams back as the app produces it. An
//! upstream that refuses or resets gets a clear 502, never a hang. An upstream that fails after
//! answering (the sandbox died mid-stream) surfaces as an error of the response body, on which
//! the listener aborts the client connection: a chunked body is never ended cleanly then.

use crate::body::{Guarded, ProxyBody};
use crate::target::{Dialect, Routed};
use crate::{e2b, headers, pages, Proxy};
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use sandboxd_core::ErrorCode;
use sandboxd_engine::ConnectionGuard;
use std::net::{IpAddr, SocketAddr};

pub async fn forward(
    proxy: &Proxy,
    req: Request<Incoming>,
    peer: SocketAddr,
    html: bool,
    ip: IpAddr,
    routed: &Routed,
    guard: ConnectionGuard,
) -> Response<ProxyBody> {
    let port = routed.target.port;
    let (mut parts, body) = req.into_parts();
    let Ok(uri) = upstream_uri(ip, port, &parts.uri) else {
        return pages::error(
            ErrorCode::InvalidRequest,
            StatusCode::BAD_REQUEST,
            "bad request target",
            html,
            None,
        );
    };
    // A client that sent an absolute URI and no Host was routed by the URI's authority.
    let host = parts.headers.get(HOST).cloned().or_else(|| {
        let authority = parts.uri.authority()?;
        HeaderValue::from_str(authority.as_str()).ok()
    });
    parts.uri = uri;
    parts.version = hyper::Version::HTTP_11;
    // A request body of unknown length (a chunked client stream) is the one case where the
    // upstream may answer before reading the body to its end and then close the connection; a
    // pooled connection closed that way fails the next request sent on it. Such requests get a
    // connection of their own.
    let streamed = !parts.headers.contains_key(CONTENT_LENGTH) && !body.is_end_stream();
    headers::strip_hop_by_hop(&mut parts.headers, false);
    if streamed {
        parts
            .headers
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    if let Some(h) = host {
        parts.headers.insert(HOST, h);
    }
    headers::set_forwarded(&mut parts.headers, peer.ip(), proxy.cfg.https);
    // Kept for the log line of a failure (a reference-counted copy).
    let request_id = parts
        .headers
        .get(sandboxd_core::request_id::HEADER)
        .cloned();
    match proxy.client.request(Request::from_parts(parts, body)).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            headers::strip_hop_by_hop(&mut parts.headers, false);
            headers::host_only_cookies(&mut parts.headers);
            let bytes = proxy.metrics.bytes_counter(parts.status.as_u16());
            Response::from_parts(parts, Guarded::wrap(body, Some(guard), bytes))
        }
        Err(e) => {
            tracing::debug!(
                error = ?e,
                request_id = request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
                port,
                "upstream failed"
            );
            if routed.dialect == Dialect::E2b {
                return if e.is_connect() {
                    e2b::port_closed(&routed.target.id, port)
                } else {
                    e2b::upstream_failed(&routed.target.id, port)
                };
            }
            let msg = if e.is_connect() {
                format!("nothing accepted the connection on port {port} of this sandbox")
            } else {
                format!("the app on port {port} closed the connection")
            };
            pages::error(
                ErrorCode::Internal,
                StatusCode::BAD_GATEWAY,
                &msg,
                html,
                None,
            )
        }
    }
}

pub fn upstream_uri(ip: IpAddr, port: u16, original: &Uri) -> Result<Uri, hyper::http::Error> {
    let path = original.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let authority = std::net::SocketAddr::new(ip, port).to_string();
    Uri::builder()
        .scheme("http")
        .authority(authority.as_str())
        .path_and_query(path)
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstream_uri_keeps_path_and_query() {
        let uri: hyper::Uri = "/a/b?c=d".parse().unwrap();
        let out = super::upstream_uri("10.1.2.3".parse().unwrap(), 3000, &uri).unwrap();
        assert_eq!(out.to_string(), "http://10.1.2.3:3000/a/b?c=d");
    }
}
