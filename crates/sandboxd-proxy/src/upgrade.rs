//! Upgrade requests (WebSocket, dev servers' hot reload): sent on a fresh upstream connection
//! with the client's Host and upgrade headers; when the app answers 101, both upgraded
//! connections are joined and bytes copied both ways until either side closes. The sandbox
//! counts as active for the tunnel's whole lifetime, and the client connection keeps its place
//! under the preview listener's connection caps until the tunnel closes.

use crate::body::{empty, Guarded, ProxyBody};
use crate::forward::origin_form;
use crate::server::Conn;
use crate::{headers, pages, Proxy};
use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sandboxd_core::ErrorCode;
use sandboxd_engine::ConnectionGuard;
use std::net::IpAddr;

pub async fn tunnel(
    proxy: &Proxy,
    mut req: Request<Incoming>,
    conn: &Conn,
    ip: IpAddr,
    port: u16,
    guard: ConnectionGuard,
) -> Response<ProxyBody> {
    let bad_gateway = |msg: String| {
        pages::error(
            ErrorCode::Internal,
            StatusCode::BAD_GATEWAY,
            &msg,
            false,
            None,
        )
    };
    let client_upgrade = hyper::upgrade::on(&mut req);
    // The client connection's place under the caps moves into the tunnel (see server.rs).
    let place = conn.place.clone();
    let (mut parts, body) = req.into_parts();
    // A client that sent an absolute URI and no Host was routed by the URI's authority.
    let host = parts.headers.get(HOST).cloned().or_else(|| {
        let authority = parts.uri.authority()?;
        hyper::header::HeaderValue::from_str(authority.as_str()).ok()
    });
    headers::strip_hop_by_hop(&mut parts.headers, true);
    if let Some(h) = host {
        parts.headers.insert(HOST, h);
    }
    headers::set_forwarded(&mut parts.headers, &conn.peer_ip, proxy.cfg.https);
    // Origin-form target on a direct connection.
    parts.uri = origin_form(&parts.uri);
    let stream = match tokio::net::TcpStream::connect((ip, port)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, port, "upgrade: upstream connect failed");
            return bad_gateway(format!("nothing accepted the connection on port {port}"));
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, port, "upgrade: upstream handshake failed");
            return bad_gateway(format!("the app on port {port} closed the connection"));
        }
    };
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "upstream upgrade connection ended");
        }
    });
    let mut resp = match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, port, "upgrade: upstream request failed");
            return bad_gateway(format!("the app on port {port} closed the connection"));
        }
    };
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (mut parts, body) = resp.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, false);
        headers::host_only_cookies(&mut parts.headers);
        let bytes = proxy.metrics.bytes_counter(parts.status.as_u16());
        return Response::from_parts(parts, Guarded::wrap(body, Some(guard), bytes));
    }
    let upstream_upgrade = hyper::upgrade::on(&mut resp);
    let closing = proxy.closing.clone();
    tokio::spawn(async move {
        let _guard = guard;
        let _place = place;
        let tunnel = async {
            match tokio::try_join!(client_upgrade, upstream_upgrade) {
                Ok((client, upstream)) => {
                    let mut client = TokioIo::new(client);
                    let mut upstream = TokioIo::new(upstream);
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                    {
                        tracing::debug!(error = %e, "tunnel ended");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "upgrade failed"),
            }
        };
        tokio::select! {
            _ = tunnel => {}
            _ = closing.cancelled() => tracing::debug!("tunnel closed: the preview listener stopped"),
        }
    });
    let (mut parts, _) = resp.into_parts();
    // Keep the upgrade headers the app sent (Upgrade, Connection, Sec-WebSocket-Accept...).
    let keep_upgrade = parts.headers.get(hyper::header::UPGRADE).cloned();
    headers::strip_hop_by_hop(&mut parts.headers, false);
    headers::host_only_cookies(&mut parts.headers);
    if let Some(u) = keep_upgrade {
        parts.headers.insert(hyper::header::UPGRADE, u);
        parts.headers.insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("upgrade"),
        );
    }
    Response::from_parts(parts, empty())
}
