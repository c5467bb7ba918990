//! The sleep ladder: an idle `running` sandbox is first **frozen** (its container paused by the
//! cgroup freezer: memory kept, no CPU, woken in milliseconds) after its `freeze_after`, then
//! **stopped** (memory freed) after its idle timeout, both counted from the same last activity.
//! [`Engine::next_step`] is the one place that decides the next rung and when it is due; the
//! reaper and `/activity` both read it. A hibernate rung (memory checkpointed to disk) would
//! slot in between frozen and stopped here (see docs/architecture.md).
//!
//! Freezing follows the reaper's rule (retire the route in one step with the idleness check,
//! then check again under the sandbox's lock), writes `frozen` to the store before pausing, and
//! undoes both when the pause fails. Thawing lives in the lifecycle's one bring-up path
//! (`Engine::bring_up_locked`), so a preview request, exec, agent call or start all thaw the
//! same way, under the same lock.

use crate::activity::ActivitySource;
use crate::{Engine, EngineError};
use sandboxd_core::{IdlePolicy, Sandbox, SandboxId, Status};
use sandboxd_metrics::{Op, Outcome};

/// What the idle reaper does next to a sandbox nothing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Freeze,
    Stop,
}

impl Step {
    /// The status the step leads to.
    pub(crate) fn target(self) -> Status {
        match self {
            Step::Freeze => Status::Frozen,
            Step::Stop => Status::Stopped,
        }
    }
}

impl Engine {
    /// The sandbox's freeze delay in ms (0: never frozen).
    pub(crate) fn freeze_after_ms(&self, own: Option<u64>) -> i64 {
        own.map(|s| s as i64 * 1000)
            .unwrap_or(self.inner.cfg.freeze_after.as_millis() as i64)
    }

    /// The next rung for `sb` and the idle time (ms since its last activity) after which it is
    /// due; `None` for sandboxes the reaper leaves alone (`always_on`, not running or frozen).
    /// A freeze delay at or past the idle timeout skips the freeze rung.
    pub(crate) fn next_step(&self, sb: &Sandbox) -> Option<(Step, i64)> {
        if sb.idle_policy == IdlePolicy::AlwaysOn {
            return None;
        }
        let idle = self.idle_timeout_ms(sb.idle_timeout_s);
        match sb.status {
            Status::Running => {
                let freeze = self.freeze_after_ms(sb.freeze_after_s);
                if freeze > 0 && freeze < idle {
                    Some((Step::Freeze, freeze))
                } else {
                    Some((Step::Stop, idle))
                }
            }
            Status::Frozen => Some((Step::Stop, idle)),
            _ => None,
        }
    }

