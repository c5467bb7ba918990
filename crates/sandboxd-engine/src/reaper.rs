//! The idle reaper walks the sleep ladder (`ladder.rs`): sandboxes with `idle_policy: sleep`
//! that nothing has used are frozen after their `freeze_after`, and frozen or running ones are
//! stopped after their idle timeout. "Used" is decided by the activity table in one step with
//! retiring the route, and checked again under the sandbox's lock, so a freeze or a stop never
//! races a wake, an exec or a start of the same sandbox.

use crate::ladder::Step;
use crate::{Engine, EngineError};
use sandboxd_core::{SandboxId, Status};
use sandboxd_metrics::Op;
use sandboxd_store::ListFilter;

impl Engine {
    /// Move every idle sandbox one rung down the ladder when due; returns how many moved.
    pub async fn reap_idle(&self) -> Result<usize, EngineError> {
        let now = self.now_ms();
        let mut moved = 0;
        for sb in self.inner.store.list(ListFilter::default()).await? {
            let Some((step, idle_ms)) = self.next_step(&sb) else {
                continue;
            };
            if !self
                .inner
                .activity
                .try_retire(&sb.id, now, sb.last_active_at_ms, idle_ms)
            {
                continue;
            }
            let (op, done) = match step {
                Step::Freeze => (Op::Freeze, self.freeze_retired(&sb.id).await),
                Step::Stop => (Op::Reap, self.stop_retired(&sb.id, "idle").await),
            };
            if !matches!(done, Ok(false)) {
                self.observe(op, &done);
            }
            match done {
                Ok(true) => moved += 1,
                Ok(false) => {}
                // One sandbox failing to freeze must not keep the others from their rung.
                Err(e) if step == Step::Freeze => {
                    tracing::warn!(id = %sb.id, error = %e, "freeze failed")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }

    pub(crate) fn idle_timeout_ms(&self, own: Option<u64>) -> i64 {
        own.map(|s| s as i64 * 1000)
            .unwrap_or(self.inner.cfg.idle_timeout.as_millis() as i64)
    }

    /// Stop a sandbox whose route was just retired, unless something used it meanwhile (then
    /// its route is restored). Returns whether it was stopped.
    pub(crate) async fn stop_retired(
        &self,
        id: &SandboxId,
        why: &str,
    ) -> Result<bool, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let Some(sb) = self.inner.store.get(id).await? else {
            return Ok(false);
        };
        let idle_ms = match self.next_step(&sb) {
            Some((Step::Stop, ms)) if why == "idle" => ms,
            _ if why == "idle" => return Ok(false),
            // Memory pressure stops running and frozen ones alike, however recently used.
            _ if matches!(sb.status, Status::Running | Status::Frozen) => 0,
            _ => return Ok(false),
        };
        if !self
            .inner
            .activity
            .try_retire(id, self.now_ms(), sb.last_active_at_ms, idle_ms)
        {
            // Used meanwhile: whoever used it restored the route (wake/exec) or will.
            let state = self.inner.runtime.inspect(&self.container_name(id)).await?;
            self.publish_route(id, &state, false);
            return Ok(false);
        }
        tracing::info!(%id, reason = why, "stopping sandbox");
        self.stop_locked(sb).await?;
        Ok(true)
    }

    /// Run the reaper until the process ends.
    pub fn spawn_reaper(&self) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(engine.inner.cfg.reap_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = engine.reap_idle().await {
                    tracing::warn!(error = %e, "idle reaper pass failed");
                }
                if let Err(e) = engine.reap_ended().await {
                    tracing::warn!(error = %e, "E2B end-of-life pass failed");
                }
            }
        })
    }
}
