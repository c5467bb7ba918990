//! The Docker Engine API runtime (bollard, version negotiated). Only containers and networks that
//! carry this installation's instance label are ever listed, changed or removed, and never one
//! labelled with another installation's id (see [`crate::Installation`]): two installations can
//! share one engine without touching each other's sandboxes. Workspaces are host directories under the
//! data dir (`workspaces/<id>`) and our binaries host files under `bin/`, both bind-mounted; a
//! stop keeps the container.

mod config;
mod container;
mod events;
mod exec;
mod firewall;
mod neighbor;
mod network;
mod owner;
pub mod teardown;
mod workspace;

use crate::{
    ContainerSpec, ContainerState, ContainerSummary, DiskUsage, ExecOutput, ExecRequest, LogLine,
    NetworkInfo, Runtime, RuntimeError, RuntimeEvent, Seed, StopSemantics, WorkspaceState,
};
use async_trait::async_trait;
use bollard::Docker;
use futures_util::stream::BoxStream;
use sandboxd_core::SandboxId;
use std::path::PathBuf;
use std::time::Duration;

pub use config::{container_config, HostPaths};
pub use firewall::egress::mac_for;
pub use workspace::unmount_all as unmount_workspaces;

/// Label every object of ours carries; its value is the installation name.
pub const INSTANCE_LABEL: &str = "io.sandboxd.instance";
/// Label holding the sandbox id on its container.
pub const SANDBOX_LABEL: &str = "io.sandboxd.sandbox";
/// Label holding a container's egress policy (`open` when absent).
pub const EGRESS_LABEL: &str = "io.sandboxd.egress";

#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    instance: String,
    network: String,
    bridge: String,
    host_guard: bool,
    installation: Option<crate::Installation>,
    /// Held for each container removal: removals on our network happen one at a time.
    removals: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Held while the firewall is checked and rewritten: one writer at a time.
    firewall: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Denied egress packets counted by chains this runtime has since rewritten (a rewrite
    /// resets iptables' counters).
    denied_before: std::sync::Arc<std::sync::atomic::AtomicU64>,
    storage: Option<HostStorage>,
}

/// Where workspaces and our binaries live on the host.
#[derive(Debug, Clone)]
struct HostStorage {
    workspaces: PathBuf,
    bin: PathBuf,
}

/// How to reach the engine and which names this installation uses.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// Installation name: labels, network name and bridge name derive from it.
    pub instance: String,
    /// Install the iptables guard that drops sandbox → host traffic.
    pub host_guard: bool,
    /// The data dir holding `workspaces/` and `bin/`. `None` for tools that only touch the
    /// engine (uninstall): workspace operations and creates then fail.
    pub data_dir: Option<PathBuf>,
    /// Where workspaces live (default: `<data_dir>/workspaces`); made 0700 when missing.
    pub workspaces_dir: Option<PathBuf>,
    /// The installation serving the instance; `None` for tools that act on every container of
    /// the instance (uninstall), which then skip the ownership check.
    pub installation: Option<crate::Installation>,
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
            installation: opts.installation,
            removals: Default::default(),
            firewall: Default::default(),
            denied_before: Default::default(),
            storage: opts.data_dir.map(|d| HostStorage {
                workspaces: opts.workspaces_dir.unwrap_or_else(|| d.join("workspaces")),
                bin: d.join("bin"),
            }),
        })
    }

    /// Who owns the instance's network, judged as this runtime's installation (`None`: no
    /// network; a runtime without an installation sees every network as unlabelled or foreign).
    pub async fn network_owner(&self) -> Result<Option<crate::Ownership>, RuntimeError> {
        let me = self.installation.clone().unwrap_or(crate::Installation {
            id: String::new(),
            data_dir: PathBuf::new(),
            established: true,
        });
        owner::network_owner(self, &me).await
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

    /// Check that this host can make size-limited workspaces (root, loop devices, mkfs.ext4),
    /// by making and removing a minimal one in the workspaces dir. Call after
    /// [`Runtime::prepare`].
    pub async fn check_disk_quotas(&self) -> Result<(), RuntimeError> {
        let root = self.storage()?.workspaces.clone();
        let what = format!(
            "disk quotas need root, loop devices and mkfs.ext4 on this host (workspaces in {}); \
             run with --disk-quota off for unlimited workspaces",
            root.display()
        );
        blocking(what, move || workspace::probe(&root)).await
    }

    fn storage(&self) -> Result<&HostStorage, RuntimeError> {
        self.storage.as_ref().ok_or_else(|| {
            RuntimeError::Storage("this runtime was opened without a data dir".into())
        })
    }

    /// Where a sandbox's workspace and our binaries are on the host.
    fn host_paths(&self, sandbox: &SandboxId) -> Result<HostPaths, RuntimeError> {
        let s = self.storage()?;
        Ok(HostPaths {
            workspace: workspace::path(&s.workspaces, sandbox),
            init: crate::binaries::INIT.installed_path(&s.bin),
            agent: crate::binaries::AGENT.installed_path(&s.bin),
        })
    }
}

