//! The guards that hold a sandbox awake: an open proxied connection, an exec in flight, an agent
//! session. Each remembers the generation of the entry it counted in (see the parent module), so
//! a guard that outlives a delete and re-create of the same id never touches the new entry; its
//! drop records the end as activity.

use super::{Activity, ActivitySource, SessionKind};
use sandboxd_core::SandboxId;
use std::sync::Arc;

/// One open proxied request or connection; dropping it records the end as activity.
pub struct ConnectionGuard {
    pub(super) table: Arc<Activity>,
    pub(super) id: SandboxId,
    pub(super) generation: u64,
}

impl ConnectionGuard {
    pub fn id(&self) -> &SandboxId {
        &self.id
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let source = ActivitySource::Request;
        self.table.release(&self.id, self.generation, source, |s| {
            s.connections = s.connections.saturating_sub(1);
        });
    }
}

/// One exec in flight; dropping it records the end as activity.
pub struct ExecGuard {
    pub(super) table: Arc<Activity>,
    pub(super) id: SandboxId,
    pub(super) generation: u64,
}

impl Drop for ExecGuard {
    fn drop(&mut self) {
        let source = ActivitySource::Exec;
        self.table.release(&self.id, self.generation, source, |s| {
            s.execs = s.execs.saturating_sub(1);
        });
    }
}

/// One open agent session; dropping it records the end as activity.
pub struct SessionGuard {
    pub(super) table: Arc<Activity>,
    pub(super) id: SandboxId,
    pub(super) generation: u64,
    pub(super) kind: SessionKind,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let kind = self.kind;
        self.table
            .release(&self.id, self.generation, ActivitySource::Agent, |s| {
                if let Some(n) = s.sessions.get_mut(&kind) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        s.sessions.remove(&kind);
                    }
                }
            });
    }
}
