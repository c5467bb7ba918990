//! Upstream connections for plain (non-upgrade) requests. Rule: each client connection owns at
//! most one keep-alive HTTP/1.1 connection to the app it last talked to, and that connection is
//! driven inside the client connection's own task (see [`crate::server`]) — no shared pool, no
//! lock across connections, no hand-off to another task per request. A request that was never
//! written because the app had closed the idle connection is sent again on a fresh one; any
//! other failure is the caller's 502.

use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long connecting to an app may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection's I/O future, polled by the client connection's task.
pub type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Why a request did not get a response head from the app.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("connecting to {addr}: {reason}")]
    Connect { addr: SocketAddr, reason: String },
    #[error("{0}")]
    Upstream(#[from] hyper::Error),
}

/// The upstream side of one client connection.
pub struct Upstream {
    /// The idle (or busy: `ready` tells) connection and where it goes.
    cached: Mutex<Option<(SocketAddr, SendRequest<Incoming>)>>,
    drivers: mpsc::UnboundedSender<Driver>,
}

impl Upstream {
    /// A new, empty upstream side and the receiver of the drivers its connections need polled.
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Driver>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let up = Upstream {
            cached: Mutex::new(None),
            drivers: tx,
        };
        (Arc::new(up), rx)
    }

    /// Send `req` (origin-form URI, headers final) to `addr`; returns the response head with its
    /// body streaming.
    pub async fn send(
        &self,
        addr: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Result<Response<Incoming>, SendError> {
        if let Some(mut sender) = self.take(addr) {
            if sender.ready().await.is_ok() {
                match sender.try_send_request(req).await {
                    Ok(resp) => {
                        self.put(addr, sender);
                        return Ok(resp);
                    }
                    Err(mut e) => match e.take_message() {
                        // Never written: the app closed the idle connection. Start over.
                        Some(unsent) => req = unsent,
                        None => return Err(SendError::Upstream(e.into_error())),
                    },
                }
            }
        }
        let mut sender = self.connect(addr).await?;
        let resp = sender.send_request(req).await?;
        self.put(addr, sender);
        Ok(resp)
    }

    fn take(&self, addr: SocketAddr) -> Option<SendRequest<Incoming>> {
        // Plain data behind the lock: a panic elsewhere cannot leave it inconsistent.
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match cached.take() {
            Some((a, s)) if a == addr && !s.is_closed() => Some(s),
            _ => None,
        }
    }

    fn put(&self, addr: SocketAddr, sender: SendRequest<Incoming>) {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        *cached = Some((addr, sender));
    }

    async fn connect(&self, addr: SocketAddr) -> Result<SendRequest<Incoming>, SendError> {
        let err = |reason: String| SendError::Connect { addr, reason };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| err(format!("no answer in {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| err(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| err(e.to_string()))?;
        let driver: Driver = Box::pin(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        self.drivers
            .send(driver)
            .map_err(|_| err("the client connection is closing".into()))?;
        Ok(sender)
    }
}
