//! The Docker Engine API runtime (bollard, version negotiated). Only containers and networks that
//! carry this installation's label are ever listed, changed or removed: two installations can share
//! one engine without touching each other's sandboxes.

mod container;
mod exec;
mod firewall;
mod network;
pub mod teardown;

use crate::{
    ContainerInfo, ContainerSpec, ContainerSummary, ExecOutput, ExecRequest, LogLine, NetworkInfo,
    Runtime, RuntimeError, RuntimeEvent,
};
use async_trait::async_trait;
use bollard::Docker;
use futures_util::stream::BoxStream;
use std::time::Duration;

pub use container::container_config;

/// Label every object of ours carries; its value is the installation name.
pub const INSTANCE_LABEL: &str = "io.sandboxd.instance";

#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    instance: String,
    network: String,
    bridge: String,
    host_guard: bool,
    /// Held for each container removal: removals on our network happen one at a time.
    removals: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// How to reach the engine and which names this installation uses.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// Installation name: labels, network name and bridge name derive from it.
    pub instance: String,
    /// Install the iptables guard that drops sandbox → host traffic.
    pub host_guard: bool,
}

impl DockerRuntime {
    /// Connect over the local socket (`DOCKER_HOST` honoured) and negotiate the API version.
    pub async fn connect(opts: DockerOptions) -> Result<Self, RuntimeError> {
        let docker = Docker::connect_with_local_defaults().map_err(map_err)?;
        let docker = docker.negotiate_version().await.map_err(map_err)?;
        Ok(Self {
            network: format!("sandboxd-{}", opts.instance),
            bridge: network::bridge_name(&opts.instance),
            docker,
            instance: opts.instance,
            host_guard: opts.host_guard,
            removals: Default::default(),
        })
    }

    /// The raw client, for callers outside the sandbox lifecycle (image building, benchmarks).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn network_name(&self) -> &str {
        &self.network
    }
}

/// Translate a bollard error, keeping the engine's own message.
pub(crate) fn map_err(e: bollard::errors::Error) -> RuntimeError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError {
            status_code: 404,
            message,
        } => RuntimeError::NotFound(message),
        E::DockerResponseServerError {
            status_code: 409,
            message,
        } => RuntimeError::Conflict(message),
        E::DockerResponseServerError {
            status_code,
            message,
        } => RuntimeError::Engine {
            status: status_code,
            message,
        },
        E::HyperResponseError { .. } | E::IOError { .. } | E::RequestTimeoutError => {
            RuntimeError::Unavailable(e.to_string())
        }
        other => RuntimeError::Other(other.to_string()),
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    async fn ping(&self) -> Result<(), RuntimeError> {
        self.docker.ping().await.map(|_| ()).map_err(map_err)
    }

    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError> {
        network::ensure(self).await
    }

    async fn remove_network(&self) -> Result<(), RuntimeError> {
        network::remove(self).await
    }

    async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match map_err(e) {
                RuntimeError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn read_dir_tar(&self, name: &str, path: &str) -> Result<Option<Vec<u8>>, RuntimeError> {
        container::read_dir_tar(self, name, path).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        container::create(self, spec).await
    }

    async fn start(&self, name: &str) -> Result<(), RuntimeError> {
        container::start(self, name).await
    }

    async fn stop(&self, name: &str, grace: Duration) -> Result<(), RuntimeError> {
        container::stop(self, name, grace).await
    }

    async fn remove(&self, name: &str) -> Result<(), RuntimeError> {
        container::remove(self, name).await
    }

    async fn inspect(&self, name: &str) -> Result<Option<ContainerInfo>, RuntimeError> {
        container::inspect(self, name).await
    }

    async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError> {
        container::list(self).await
    }

    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        exec::run(self, req).await
    }

    async fn logs(&self, name: &str, tail: usize) -> Result<Vec<LogLine>, RuntimeError> {
        exec::logs(self, name, tail).await
    }

    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        container::events(self)
    }
}
