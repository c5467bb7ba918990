//! Stopping: retire the route first (new requests take the wake path), thaw a frozen container
//! (a paused process cannot act on SIGTERM), record the processes
//! listening on ports when an exec may have started some (so init relaunches them at the next
//! start), stop the container, record the state. The caller holds the sandbox's lock.

use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId, Status};
use sandboxd_runtime::{Identity, RuntimeError, INIT_PATH};

impl Engine {
    /// Stop a sandbox now (it wakes again on the next start, exec or preview request).
    pub(crate) async fn stop_unobserved(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let sb = self.get_live(id).await?;
        if sb.status == Status::Creating {
            return Err(EngineError::Conflict(format!(
                "sandbox {id} is still being created"
            )));
        }
        self.stop_locked(sb).await
    }

    /// Stop with the lock held: retire the route, record the processes listening on ports (so
    /// init relaunches them at the next start), stop the container, record the state.
    pub(crate) async fn stop_locked(&self, mut sb: Sandbox) -> Result<Sandbox, EngineError> {
        let id = sb.id.clone();
        let name = self.container_name(&id);
        // Only an exec can have started processes that init would not start again by itself.
        let record = self.inner.activity.may_have_hand_started(&id);
        self.inner
            .activity
            .set_route(&id, None, self.now_ms(), false);
        let up = matches!(sb.status, Status::Running | Status::Frozen);
        if sb.status == Status::Frozen {
            // A frozen process cannot act on SIGTERM, nor can init record listeners: thaw first
            // (milliseconds), then stop as from running.
            match self.thaw_container(&name).await {
                Ok(()) | Err(EngineError::Runtime(RuntimeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        if up && record {
            self.record_listeners(&name).await;
        }
        match self
            .inner
            .runtime
            .stop(&name, self.inner.cfg.stop_grace)
            .await
        {
            Ok(()) | Err(RuntimeError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let next = if up { Status::Stopped } else { sb.status };
        sb.last_active_at_ms = self
            .inner
            .activity
            .report(&id, sb.last_active_at_ms, self.now_ms())
            .last_active_ms;
        self.set_status(&mut sb, next).await?;
        Ok(sb)
    }

    /// Ask our init inside the container to write the relaunch list. Best effort: a sandbox
    /// whose processes cannot be listed still stops.
    async fn record_listeners(&self, container: &str) {
        let req = sandboxd_runtime::ExecRequest {
            container: container.to_string(),
            cmd: vec![INIT_PATH.to_string(), "record-listeners".to_string()],
            env: Vec::new(),
            cwd: None,
            user: Identity::SANDBOX.user_spec(),
            output_cap: 64 * 1024,
        };
        let run = self.inner.runtime.exec(req);
        match tokio::time::timeout(std::time::Duration::from_secs(3), run).await {
            Ok(Ok(out)) if out.exit_code == 0 => tracing::debug!(
                container,
                out = %String::from_utf8_lossy(&out.stdout).trim(),
                "recorded listeners"
            ),
            Ok(Ok(out)) => tracing::warn!(
                container,
                code = out.exit_code,
                err = %String::from_utf8_lossy(&out.stderr).trim(),
                "recording listeners failed"
            ),
            Ok(Err(e)) => tracing::debug!(container, error = %e, "recording listeners failed"),
            Err(_) => tracing::warn!(container, "recording listeners timed out"),
        }
    }
}