/// Run blocking filesystem work on the blocking pool.
async fn blocking<T: Send + 'static>(
    what: String,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, RuntimeError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(RuntimeError::Storage(format!("{what}: {e}"))),
        Err(e) => Err(RuntimeError::Storage(format!("{what}: task failed: {e}"))),
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
    fn stop_semantics(&self) -> StopSemantics {
        StopSemantics::KeepsContainer
    }

    async fn ping(&self) -> Result<(), RuntimeError> {
        self.docker.ping().await.map(|_| ()).map_err(map_err)
    }

    async fn prepare(&self) -> Result<(), RuntimeError> {
        let s = self.storage()?.clone();
        blocking("installing our binaries".into(), move || {
            if !s.workspaces.is_dir() {
                std::fs::create_dir_all(&s.workspaces)?;
                std::fs::set_permissions(
                    &s.workspaces,
                    <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
                )?;
            }
            crate::binaries::install_all(&s.bin)
        })
        .await
    }

    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError> {
        network::ensure(self).await
    }

    async fn remove_network(&self) -> Result<(), RuntimeError> {
        network::remove(self).await
    }

    async fn egress_denied(&self) -> Result<Option<u64>, RuntimeError> {
        network::egress_denied(self).await.map(Some)
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

    async fn ensure_workspace(
        &self,
        sandbox: &SandboxId,
        disk_mb: Option<u64>,
    ) -> Result<WorkspaceState, RuntimeError> {
        workspace::ensure(self, sandbox, disk_mb).await
    }

    async fn mount_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError> {
        workspace::mount(self, sandbox).await
    }

    async fn release_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError> {
        workspace::release(self, sandbox).await
    }

    async fn workspace_usage(
        &self,
        sandbox: &SandboxId,
    ) -> Result<Option<DiskUsage>, RuntimeError> {
        workspace::usage(self, sandbox).await
    }

    async fn seed_workspace(
        &self,
        sandbox: &SandboxId,
        seed: Seed<'_>,
    ) -> Result<(), RuntimeError> {
        workspace::seed(self, sandbox, seed).await
    }

    async fn remove_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError> {
        workspace::remove(self, sandbox).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<(), RuntimeError> {
        container::create(self, spec).await
    }

    async fn start(&self, name: &str) -> Result<(), RuntimeError> {
        container::start(self, name).await
    }

    async fn stop(&self, name: &str, grace: Duration) -> Result<(), RuntimeError> {
        container::stop(self, name, grace).await
    }

    async fn pause(&self, name: &str) -> Result<(), RuntimeError> {
        container::pause(self, name).await
    }

    async fn unpause(&self, name: &str) -> Result<(), RuntimeError> {
        container::unpause(self, name).await
    }

    async fn remove(&self, name: &str) -> Result<(), RuntimeError> {
        container::remove(self, name).await
    }

    async fn inspect(&self, name: &str) -> Result<ContainerState, RuntimeError> {
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
        events::stream(self)
    }
}
