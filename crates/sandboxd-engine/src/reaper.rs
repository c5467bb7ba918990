//! The idle reaper: running sandboxes with `idle_policy: sleep` that nothing has used for their
//! idle timeout are stopped. "Used" is decided by the activity table in one step with retiring
//! the route, and checked again under the sandbox's lock, so a reap never races a wake, an exec
//! or a start of the same sandbox.

use crate::{Engine, EngineError};
use sandboxd_core::{IdlePolicy, SandboxId, Status};
use sandboxd_metrics::Op;
use sandboxd_store::ListFilter;

impl Engine {
    /// Stop every sandbox idle past its timeout; returns how many were stopped.
    pub async fn reap_idle(&self) -> Result<usize, EngineError> {
        let now = self.now_ms();
        let mut stopped = 0;
        for sb in self.inner.store.list(ListFilter::default()).await? {
            if sb.status != Status::Running || sb.idle_policy == IdlePolicy::AlwaysOn {
                continue;
            }
            let idle_ms = self.idle_timeout_ms(sb.idle_timeout_s);
            if !self
                .inner
                .activity
                .try_retire(&sb.id, now, sb.last_active_at_ms, idle_ms)
            {
                continue;
            }
            let reaped = self.stop_retired(&sb.id, "idle").await;
            if !matches!(reaped, Ok(false)) {
                self.observe(Op::Reap, &reaped);
            }
            if reaped? {
                stopped += 1;
            }
        }
        Ok(stopped)
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
        if sb.status != Status::Running {
            return Ok(false);
        }
        let idle_ms = if why == "idle" {
            self.idle_timeout_ms(sb.idle_timeout_s)
        } else {
            0
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
