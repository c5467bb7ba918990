//! What the engine reports about itself. The rule: every public lifecycle command is counted here,
//! once, by outcome (and timed where operators watch latency), around the one implementation that
//! does the work; engine failures are counted by kind; the sandboxes-by-status gauge is read from
//! the store at scrape time, so it can never drift from the truth.

use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId, SandboxSpec, Status};
use sandboxd_metrics::{EngineErrorKind, Metrics, Op, Outcome, STATUSES};
use sandboxd_runtime::RuntimeError;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

impl Engine {
    /// The registry every part of this process reports into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The metrics as Prometheus (OpenMetrics) text, with the status gauge read now.
    pub async fn metrics_text(&self) -> Result<String, EngineError> {
        let mut counts = [0i64; STATUSES.len()];
        let mut disks = sandboxd_metrics::WorkspaceTotals::default();
        for sb in self.inner.store.list(Default::default()).await? {
            if let Some(i) = STATUSES.iter().position(|s| *s == sb.status.as_str()) {
                counts[i] += 1;
            }
            if sb.disk_mb.is_some() {
                match self.inner.runtime.workspace_usage(&sb.id).await {
                    Ok(Some(u)) => disks.add(u.used_mb, u.size_mb),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(id = %sb.id, error = %e, "workspace usage unreadable")
                    }
                }
            }
        }
        self.inner.metrics.workspaces.set(disks);
        for (status, n) in STATUSES.iter().zip(counts) {
            self.inner.metrics.set_sandboxes(status, n);
        }
        match self.inner.runtime.egress_denied().await {
            Ok(Some(total)) => self.inner.metrics.egress_denied_total(total),
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "egress counters unreadable"),
        }
        Ok(self.inner.metrics.render())
    }

    /// Create a sandbox and start it (see `lifecycle/create.rs`).
    pub async fn create_sandbox(&self, spec: SandboxSpec) -> Result<Sandbox, EngineError> {
        let t = Instant::now();
        let r = self.create_unobserved(spec).await;
        if r.is_ok() {
            self.inner.metrics.create_duration(t.elapsed());
        }
        self.observe(Op::Create, &r);
        r
    }

    /// Start a stopped (or errored) sandbox; a running one is left as it is.
    pub async fn start_sandbox(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let r = self.start_unobserved(id).await;
        self.observe(Op::Start, &r);
        r
    }

    /// Stop a sandbox now (it wakes again on the next start, exec or preview request).
    pub async fn stop_sandbox(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let r = self.stop_unobserved(id).await;
        self.observe(Op::Stop, &r);
        r
    }

    /// Freeze a running sandbox now (see `ladder.rs`); it thaws on its next use.
    pub async fn freeze_sandbox(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let r = self.freeze_unobserved(id).await;
        self.observe(Op::Freeze, &r);
        r
    }

    /// Remove the container and leave a tombstone; the workspace stays unless `purge`.
    pub async fn delete_sandbox(&self, id: &SandboxId, purge: bool) -> Result<(), EngineError> {
        let r = self.delete_unobserved(id, purge).await;
        self.observe(Op::Delete, &r);
        r
    }

    /// Count one operation by outcome, and its engine failure by kind.
    pub(crate) fn observe<T>(&self, op: Op, r: &Result<T, EngineError>) {
        self.inner.metrics.lifecycle(op, Outcome::from(r));
        if let Err(EngineError::Runtime(e)) = r {
            self.inner.metrics.engine_error(error_kind(e));
        }
    }

    /// A stopped sandbox started because a request needed it (preview or exec).
    pub(crate) fn observe_wake(&self, r: &Result<(), RuntimeError>, took: Duration) {
        self.inner.metrics.lifecycle(Op::Wake, Outcome::from(r));
        match r {
            Ok(()) => self.inner.metrics.wake_duration(took),
            Err(e) => self.inner.metrics.engine_error(error_kind(e)),
        }
    }
}

fn error_kind(e: &RuntimeError) -> EngineErrorKind {
    match e {
        RuntimeError::Unavailable(_) => EngineErrorKind::Unavailable,
        RuntimeError::Engine { .. } | RuntimeError::Conflict(_) | RuntimeError::NotFound(_) => {
            EngineErrorKind::Refused
        }
        RuntimeError::Storage(_) | RuntimeError::Other(_) => EngineErrorKind::Other,
    }
}

/// The status names the gauge uses are the store's own words.
const _: () = {
    // Compile-time reminder: `STATUSES` lists every live status of `sandboxd_core::Status`.
    let _ = [
        Status::Creating,
        Status::Running,
        Status::Frozen,
        Status::Stopped,
        Status::Error,
    ];
};
