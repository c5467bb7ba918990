//! The preview listener: accepts TCP connections and serves HTTP/1.1 with keep-alive and
//! upgrades on each. Each connection runs in its own task; a broken client only ends its own.
//! When serving stops (shutdown, or the serving task is dropped) the listener closes and every
//! open connection ends, upgraded tunnels (WebSockets) included.
//!
//! Hostile clients cost little: a connection over a cap ([`crate::limits`]) is closed before any
//! byte is read; a TLS handshake has a deadline; a request header must arrive whole within the
//! header timeout, which runs whenever the connection waits for a request (so an idle
//! keep-alive connection is closed after it too). A connection keeps its place under the caps
//! (and in the open-connections gauge) for as long as its socket lives: when it is upgraded
//! (WebSocket) the place moves with the tunnel (the tunnel holds the connection's [`ConnPlace`]),
//! so upgraded connections cannot escape the caps.
//!
//! What a connection's requests share — the client address (and its `X-Forwarded-For` text), the
//! place, the upstream connection — is made once per connection ([`Conn`]), not per request.

use crate::limits::Admitted;
use crate::upstream::Upstream;
use crate::{handle, Proxy};
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Serve previews on `listener` (over TLS when an acceptor is given) until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    tls: Option<TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    // Returning or being dropped cancels the token the upgraded tunnels watch.
    let _close_tunnels = proxy.closing.clone().drop_guard();
    // Dropping the set (on return) aborts every connection task still running.
    let mut conns = tokio::task::JoinSet::new();
    let limits = proxy.cfg.listener;
    let mut http = http1::Builder::new();
    http.keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "preview accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admitted = match proxy.limits.admit(peer.ip()) {
            Ok(a) => a,
            Err(reason) => {
                // Dropping the stream closes it; nothing was read.
                proxy.metrics.refused(reason);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        let tls = tls.clone();
        let http = http.clone();
        conns.spawn(async move {
            let place = Arc::new(ConnPlace {
                _admitted: admitted,
                _open: proxy.metrics.connection(),
            });
            match tls {
                None => serve_conn(proxy, http, stream, peer, place).await,
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(limits.tls_handshake_timeout, handshake).await {
                        Ok(Ok(tls_stream)) => {
                            serve_conn(proxy, http, tls_stream, peer, place).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// One connection's place under the caps and in the gauge; released when the last holder (the
/// connection task, or the tunnel it was upgraded into) lets go.
pub struct ConnPlace {
    _admitted: Admitted,
    _open: sandboxd_metrics::ConnectionCount,
}

/// What every request of one client connection shares, made once per connection.
pub struct Conn {
    /// The client's address as an `X-Forwarded-For` value.
    pub peer_ip: HeaderValue,
    /// The connection's place, which an upgrade moves into its tunnel.
    pub place: Arc<ConnPlace>,
    /// The connection's upstream keep-alive connection.
    pub upstream: Upstream,
}

async fn serve_conn<S>(
    proxy: Arc<Proxy>,
    http: http1::Builder,
    stream: S,
    peer: SocketAddr,
    place: Arc<ConnPlace>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer_ip = match HeaderValue::from_str(&peer.ip().to_string()) {
        Ok(v) => v,
        // An address's text is always a valid header value; nothing to serve without it.
        Err(_) => return,
    };
    let conn = Arc::new(Conn {
        peer_ip,
        place,
        upstream: Upstream::default(),
    });
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (proxy, conn) = (proxy.clone(), conn.clone());
        async move { Ok::<_, std::convert::Infallible>(handle::handle(&proxy, req, &conn).await) }
    });
    let served = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(e) = served.await {
        tracing::debug!(error = %e, %peer, "preview connection ended with an error");
    }
}
