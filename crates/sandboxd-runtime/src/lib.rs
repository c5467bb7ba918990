//! The runtime boundary: everything sandboxd asks of a container engine goes through the
//! [`Runtime`] trait, so a Kubernetes runtime can replace Docker without touching the API or the
//! engine. Every container a runtime creates is hardened the same way, whatever the spec says:
//! no capabilities, no-new-privileges, read-only root filesystem, a non-root user.

pub mod docker;
mod types;

pub use docker::DockerRuntime;
pub use types::*;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
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
    #[error("{0}")]
    Other(String),
}

#[async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Check the engine answers.
    async fn ping(&self) -> Result<(), RuntimeError>;
    /// Make sure the installation's sandbox network exists (and its host guard is in place).
    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError>;
    /// Remove the installation's network (when nothing uses it any more).
    async fn remove_network(&self) -> Result<(), RuntimeError>;
    async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError>;
    /// Copy a directory out of an image's filesystem as a tar stream, via a created container.
    async fn read_dir_tar(
        &self,
        container: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, RuntimeError>;
    /// Create (not start) a container; returns its engine id.
    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError>;
    async fn start(&self, name: &str) -> Result<(), RuntimeError>;
    /// Stop; the container gets `grace` to exit before it is killed.
    async fn stop(&self, name: &str, grace: Duration) -> Result<(), RuntimeError>;
    /// Remove, killing it if it runs. Removing a missing container is not an error.
    async fn remove(&self, name: &str) -> Result<(), RuntimeError>;
    /// Current state, or `None` when the container does not exist.
    async fn inspect(&self, name: &str) -> Result<Option<ContainerInfo>, RuntimeError>;
    /// Every container carrying this installation's label.
    async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError>;
    /// Run a command and collect its output (bounded by the request's caps).
    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError>;
    /// The last `tail` lines the container printed (our init and its processes).
    async fn logs(&self, name: &str, tail: usize) -> Result<Vec<LogLine>, RuntimeError>;
    /// Lifecycle events of this installation's containers. The stream ends when the connection
    /// to the engine breaks; callers reconnect.
    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>>;
}
