//! Create, start, stop, delete, purge, keepalive. Each takes the sandbox's lock for its whole
//! duration, writes the store before and after touching the runtime, and undoes what it did when
//! it fails: a failed create leaves no row, container or directory that did not exist before.

mod create;
mod stop;

use crate::activity::ActivitySource;
use crate::{container, workspace, Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId, Status};
use sandboxd_runtime::RuntimeError;

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
    pub async fn start_sandbox(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        if self.get_live(id).await?.status != Status::Running {
            self.admit(Some(id)).await?;
        }
        let _g = self.inner.locks.lock(id).await;
        let sb = self.get_live(id).await?;
        self.ensure_running_locked(sb, ActivitySource::Start).await
    }

    /// Publish where a container answers (or that it does not run). `fresh_start`: we just
    /// started it.
    pub(crate) fn publish_route(
        &self,
        id: &SandboxId,
        info: Option<&sandboxd_runtime::ContainerInfo>,
        fresh_start: bool,
    ) {
        let ip = info.filter(|c| c.running).and_then(|c| c.ip);
        self.inner.activity.ensure(id);
        self.inner
            .activity
            .set_route(id, ip, self.now_ms(), fresh_start);
    }

    /// Remove the container and leave a tombstone; the workspace stays unless `purge`.
    pub async fn delete_sandbox(&self, id: &SandboxId, purge: bool) -> Result<(), EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let mut sb = self.get(id).await?;
        // Tombstone first: if anything below fails, the reconciler removes what is left instead
        // of bringing the sandbox back, and a retried purge finishes the job.
        if sb.status != Status::Deleted {
            sb.status = Status::Deleted;
            sb.updated_at_ms = self.now_ms();
            self.inner.store.put(&sb).await?;
        }
        self.inner.activity.forget(id);
        self.inner.runtime.remove(&self.container_name(id)).await?;
        if purge {
            let dir = workspace::path(&self.inner.cfg.workspaces_dir(), id.as_str());
            workspace::remove(&dir)
                .map_err(|e| EngineError::Internal(format!("removing workspace: {e}")))?;
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

    /// Activity as the idle logic sees it, explained.
    pub async fn activity(&self, id: &SandboxId) -> Result<crate::ActivityView, EngineError> {
        let sb = self.get_live(id).await?;
        let now = self.now_ms();
        let report = self.inner.activity.report(id, sb.last_active_at_ms, now);
        let idle_timeout_ms = self.idle_timeout_ms(sb.idle_timeout_s);
        let mut held_by = Vec::new();
        if sb.status != Status::Running {
            held_by.push(format!("not running ({})", sb.status));
        }
        if sb.idle_policy == sandboxd_core::IdlePolicy::AlwaysOn {
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
        let sleeps_at_ms = held_by.is_empty().then(|| {
            (report.last_active_ms + idle_timeout_ms).max(report.lease_until_ms.unwrap_or(0))
        });
        if let Some(lease) = report.lease_until_ms {
            held_by.push(format!(
                "keepalive lease until {}",
                sandboxd_core::time::rfc3339_ms(lease)
            ));
        }
        Ok(crate::ActivityView {
            report,
            status: sb.status.to_string(),
            idle_policy: sb.idle_policy.as_str().to_string(),
            idle_timeout_ms,
            held_by,
            sleeps_at_ms,
        })
    }

    /// Bring a live sandbox to `running`: recreate its container when missing or errored, start
    /// it, record the result. Caller holds the lock.
    pub(crate) async fn ensure_running_locked(
        &self,
        mut sb: Sandbox,
        source: ActivitySource,
    ) -> Result<Sandbox, EngineError> {
        let name = self.container_name(&sb.id);
        let info = self.inner.runtime.inspect(&name).await?;
        if sb.status == Status::Running && info.as_ref().is_some_and(|i| i.running) {
            if self.inner.activity.route(&sb.id).is_none() {
                self.publish_route(&sb.id, info.as_ref(), false);
            }
            return Ok(sb);
        }
        let result = async {
            if info.is_none() || sb.status == Status::Error {
                self.inner.runtime.remove(&name).await?;
                self.create_container(&sb).await?;
            }
            self.inner.runtime.start(&name).await
        }
        .await;
        let now = self.now_ms();
        sb.updated_at_ms = now;
        match result {
            Ok(()) => {
                sb.status = Status::Running;
                sb.last_error = None;
                sb.last_active_at_ms = now;
                self.inner.store.put(&sb).await?;
                self.inner.activity.touch(&sb.id, now, source);
                let info = self.inner.runtime.inspect(&name).await?;
                self.publish_route(&sb.id, info.as_ref(), true);
                Ok(sb)
            }
            Err(e) => {
                sb.status = Status::Error;
                sb.last_error = Some(format!("start failed: {e}"));
                self.inner.store.put(&sb).await?;
                Err(e.into())
            }
        }
    }

    /// Create the container for a record (workspace must exist).
    pub(crate) async fn create_container(&self, sb: &Sandbox) -> Result<(), RuntimeError> {
        let dir = workspace::path(&self.inner.cfg.workspaces_dir(), sb.id.as_str());
        if let Err(e) = workspace::create(&dir).and_then(|fresh| {
            if fresh {
                workspace::seed(&dir, None)
            } else {
                Ok(())
            }
        }) {
            return Err(RuntimeError::Other(format!(
                "workspace {}: {e}",
                dir.display()
            )));
        }
        let spec = container::spec(
            &self.inner.cfg.instance,
            sb,
            &dir,
            &self.inner.init_path,
            self.inner.cfg.limits.default.nofile,
            self.inner
                .cfg
                .stop_grace
                .as_millis()
                .saturating_sub(500)
                .max(500) as u64,
        );
        self.inner.runtime.create(&spec).await.map(|_| ())
    }
}
