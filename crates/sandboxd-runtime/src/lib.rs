//! The runtime boundary: everything sandboxd asks of a container engine goes through the
//! [`Runtime`] trait, in sandboxd's own terms (a typed [`ContainerSpec`], a typed
//! [`ContainerState`], typed [`RuntimeEvent`]s), so a Kubernetes runtime can replace Docker
//! without touching the API or the engine. A runtime also owns where workspaces live and how our
//! binaries reach a sandbox. Every container a runtime creates is hardened the same way, whatever
//! the spec says: no capabilities, no-new-privileges, read-only root filesystem, a non-root user.

pub mod binaries;
pub mod docker;
#[cfg(feature = "test-util")]
pub mod fake;
mod installation;
mod spec;
mod state;
mod types;

pub use docker::DockerRuntime;
pub use installation::*;
pub use spec::*;
pub use state::*;
pub use types::*;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use sandboxd_core::SandboxId;
use std::time::Duration;

/// Failures of runtime operations. Engine messages are kept verbatim so users see the real cause.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("container or object not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("container engine unreachable: {0}")]
    Unavailable(String),
    #[error("container engine refused ({status}): {message}")]
    Engine { status: u16, message: String },
    /// Workspace storage or our binaries on the runtime's side (disk, volumes).
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Other(String),
}

#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// What `stop` does to a container (the reconciler's idea of a normal stopped sandbox).
    fn stop_semantics(&self) -> StopSemantics;
    /// Check the engine answers.
    async fn ping(&self) -> Result<(), RuntimeError>;
    /// Make our binaries available to new containers and workspace storage ready. Idempotent;
    /// called once at start-up.
    async fn prepare(&self) -> Result<(), RuntimeError>;
    /// Make sure the installation's sandbox network exists (and its host guard is in place).
    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError>;
    /// Packets from sandboxes the egress rules dropped since this runtime started (a running
    /// total), when the runtime counts them.
    async fn egress_denied(&self) -> Result<Option<u64>, RuntimeError> {
        Ok(None)
    }
    /// Remove the installation's network (when nothing uses it any more).
    async fn remove_network(&self) -> Result<(), RuntimeError>;
    async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError>;
    /// Make sure the sandbox's workspace exists (owned by [`Identity::SANDBOX`]) and is mounted;
    /// says whether this call made it. `disk_mb`: a new workspace is a filesystem of that many
    /// MiB (writes past it fail with ENOSPC inside the sandbox); `None`, or a workspace that
    /// already exists, keeps what is there. A workspace survives stop, restart and delete; only
    /// [`Runtime::remove_workspace`] ends it.
    async fn ensure_workspace(
        &self,
        sandbox: &SandboxId,
        disk_mb: Option<u64>,
    ) -> Result<WorkspaceState, RuntimeError>;
    /// Make an existing size-limited workspace available again (after a reboot or an
    /// [`Runtime::release_workspace`]); nothing to do for a plain one or a mounted one.
    /// Called before every container start.
    async fn mount_workspace(&self, _sandbox: &SandboxId) -> Result<(), RuntimeError> {
        Ok(())
    }
    /// Release what a kept workspace holds on the host while no container uses it (a deleted
    /// sandbox's mount); its files stay. Releasing a missing workspace is not an error.
    async fn release_workspace(&self, _sandbox: &SandboxId) -> Result<(), RuntimeError> {
        Ok(())
    }
    /// How full a size-limited, mounted workspace is; `None` for a plain (unlimited) one or
    /// one not mounted now.
    async fn workspace_usage(
        &self,
        _sandbox: &SandboxId,
    ) -> Result<Option<DiskUsage>, RuntimeError> {
        Ok(None)
    }
    /// Fill a fresh workspace (never overwriting what is there) and make sure `workspace/`
    /// exists in it.
    async fn seed_workspace(&self, sandbox: &SandboxId, seed: Seed<'_>)
        -> Result<(), RuntimeError>;
    /// Remove a workspace entirely (purge, or rollback of a create that made it). Removing a
    /// missing workspace is not an error.
    async fn remove_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError>;
    /// Create (not start) a container.
    async fn create(&self, spec: &ContainerSpec) -> Result<(), RuntimeError>;
    async fn start(&self, name: &str) -> Result<(), RuntimeError>;
    /// Stop; the container gets `grace` to exit before it is killed. What remains afterwards is
    /// declared by [`Runtime::stop_semantics`].
    async fn stop(&self, name: &str, grace: Duration) -> Result<(), RuntimeError>;
    /// Freeze a running container's processes (memory kept). Pausing a paused one is not an
    /// error.
    async fn pause(&self, name: &str) -> Result<(), RuntimeError>;
    /// Thaw a paused container. Unpausing one that is not paused is not an error.
    async fn unpause(&self, name: &str) -> Result<(), RuntimeError>;
    /// Remove, killing it if it runs. Removing a missing container is not an error.
    async fn remove(&self, name: &str) -> Result<(), RuntimeError>;
    /// Current state ([`ContainerState::Absent`] when the container does not exist).
    async fn inspect(&self, name: &str) -> Result<ContainerState, RuntimeError>;
    /// Every container of this installation.
    async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError>;
    /// Run a command and collect its output (bounded by the request's caps).
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError>;
    /// The last `tail` lines the container printed (our init and its processes).
    async fn logs(&self, name: &str, tail: usize) -> Result<Vec<LogLine>, RuntimeError>;
    /// Lifecycle events of this installation's containers. The stream ends when the connection
    /// to the engine breaks; callers reconnect.
    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>>;
}
