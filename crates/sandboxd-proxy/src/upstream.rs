//! Upstream HTTP/1.1 connections for plain (non-upgrade) requests. Rule: each client connection
//! keeps at most one upstream keep-alive connection, to the last address it was forwarded to, and
//! reuses it for its next request to the same address (connection affinity). HTTP/1.1 serves a
//! client connection's requests one after another, so this needs no shared pool, no lock that
//! two connections contend for and no per-request lookup: the upstream connection lives exactly
//! as long as its client connection (closed with it, or when it is idle past the listener's
//! header timeout), and the number of upstream connections never exceeds the number of client
//! connections the listener admitted.
//!
//! A kept connection that the app closed meanwhile is noticed before use (it is not ready) or,
//! when the close races the request, by hyper handing the unsent request back; either way the
//! request goes out once on a fresh connection. A request whose body has no declared length
//! (see [`crate::forward`]) gets a connection of its own that is never kept.

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

/// How long connecting to an app may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Nothing accepted the connection (or not in time).
    #[error("connecting to the app: {0}")]
    Connect(std::io::Error),
    /// The app accepted, then failed the HTTP exchange before answering.
    #[error("the app failed the request: {0}")]
    Request(#[from] hyper::Error),
}

impl ForwardError {
    pub fn is_connect(&self) -> bool {
        matches!(self, ForwardError::Connect(_))
    }
}

/// One client connection's upstream connection, if it keeps one.
#[derive(Default)]
pub struct Upstream {
    /// Only ever touched by its own client connection's task, one request at a time: the lock
    /// is never contended, it only makes the slot shareable with the request future.
    kept: Mutex<Option<Kept>>,
}

struct Kept {
    addr: SocketAddr,
    sender: SendRequest<Incoming>,
}

impl Upstream {
    /// Send `req` (origin-form URI, headers final) to `addr`; with `keep`, on the kept
    /// connection when it goes there, and keep the connection used for the next request.
    pub async fn send(
        &self,
        addr: SocketAddr,
        mut req: Request<Incoming>,
        keep: bool,
    ) -> Result<Response<Incoming>, ForwardError> {
        if let Some(mut kept) = self.take(addr).filter(|_| keep) {
            // Waits for the previous response's body to finish (it may still be streaming).
            if kept.sender.ready().await.is_ok() {
                match kept.sender.try_send_request(req).await {
                    Ok(resp) => {
                        self.put(kept);
                        return Ok(resp);
                    }
                    // Never written: the app closed the connection first. Retry it fresh.
                    Err(mut e) => match e.take_message() {
                        Some(unsent) => req = unsent,
                        None => return Err(ForwardError::Request(e.into_error())),
                    },
                }
            }
        }
        let mut sender = connect(addr).await?;
        let resp = sender.send_request(req).await?;
        if keep {
            self.put(Kept { addr, sender });
        }
        Ok(resp)
    }

    /// The kept connection when it goes to `addr` (one to elsewhere is dropped, and closes).
    fn take(&self, addr: SocketAddr) -> Option<Kept> {
        // Plain data behind the lock: a panic elsewhere cannot leave it inconsistent.
        let mut slot = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        slot.take().filter(|k| k.addr == addr)
    }

    fn put(&self, kept: Kept) {
        *self.kept.lock().unwrap_or_else(|p| p.into_inner()) = Some(kept);
    }
}

/// A fresh HTTP/1.1 connection to `addr`; its driver runs in a task of its own until the
/// connection closes (the last sender dropped and the exchange done, or the app hung up).
async fn connect(addr: SocketAddr) -> Result<SendRequest<Incoming>, ForwardError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| {
            ForwardError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))
        })?
        .map_err(ForwardError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream connection ended with an error");
        }
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// An app that answers every request on a connection with its connection's number, and
    /// closes each connection after `per_conn` answers (announcing it in the last).
    async fn app(per_conn: usize) -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            for n in 0.. {
                let (mut s, _) = l.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for i in 1..=per_conn {
                        let mut got = Vec::new();
                        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                            let k = s.read(&mut buf).await.unwrap();
                            if k == 0 {
                                return;
                            }
                            got.extend_from_slice(&buf[..k]);
                        }
                        let body = format!("{n}");
                        // The last answer says so, as HTTP/1.1 servers do.
                        let close = if i == per_conn {
                            "connection: close\r\n"
                        } else {
                            ""
                        };
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\n{close}content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        s.write_all(resp.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        addr
    }

    /// Requests with an `Incoming` body need a real connection: a tiny hyper server whose
    /// handler forwards through `up` to `app`, reached with raw requests.
    async fn via(up: std::sync::Arc<Upstream>, app: SocketAddr, keep: bool) -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let up = up.clone();
                async move {
                    let (mut parts, body) = req.into_parts();
                    parts.uri = hyper::Uri::from_static("/");
                    let mut resp = up.send(app, Request::from_parts(parts, body), keep).await?;
                    // Hop-by-hop, as the real forwarder strips it: the client stays connected.
                    resp.headers_mut().remove(hyper::header::CONNECTION);
                    Ok::<_, ForwardError>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(s), svc)
                .await;
        });
        addr
    }

    async fn bodies(proxy: SocketAddr, n: usize) -> Vec<String> {
        let mut c = tokio::net::TcpStream::connect(proxy).await.unwrap();
        let mut out = Vec::new();
        for _ in 0..n {
            c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = vec![0u8; 4096];
            let k = c.read(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..k]).to_string();
            assert!(text.starts_with("HTTP/1.1 200"), "{text}");
            out.push(text.rsplit("\r\n\r\n").next().unwrap().to_string());
        }
        out
    }

    #[tokio::test]
    async fn one_kept_connection_serves_a_client_connection() {
        let app = app(usize::MAX).await;
        let proxy = via(std::sync::Arc::new(Upstream::default()), app, true).await;
        assert_eq!(bodies(proxy, 5).await, vec!["0"; 5]);
    }

    #[tokio::test]
    async fn a_connection_the_app_closed_is_replaced() {
        let app = app(2).await;
        let proxy = via(std::sync::Arc::new(Upstream::default()), app, true).await;
        assert_eq!(bodies(proxy, 5).await, vec!["0", "0", "1", "1", "2"]);
    }

    #[tokio::test]
    async fn unkept_requests_get_their_own_connections() {
        let app = app(usize::MAX).await;
        let proxy = via(std::sync::Arc::new(Upstream::default()), app, false).await;
        assert_eq!(bodies(proxy, 3).await, vec!["0", "1", "2"]);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let err = connect(addr).await.err().unwrap();
        assert!(err.is_connect(), "{err}");
    }
}
