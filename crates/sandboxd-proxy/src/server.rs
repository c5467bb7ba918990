//! The preview listener: accepts TCP connections and serves HTTP/1.1 with keep-alive and
//! upgrades on each. Each connection runs in its own task; a broken client only ends its own.
//! That task also drives the connection's upstream connections ([`crate::upstream`]), so a
//! proxied request and its answer never hop between tasks. At shutdown the listener closes and
//! every open connection (WebSockets included) is ended.

use crate::upstream::Upstream;
use crate::{handle, Proxy};
use futures_util::stream::{FuturesUnordered, StreamExt};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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
    // Dropping the set (on return) aborts every connection task still running.
    let mut conns = tokio::task::JoinSet::new();
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
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        let tls = tls.clone();
        conns.spawn(async move {
            match tls {
                None => serve_conn(proxy, stream, peer).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls_stream) => serve_conn(proxy, tls_stream, peer).await,
                    Err(e) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                },
            }
        });
    }
}

async fn serve_conn<S>(proxy: Arc<Proxy>, stream: S, peer: SocketAddr)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (upstream, mut new_drivers) = Upstream::new();
    let service = service_fn(move |req| {
        let proxy = proxy.clone();
        let upstream = upstream.clone();
        async move {
            Ok::<_, std::convert::Infallible>(handle::handle(proxy, upstream, req, peer).await)
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut drivers = FuturesUnordered::new();
    loop {
        tokio::select! {
            done = &mut conn => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, %peer, "preview connection ended with an error");
                }
                // The client is gone: its upstream connections close with it.
                return;
            }
            Some(driver) = new_drivers.recv() => drivers.push(driver),
            Some(()) = drivers.next(), if !drivers.is_empty() => {}
        }
    }
}
