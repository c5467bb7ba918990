//! Create, start, stop, delete, purge, keepalive. Each takes the sandbox's lock for its whole
//! duration, writes the store before and after touching the runtime, and undoes what it did when
//! it fails: a failed create leaves no row, container or directory that did not exist before.

mod create;
mod stop;

use crate::activity::ActivitySource;
use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId, Status};
use sandboxd_runtime::{ContainerState, RuntimeError, Seed, WorkspaceState};

/// How long a keepalive lease should last (capped at the configured maximum lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeaseRequest {
    /// One idle timeout from now (the sandbox's own, else the configured one).
    #[default]
    IdleTimeout,
    /// Until this moment (Unix seconds); must be in the future.
    Until(i64),
    /// This many seconds from now.
    Seconds(u64),
}

impl Engine {
    /// Start a stopped (or errored) sandbox; a running one is left as it is.
    pub(crate) async fn start_unobserved(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        if Self::needs_admission(self.get_live(id).await?.status) {
            self.admit(Some(id)).await?;
        }
        let _g = self.inner.locks.lock(id).await;
        let sb = self.get_live(id).await?;
        self.ensure_running_locked(sb, ActivitySource::Start).await
    }

    /// Publish where a container answers (or that it does not run). `fresh_start`: we just
    /// started it.
    pub(crate) fn publish_route(&self, id: &SandboxId, state: &ContainerState, fresh_start: bool) {
        let ip = state.addr();
        self.inner.activity.ensure(id);
        self.inner
            .activity
            .set_route(id, ip, self.now_ms(), fresh_start);
    }

    /// Remove the container and leave a tombstone; the workspace stays unless `purge`.
    pub(crate) async fn delete_unobserved(
        &self,
        id: &SandboxId,
        purge: bool,
    ) -> Result<(), EngineError> {
        let _g = self.inner.locks.lock(id).await;
        self.delete_locked(id, purge).await
    }

    /// [`Engine::delete_unobserved`] with the lock held.
    pub(crate) async fn delete_locked(
        &self,
        id: &SandboxId,
        purge: bool,
    ) -> Result<(), EngineError> {
        let mut sb = self.get(id).await?;
        // Tombstone first: if anything below fails, the reconciler removes what is left instead
        // of bringing the sandbox back, and a retried purge finishes the job.
        if sb.status != Status::Deleted {
            self.set_status(&mut sb, Status::Deleted).await?;
        }
        self.inner.activity.forget(id);
        self.forget_preview(id);
        self.inner.runtime.remove(&self.container_name(id)).await?;
        if purge {
            self.inner.runtime.remove_workspace(id).await?;
        } else {
            // The kept workspace holds no mount (or loop device) while nobody uses it; a
            // re-create of the id mounts it again.
            self.inner.runtime.release_workspace(id).await?;
        }
        Ok(())
    }

    /// Hold off the idle reaper; returns the lease's end (ms since the epoch).
    pub async fn keepalive(&self, id: &SandboxId, req: LeaseRequest) -> Result<i64, EngineError> {
        let sb = self.get_live(id).await?;
        let now = self.now_ms();
        let max = now + self.inner.cfg.max_lease.as_millis() as i64;
        let until = match req {
            LeaseRequest::Until(u) => u.saturating_mul(1000),
            LeaseRequest::Seconds(s) => now.saturating_add((s as i64).saturating_mul(1000)),
            LeaseRequest::IdleTimeout => {
                let idle = sb
                    .idle_timeout_s
                    .map(|s| s as i64 * 1000)
                    .unwrap_or(self.inner.cfg.idle_timeout.as_millis() as i64);
                now + idle
            }
        };
        if until <= now {
            return Err(
                sandboxd_core::ValidationError::new("until", "must be in the future").into(),
            );
        }
        let until = until.min(max);
        self.inner.activity.set_lease(id, until);
        self.inner
            .activity
            .touch(id, now, ActivitySource::Keepalive);
        self.inner.store.touch(id, now).await?;
        Ok(until)
    }

