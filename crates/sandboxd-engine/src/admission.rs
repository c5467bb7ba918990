//! Admission before a create or a wake: the host's available memory, minus what the new
//! container is assumed to need, must stay above the configured floor. When it would not,
//! sandboxes are stopped first: frozen ones before any running one (they hold memory and do no
//! work), each group idlest first, never `always_on` ones, never ones with a request, exec,
//! session or lease in flight; when that is not enough, the request is refused with `capacity`.

use crate::{Engine, EngineError};
use sandboxd_core::{IdlePolicy, SandboxId, Status};
use sandboxd_store::ListFilter;

impl Engine {
    pub(crate) async fn admit(&self, exclude: Option<&SandboxId>) -> Result<(), EngineError> {
        let reserve = self.inner.cfg.admission_reserve_mb * 1024 * 1024;
        for _ in 0..16 {
            let Some(mem) = self.inner.memory.read() else {
                return Ok(());
            };
            let after = mem.available.saturating_sub(reserve) as f64;
            if after >= mem.total as f64 * self.inner.cfg.min_free_ratio {
                return Ok(());
            }
            match self.stop_idlest(exclude).await? {
                Some(victim) => {
                    self.inner.metrics.admission_evicted();
                    tracing::info!(%victim, "stopped to free memory for a create or wake")
                }
                None => {
                    self.inner.metrics.admission_refused();
                    return Err(EngineError::Capacity(format!(
                        "host memory is low ({} MiB available of {} MiB, floor {:.0}%) and no idle sandbox can be stopped",
                        mem.available / (1024 * 1024),
                        mem.total / (1024 * 1024),
                        self.inner.cfg.min_free_ratio * 100.0
                    )));
                }
            }
        }
        self.inner.metrics.admission_refused();
        Err(EngineError::Capacity(
            "host memory stays low after stopping sandboxes".into(),
        ))
    }

    /// Stop the frozen sandbox, else the running one, idle the longest that nothing holds;
    /// returns its id.
    async fn stop_idlest(
        &self,
        exclude: Option<&SandboxId>,
    ) -> Result<Option<SandboxId>, EngineError> {
        let now = self.now_ms();
        // Sorted by (running, last activity): frozen first, then the idlest.
        let mut candidates: Vec<(bool, i64, SandboxId, i64)> = self
            .inner
            .store
            .list(ListFilter::default())
            .await?
            .into_iter()
            .filter(|s| matches!(s.status, Status::Running | Status::Frozen))
            .filter(|s| s.idle_policy == IdlePolicy::Sleep && Some(&s.id) != exclude)
            .map(|s| {
                let r = self.inner.activity.report(&s.id, s.last_active_at_ms, now);
                let running = s.status == Status::Running;
                (running, r.last_active_ms, s.id, s.last_active_at_ms)
            })
            .collect();
        candidates.sort();
        for (_, _, id, stored_last) in candidates {
            if self.inner.activity.try_retire(&id, now, stored_last, 0)
                && self.stop_retired(&id, "memory pressure").await?
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }
}
