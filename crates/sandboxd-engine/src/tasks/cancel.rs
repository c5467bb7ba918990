//! Cancelling a task. Rule: the cancel is recorded first (so the end counts as `cancelled` even
//! when the process dies of something else meanwhile), then the agent's process group gets
//! SIGTERM and, if it still runs after [`CANCEL_GRACE`], SIGKILL; the answer waits for the end,
//! signalled by the collector, not for a timer. Signals never wake a sandbox.

use super::{TaskRow, CANCEL_GRACE};
use crate::{Engine, EngineError};
use sandboxd_core::SandboxId;
use serde_json::json;
use std::time::Duration;

impl Engine {
    /// Cancel a running task: SIGTERM to its process group, SIGKILL after [`CANCEL_GRACE`];
    /// answers with the task once it ended (or as it is after the kill's wait).
    pub async fn cancel_task(&self, id: &SandboxId, task_id: &str) -> Result<TaskRow, EngineError> {
        let t = self.task(id, task_id).await?;
        if t.status != "running" {
            return Ok(t);
        }
        self.inner.store.request_task_cancel(task_id).await?;
        self.signal_task(id, t.pid, "SIGNAL_SIGTERM").await;
        if let Some(t) = self.wait_task_end(id, task_id, CANCEL_GRACE).await? {
            return Ok(t);
        }
        self.signal_task(id, t.pid, "SIGNAL_SIGKILL").await;
        let ended = self
            .wait_task_end(id, task_id, Duration::from_secs(5))
            .await?;
        match ended {
            Some(t) => Ok(t),
            None => self.task(id, task_id).await,
        }
    }

    async fn wait_task_end(
        &self,
        id: &SandboxId,
        task_id: &str,
        limit: Duration,
    ) -> Result<Option<TaskRow>, EngineError> {
        let mut updates = self.task_updates();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let t = self.task(id, task_id).await?;
            if t.status != "running" {
                return Ok(Some(t));
            }
            if tokio::time::timeout_at(deadline, updates.changed())
                .await
                .is_err()
            {
                return Ok(None);
            }
        }
    }

    /// Signal a task's process group, if its sandbox's agent is reachable (without waking it).
    pub(super) async fn signal_task(&self, id: &SandboxId, pid: u32, signal: &str) {
        let Ok(Some(ep)) = self.agent_endpoint(id).await else {
            return;
        };
        let req = json!({"process": {"pid": pid}, "signal": signal});
        let sent: Result<serde_json::Value, _> = self
            .agent_client()
            .unary(
                &ep.client_endpoint(),
                "/process.Process/SendSignal",
                &req,
                &[],
            )
            .await;
        if let Err(e) = sent {
            tracing::debug!(sandbox = %id, pid, error = %e, "signalling a task's process");
        }
    }
}
