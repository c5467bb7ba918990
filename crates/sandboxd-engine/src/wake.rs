//! Wake on request: what the preview proxy asks of the engine. A request either finds a route
//! (fast path, no lock, no store read; a frozen sandbox has none) or asks for a wake, which
//! thaws a frozen sandbox or starts a stopped one once
//! however many requests arrive together (they queue on the sandbox's lock and find it running),
//! then waits, bounded, until the target port accepts connections. That wait is shared: one
//! poller per (sandbox, port, container start), probing every 5 ms at first and backing off to
//! 100 ms for slow apps ([`shared`]). Wakes that keep failing are rate-limited ([`throttle`]).

mod shared;
mod throttle;

pub(crate) use throttle::WakeThrottle;

/// Port waits in progress, keyed by sandbox, port and container start.
pub(crate) type PortWaits = shared::SharedWaits<(SandboxId, u16, i64)>;

use crate::activity::{ActivitySource, ConnectionGuard, Route};
use crate::{Engine, EngineError};
use sandboxd_core::{SandboxId, Status};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
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

    /// Make the sandbox run (thawing it if frozen, starting it if stopped) and return where it
    /// answers.
    /// Deleted sandboxes are never woken; sandboxes in `error` report their reason.
    pub async fn wake(&self, id: &SandboxId) -> Result<WakeTarget, EngineError> {
        let sb = self.get_live(id).await?;
        if sb.status == Status::Error {
            return Err(EngineError::Failed(
                sb.last_error
                    .unwrap_or_else(|| "sandbox is in error".into()),
            ));
        }
        if Self::needs_admission(sb.status) {
            self.check_wake_budget(id)?;
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
        // A frozen sandbox is thawed, not started: no wake budget, no admission (its memory is
        // still held).
        let starting = Self::needs_admission(sb.status);
        if starting {
            self.check_wake_budget(id)?;
        }
        let source = if sb.status == Status::Running {
            ActivitySource::Request
        } else {
            ActivitySource::Wake
        };
        if let Err(e) = self.ensure_running_locked(sb, source).await {
            if starting && matches!(e, EngineError::Failed(_) | EngineError::Runtime(_)) {
                self.inner.wake_throttle.failed(id, self.now_ms());
            }
            return Err(e);
        }
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
    /// container's start, or until that container is gone. Returns whether it did. Concurrent
    /// callers for the same port and start share one poller.
    pub async fn wait_port(&self, id: &SandboxId, target: WakeTarget, port: u16) -> bool {
        // Requests that queued behind the wake's lock usually find the port answered already.
        if self.inner.activity.port_ready(id, port, target.started_ms) {
            return true;
        }
        let key = (id.clone(), port, target.started_ms);
        let engine = self.clone();
        self.inner
            .port_waits
            .join(&key, |tx| {
                let key = key.clone();
                engine.inner.metrics.port_waiter();
                let waiter = engine.clone();
                engine.spawn(async move {
                    let ready = waiter.poll_port(&key.0, target, port).await;
                    let inner = Arc::clone(&waiter.inner);
                    inner.port_waits.finish(&key);
                    if ready {
                        inner.wake_throttle.succeeded(&key.0);
                    } else {
                        inner.wake_throttle.failed(&key.0, waiter.now_ms());
                    }
                    let _ = tx.send(Some(ready));
                });
            })
            .await
    }

    /// The one poller behind [`Engine::wait_port`].
    async fn poll_port(&self, id: &SandboxId, target: WakeTarget, port: u16) -> bool {
        let addr = SocketAddr::new(target.ip, port);
        let deadline_ms = target.started_ms + self.inner.cfg.wake_timeout.as_millis() as i64;
        let begun = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(5);
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
            // The container this wait is for stopped or was replaced: its port will not open.
            match self.inner.activity.route(id) {
                Some(route) if route.started_ms == target.started_ms => {}
                _ => return false,
            }
            tokio::time::sleep(pause).await;
            // Most apps listen within moments of their start: keep the first 100 ms fine-grained
            // (the wake's latency), then back off for slow ones.
            if begun.elapsed() >= Duration::from_millis(100) {
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }

    /// Refuse to start a sandbox whose recent wakes kept failing (see [`throttle`]).
    fn check_wake_budget(&self, id: &SandboxId) -> Result<(), EngineError> {
        match self.inner.wake_throttle.refused(id, self.now_ms()) {
            None => Ok(()),
            Some(secs) => {
                self.inner.metrics.wake_throttled();
                Err(EngineError::Throttled(format!(
                    "sandbox {id} failed its last {} wakes; next wake allowed in {secs} s \
                     (start it through the API to retry now)",
                    throttle::MAX_FAILURES
                )))
            }
        }
    }

    /// Whether a wake of this sandbox would still be inside its port warm-up window.
    pub fn warming(&self, target: &WakeTarget) -> bool {
        self.now_ms() < target.started_ms + self.inner.cfg.wake_timeout.as_millis() as i64
    }
}
