//! Reaching a sandbox's agent: [`Engine::agent`] wakes a stopped sandbox first (deleted ones are
//! `gone`, as everywhere), waits — with the shared port poller the preview proxy uses — until the
//! agent accepts connections, and returns where it answers and its token. Agent sessions (a
//! process-output stream, terminal, watch or file transfer) count as activity for their whole
//! life, like an open proxied connection, so the idle reaper never stops a sandbox under a live
//! session, and `/activity` names it.

use crate::activity::{SessionGuard, SessionKind};
use crate::agent::AgentEndpoint;
use crate::{Engine, EngineError};
use sandboxd_core::SandboxId;
use sandboxd_runtime::AGENT_PORT;

impl Engine {
    /// The agent of `id`, running: a stopped sandbox is started first; the call returns once the
    /// agent accepts connections (or fails with `AgentUnavailable` at the wake deadline).
    pub async fn agent(&self, id: &SandboxId) -> Result<AgentEndpoint, EngineError> {
        let target = self.wake(id).await?;
        if !self.wait_port(id, target, AGENT_PORT).await {
            return Err(EngineError::AgentUnavailable(format!(
                "the agent of sandbox {id} did not accept connections in time"
            )));
        }
        self.agent_endpoint(id).await?.ok_or_else(|| {
            EngineError::AgentUnavailable(format!(
                "sandbox {id} has no agent (it stopped meanwhile, or its container was made by a \
                 sandboxd without agents)"
            ))
        })
    }

    /// Count a session of `kind` on `id` until the guard drops.
    pub fn session(&self, id: &SandboxId, kind: SessionKind) -> SessionGuard {
        self.inner.activity.session_started(id, kind, self.now_ms())
    }
}