    /// Freeze a sandbox whose route was just retired, unless something used it meanwhile (then
    /// its route is restored). Returns whether it was frozen.
    pub(crate) async fn freeze_retired(&self, id: &SandboxId) -> Result<bool, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let Some(mut sb) = self.inner.store.get(id).await? else {
            return Ok(false);
        };
        let name = self.container_name(id);
        let idle_ms = match self.next_step(&sb) {
            Some((Step::Freeze, ms)) => ms,
            _ => return Ok(false),
        };
        let now = self.now_ms();
        if !self
            .inner
            .activity
            .try_retire(id, now, sb.last_active_at_ms, idle_ms)
        {
            let state = self.inner.runtime.inspect(&name).await?;
            self.publish_route(id, &state, false);
            return Ok(false);
        }
        sb.last_active_at_ms = self
            .inner
            .activity
            .report(id, sb.last_active_at_ms, now)
            .last_active_ms;
        // Store first: a crash before the pause leaves a frozen row over a running container,
        // which the reconciler pauses.
        self.set_status(&mut sb, Status::Frozen).await?;
        if let Err(e) = self.inner.runtime.pause(&name).await {
            tracing::warn!(%id, error = %e, "freezing failed; the sandbox stays running");
            self.set_status(&mut sb, Status::Running).await?;
            let state = self.inner.runtime.inspect(&name).await?;
            self.publish_route(id, &state, false);
            return Err(e.into());
        }
        tracing::info!(%id, "froze idle sandbox");
        Ok(true)
    }

    /// Freeze a running sandbox now (an operator's or the bench's shortcut down the ladder).
    /// Refused with `conflict` while a connection, exec or agent session is open: those would
    /// hang on a frozen container (a keepalive lease does not refuse it: a lease only holds off
    /// the reaper, like for an explicit stop). A frozen sandbox is left as it is.
    pub(crate) async fn freeze_unobserved(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let mut sb = self.get_live(id).await?;
        match sb.status {
            Status::Frozen => return Ok(sb),
            Status::Running => {}
            other => {
                return Err(EngineError::Conflict(format!(
                    "sandbox {id} is {other}; only a running sandbox can be frozen"
                )))
            }
        }
        if !self.inner.activity.try_retire_unused(id) {
            return Err(EngineError::Conflict(format!(
                "sandbox {id} is in use (open connections, execs or agent sessions would hang \
                 while it is frozen); see its activity"
            )));
        }
        let name = self.container_name(id);
        self.set_status(&mut sb, Status::Frozen).await?;
        if let Err(e) = self.inner.runtime.pause(&name).await {
            self.set_status(&mut sb, Status::Running).await?;
            let state = self.inner.runtime.inspect(&name).await?;
            self.publish_route(id, &state, false);
            return Err(e.into());
        }
        Ok(sb)
    }

    /// Unpause a frozen sandbox's container (the caller holds the lock and records the status).
    pub(crate) async fn thaw_container(&self, name: &str) -> Result<(), EngineError> {
        let r = self.inner.runtime.unpause(name).await;
        self.inner.metrics.lifecycle(Op::Thaw, Outcome::from(&r));
        Ok(r?)
    }

    /// Unpause, counting only a success: a failure (no container, not running) is for the
    /// caller's inspect to explain, and a paused container is thawed again, loudly.
    pub(crate) async fn thaw_quietly(&self, name: &str) {
        match self.inner.runtime.unpause(name).await {
            Ok(()) => self.inner.metrics.lifecycle(Op::Thaw, Outcome::Ok),
            Err(e) => tracing::debug!(container = name, error = %e, "unpause failed"),
        }
    }

    /// `/activity`: the activity table's report, what holds the sandbox, and the ladder's next
    /// rung.
    pub async fn activity(&self, id: &SandboxId) -> Result<crate::ActivityView, EngineError> {
        let sb = self.get_live(id).await?;
        let now = self.now_ms();
        let report = self.inner.activity.report(id, sb.last_active_at_ms, now);
        let idle_timeout_ms = self.idle_timeout_ms(sb.idle_timeout_s);
        let mut held_by = Vec::new();
        if !matches!(sb.status, Status::Running | Status::Frozen) {
            held_by.push(format!("not running ({})", sb.status));
        }
        if sb.idle_policy == IdlePolicy::AlwaysOn {
            held_by.push("idle_policy always_on".to_string());
        }
        if report.open_connections > 0 {
            held_by.push(format!(
                "{} open preview connection(s)",
                report.open_connections
            ));
        }
        if report.execs_in_flight > 0 {
            held_by.push(format!("{} exec(s) in flight", report.execs_in_flight));
        }
        for (kind, n) in &report.sessions {
            held_by.push(format!("{n} {}", kind.describe()));
        }
        let free = held_by.is_empty();
        let lease_end = report.lease_until_ms.unwrap_or(0);
        let due = |after_ms: i64| (report.last_active_ms + after_ms).max(lease_end);
        let sleeps_at_ms = free.then(|| due(idle_timeout_ms));
        let next = self
            .next_step(&sb)
            .filter(|_| free)
            .map(|(step, after)| (step.target().as_str(), due(after)));
        if let Some(lease) = report.lease_until_ms {
            held_by.push(format!(
                "keepalive lease until {}",
                sandboxd_core::time::rfc3339_ms(lease)
            ));
        }
        Ok(crate::ActivityView {
            e2b_end_at_ms: sb.e2b.as_ref().map(|l| l.end_at_ms),
            on_end: sb.e2b.as_ref().map(|l| l.on_end.as_str()),
            report,
            status: sb.status.to_string(),
            idle_policy: sb.idle_policy.as_str().to_string(),
            idle_timeout_ms,
            freeze_after_ms: self.freeze_after_ms(sb.freeze_after_s),
            held_by,
            sleeps_at_ms,
            next_rung: next.map(|(rung, _)| rung),
            next_rung_at_ms: next.map(|(_, at)| at),
        })
    }

    /// Whether bringing a sandbox in `status` up needs memory admission first: a running one
    /// needs nothing and a frozen one already holds its memory.
    pub(crate) fn needs_admission(status: Status) -> bool {
        !status.is_up()
    }

    /// Record a thawed sandbox as running again and publish its route. Caller holds the lock.
    pub(crate) async fn record_thawed(
        &self,
        sb: &mut Sandbox,
        state: &sandboxd_runtime::ContainerState,
        source: ActivitySource,
    ) -> Result<(), EngineError> {
        sb.last_active_at_ms = self.now_ms();
        self.set_status(sb, Status::Running).await?;
        self.inner
            .activity
            .touch(&sb.id, sb.last_active_at_ms, source);
        self.publish_route(&sb.id, state, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
