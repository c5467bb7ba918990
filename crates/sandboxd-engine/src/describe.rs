//! Reading sandboxes for callers: one sandbox with its live container state, and filtered lists.
//! Callers get engine-level types only; how the runtime names or reports a container, and how the
//! store filters rows, stay behind this module.

use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId};
use sandboxd_store::ListFilter;
use std::collections::BTreeMap;

/// Which sandboxes [`Engine::list`] returns (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxQuery {
    /// Tombstones too.
    pub include_deleted: bool,
    /// Only sandboxes whose metadata has all these key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Only sandboxes created by this tenant (filtered by the store, before any paging).
    pub owner: Option<String>,
}

/// A sandbox as stored plus what its container is doing right now.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub sandbox: Sandbox,
    pub live: LiveState,
    /// MiB used in a size-limited workspace, when it is mounted now.
    pub disk_used_mb: Option<u64>,
}

/// The live side of a sandbox, as the runtime reported it when asked.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveState {
    /// The container exists.
    Container(ContainerState),
    /// No container (stopped-and-removed, not yet created, or lost).
    Absent,
    /// The runtime could not be asked; the message says why. The stored sandbox is still shown.
    Unknown(String),
}

/// A small, backend-neutral view of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerState {
    pub name: String,
    pub running: bool,
    /// The state's word: `created`, `running`, `paused`, `exited` or `removing`.
    pub state: String,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub error: Option<String>,
}

impl Engine {
    /// A live sandbox (tombstones are `Gone`) and its container's current state.
    pub async fn describe(&self, id: &SandboxId) -> Result<Description, EngineError> {
        let sandbox = self.get_live(id).await?;
        let name = self.container_name(id);
        let live = match self.inner.runtime.inspect(&name).await {
            Ok(state) if !state.exists() => LiveState::Absent,
            Ok(state) => LiveState::Container(ContainerState {
                name,
                running: state.is_running(),
                state: state.as_str().to_string(),
                exit_code: state.exit_code(),
                oom_killed: state.oom_killed(),
                error: match &state {
                    sandboxd_runtime::ContainerState::Exited { error, .. } => error.clone(),
                    _ => None,
                },
            }),
            Err(e) => LiveState::Unknown(e.to_string()),
        };
        let disk_used_mb = match sandbox.disk_mb {
            Some(_) => match self.inner.runtime.workspace_usage(id).await {
                Ok(usage) => usage.map(|u| u.used_mb),
                Err(e) => {
                    tracing::debug!(%id, error = %e, "workspace usage unreadable");
                    None
                }
            },
            None => None,
        };
        Ok(Description {
            sandbox,
            live,
            disk_used_mb,
        })
    }

    /// Sandboxes matching `query`, newest first.
    pub async fn list(&self, query: SandboxQuery) -> Result<Vec<Sandbox>, EngineError> {
        let filter = ListFilter {
            include_deleted: query.include_deleted,
            metadata: query.metadata.into_iter().collect(),
            owner: query.owner,
        };
        Ok(self.inner.store.list(filter).await?)
    }
}