    /// Bring a live sandbox to `running`: thaw it when frozen, recreate its container when
    /// missing or errored, start it, record the result. Caller holds the lock.
    pub(crate) async fn ensure_running_locked(
        &self,
        sb: Sandbox,
        source: ActivitySource,
    ) -> Result<Sandbox, EngineError> {
        self.bring_up_locked(sb, source, false).await
    }

    /// [`Engine::ensure_running_locked`], recreating the container whatever its state when
    /// `recreate` (a create interrupted by a crash).
    pub(crate) async fn bring_up_locked(
        &self,
        mut sb: Sandbox,
        source: ActivitySource,
        recreate: bool,
    ) -> Result<Sandbox, EngineError> {
        let name = self.container_name(&sb.id);
        // A frozen row almost always has a paused container: unpause straight away (it is
        // idempotent) and let the container's state afterwards decide the rest, which saves an
        // inspect on the thaw's path (a preview request is waiting on it).
        if sb.status == Status::Frozen && !recreate {
            self.thaw_quietly(&name).await;
        }
        let mut state = self.inner.runtime.inspect(&name).await?;
        if !recreate && state.is_paused() && sb.status.is_up() {
            // Still paused (the unpause above failed), or paused behind our back.
            self.thaw_container(&name).await?;
            state = self.inner.runtime.inspect(&name).await?;
        }
        if !recreate && state.is_running() {
            match sb.status {
                Status::Frozen => {
                    self.record_thawed(&mut sb, &state, source).await?;
                    return Ok(sb);
                }
                Status::Running => {
                    if self.inner.activity.route(&sb.id).is_none() {
                        self.publish_route(&sb.id, &state, false);
                    }
                    return Ok(sb);
                }
                _ => {}
            }
        }
        let started_at = tokio::time::Instant::now();
        // A new container needs a new agent token, stored before the runtime is touched.
        let new_spec = if recreate || !state.exists() || sb.status == Status::Error {
            Some(self.new_container_spec(&sb).await?)
        } else {
            None
        };
        let result = async {
            if let Some(spec) = &new_spec {
                self.inner.runtime.remove(&name).await?;
                self.create_container_from(&sb, spec).await?;
            }
            // A size-limited workspace loses its mount in a reboot; the container must never
            // start on the bare directory underneath.
            self.inner.runtime.mount_workspace(&sb.id).await?;
            self.inner.runtime.start(&name).await
        }
        .await;
        if matches!(source, ActivitySource::Wake | ActivitySource::Exec) {
            self.observe_wake(&result, started_at.elapsed());
        }
        match result {
            Ok(()) => {
                sb.last_error = None;
                sb.last_active_at_ms = self.now_ms();
                let now = sb.last_active_at_ms;
                crate::lifetime::renew_paused(&mut sb, now);
                self.set_status(&mut sb, Status::Running).await?;
                self.inner
                    .activity
                    .touch(&sb.id, sb.last_active_at_ms, source);
                let state = self.inner.runtime.inspect(&name).await?;
                self.publish_route(&sb.id, &state, true);
                Ok(sb)
            }
            Err(e) => {
                sb.last_error = Some(format!("start failed: {e}"));
                self.set_status(&mut sb, Status::Error).await?;
                Err(e.into())
            }
        }
    }

    /// Create the container for a record (with a new agent token); a workspace that went
    /// missing is made again (empty).
    pub(crate) async fn create_container(&self, sb: &Sandbox) -> Result<(), EngineError> {
        let spec = self.new_container_spec(sb).await?;
        Ok(self.create_container_from(sb, &spec).await?)
    }

    /// Create the container of `spec` (see [`Engine::new_container_spec`]) for a record.
    async fn create_container_from(
        &self,
        sb: &Sandbox,
        spec: &sandboxd_runtime::ContainerSpec,
    ) -> Result<(), RuntimeError> {
        let rt = &self.inner.runtime;
        if rt.ensure_workspace(&sb.id, sb.disk_mb).await? == WorkspaceState::Fresh {
            rt.seed_workspace(&sb.id, Seed::Empty).await?;
        }
        rt.create(spec).await
    }
}
