//! Agent sessions: a process-output stream, terminal, watch or file transfer through the
//! in-sandbox agent counts as activity for its whole life (like an open proxied connection), so
//! the idle reaper never stops a sandbox under a live session, and `/activity` names it.

use crate::activity::{SessionGuard, SessionKind};
use crate::Engine;
use sandboxd_core::SandboxId;

impl Engine {
    /// Count a session of `kind` on `id` until the guard drops.
    pub fn session(&self, id: &SandboxId, kind: SessionKind) -> SessionGuard {
        self.inner.activity.session_started(id, kind, self.now_ms())
    }
}
