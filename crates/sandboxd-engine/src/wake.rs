//! Wake on request: what the preview proxy asks of the engine. A request either finds a route
//! (fast path, no lock, no store read) or asks for a wake, which starts a stopped sandbox once
//! however many requests arrive together (they queue on the sandbox's lock and find it running),
//! then waits, bounded, until the target port accepts connections.

use crate::activity::{ActivitySource, ConnectionGuard, Route};
use crate::{Engine, EngineError};
use sandboxd_core::{SandboxId, Status};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Where a woken sandbox answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakeTarget {
    pub ip: IpAddr,
    /// When its container started (ms since the epoch): ports get until then + wake timeout.
    pub started_ms: i64,
}

impl Engine {
    /// Count one proxied request or connection and read its route, in one step (see
    /// [`crate::activity`]). `None` when sandboxd knows nothing running under this id.
    pub fn open_connection(
        &self,
        id: &SandboxId,
        port: u16,
    ) -> Option<(ConnectionGuard, Option<Route>)> {
        self.inner.activity.open(id, port, self.now_ms())
    }

    /// Make the sandbox run (starting it if stopped) and return where it answers.
    /// Deleted sandboxes are never woken; sandboxes in `error` report their reason.
    pub async fn wake(&self, id: &SandboxId) -> Result<WakeTarget, EngineError> {
        let sb = self.get_live(id).await?;
        if sb.status == Status::Error {
            return Err(EngineError::Failed(
                sb.last_error
                    .unwrap_or_else(|| "sandbox is in error".into()),
            ));
        }
        if sb.status != Status::Running {
            // Before our own lock: admission may stop other sandboxes, each under its lock.
            self.admit(Some(id)).await?;
        }
        let _g = self.inner.locks.lock(id).await;
        let sb = self.get_live(id).await?;
        if sb.status == Status::Error {
            return Err(EngineError::Failed(
                sb.last_error
                    .unwrap_or_else(|| "sandbox is in error".into()),
            ));
        }
        let source = if sb.status == Status::Running {
            ActivitySource::Request
        } else {
            ActivitySource::Wake
        };
        self.ensure_running_locked(sb, source).await?;
        match self.inner.activity.route(id) {
            Some(route) => Ok(WakeTarget {
                ip: route.ip,
                started_ms: route.started_ms,
            }),
            None => Err(EngineError::Failed(
                "sandbox started but has no network address".into(),
            )),
        }
    }

    /// Wait until `port` accepts TCP connections, at most until the wake deadline of the
    /// container's start. Returns whether it did.
    pub async fn wait_port(&self, id: &SandboxId, target: WakeTarget, port: u16) -> bool {
        let addr = SocketAddr::new(target.ip, port);
        let deadline_ms = target.started_ms + self.inner.cfg.wake_timeout.as_millis() as i64;
        loop {
            let attempt =
                tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                    .await;
            if let Ok(Ok(_)) = attempt {
                self.inner.activity.mark_port_ready(id, port);
                return true;
            }
            if self.now_ms() >= deadline_ms {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Whether a wake of this sandbox would still be inside its port warm-up window.
    pub fn warming(&self, target: &WakeTarget) -> bool {
        self.now_ms() < target.started_ms + self.inner.cfg.wake_timeout.as_millis() as i64
    }
}
