//! Forwarding a plain HTTP request over the client connection's upstream keep-alive connection
//! ([`crate::upstream`]). The body streams to the
//! upstream as the client sends it and the response streams back as the app produces it. An
//! upstream that refuses or resets gets a clear 502, never a hang. An upstream that fails after
//! answering (the sandbox died mid-stream) surfaces as an error of the response body, on which
//! the listener aborts the client connection: a chunked body is never ended cleanly then.

use crate::body::{Guarded, ProxyBody};
use crate::server::Conn;
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
    conn: &Conn,
    html: bool,
    ip: IpAddr,
    routed: &Routed,
    guard: ConnectionGuard,
) -> Response<ProxyBody> {
    let port = routed.target.port;
    let (mut parts, body) = req.into_parts();
    // A client that sent an absolute URI and no Host was routed by the URI's authority.
    let host = parts.headers.get(HOST).cloned().or_else(|| {
        let authority = parts.uri.authority()?;
        HeaderValue::from_str(authority.as_str()).ok()
    });
    parts.uri = origin_form(&parts.uri);
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
    headers::set_forwarded(&mut parts.headers, &conn.peer_ip, proxy.cfg.https);
    // Kept for the log line of a failure (a reference-counted copy).
    let request_id = parts
        .headers
        .get(sandboxd_core::request_id::HEADER)
        .cloned();
    let upstream = SocketAddr::new(ip, port);
    let sent = conn
        .upstream
        .send(upstream, Request::from_parts(parts, body), !streamed)
        .await;
    match sent {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            headers::strip_hop_by_hop(&mut parts.headers, false);
            headers::host_only_cookies(&mut parts.headers);
            let bytes = proxy.metrics.bytes_counter(parts.status.as_u16());
            Response::from_parts(parts, Guarded::wrap(body, Some(guard), bytes))
        }
        Err(e) => {
            tracing::debug!(
                error = %e,
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

/// The request target as sent upstream on a direct connection: the path and query alone
/// (shared with the original, not copied), `/` when the client sent none.
pub fn origin_form(original: &Uri) -> Uri {
    match original.path_and_query() {
        Some(pq) => Uri::from(pq.clone()),
        None => Uri::from_static("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_form;
    use hyper::Uri;

    #[test]
    fn origin_form_keeps_path_and_query_and_drops_the_authority() {
        let uri: Uri = "/a/b?c=d".parse().unwrap();
        assert_eq!(origin_form(&uri).to_string(), "/a/b?c=d");
        let absolute: Uri = "http://s-a-3000.preview.localhost/x?y".parse().unwrap();
        assert_eq!(origin_form(&absolute).to_string(), "/x?y");
        let authority: Uri = "example.com:80".parse().unwrap();
        assert_eq!(origin_form(&authority).to_string(), "/");
    }
}
