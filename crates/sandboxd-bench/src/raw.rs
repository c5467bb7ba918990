//! Rule: the raw baseline is what a careful caller of the Docker Engine API would do to get the
//! same sandbox — same image, our init as PID 1 (bind-mounted read-only at /.sandboxd/init as the
//! entrypoint), user 1000:1000, no capabilities, no-new-privileges, read-only root, the same
//! tmpfs mounts, limits and log settings, a bind-mounted home — on a bridge network the bench owns.
//! Every raw object carries the label `io.sandboxd.bench=<bench instance>` (never sandboxd's own
//! instance label, which its reconciler would claim), so cleanup can find it.

use anyhow::{Context, Result};
use bollard::container::{CreateContainerOptions, StopContainerOptions};
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::network::CreateNetworkOptions;
use bollard::Docker;
use futures_util::StreamExt;
use sandboxd_core::{
    AgentToken, IdlePolicy, Resources, Sandbox, SandboxId, Status, AGENT_TOKEN_BYTES,
};
use sandboxd_engine::container;
use sandboxd_runtime::binaries;
use sandboxd_runtime::docker::teardown;
use sandboxd_runtime::docker::{container_config, HostPaths};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Label on every raw container and the raw network; its value is the bench instance.
pub const BENCH_LABEL: &str = "io.sandboxd.bench";
/// sandboxd stops with a 3 s grace and tells init 500 ms less.
pub const STOP_GRACE_S: i64 = 3;
const INIT_GRACE_MS: u64 = 2500;

/// Per-sandbox limits, passed to the child sandboxd as flags and applied to raw containers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_mb: u64,
    pub cpus: f64,
    pub pids: u64,
    pub nofile: u64,
    pub tmp_mb: u64,
}

impl Limits {
    /// `sandboxd serve`'s own defaults.
    pub fn serve_defaults() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        Limits {
            memory_mb: 2048,
            cpus: cores.min(2.0),
            pids: 1024,
            nofile: 8192,
            tmp_mb: 512,
        }
    }
}

pub struct Raw {
    pub docker: Docker,
    pub network: String,
    instance: String,
    image: String,
    limits: Limits,
    init: PathBuf,
    agent: PathBuf,
    homes: PathBuf,
    next: AtomicU64,
    /// The agent token of every raw container (the bench calls raw agents directly).
    agent_token: AgentToken,
    /// Removals on the raw network happen one at a time, as sandboxd's do.
    removals: tokio::sync::Mutex<()>,
}

impl Raw {
    /// Create the raw network and write our binaries where containers can mount them.
    pub async fn setup(
        docker: Docker,
        instance: &str,
        network: &str,
        dir: &Path,
        image: &str,
        limits: Limits,
    ) -> Result<Self> {
        let network = network.to_string();
        let opts = CreateNetworkOptions {
            name: network.clone(),
            check_duplicate: true,
            driver: "bridge".to_string(),
            options: HashMap::from([(
                "com.docker.network.bridge.enable_icc".to_string(),
                "false".to_string(),
            )]),
            labels: HashMap::from([(BENCH_LABEL.to_string(), instance.to_string())]),
            ..Default::default()
        };
        docker
            .create_network(opts)
            .await
            .with_context(|| format!("creating network {network}"))?;
        let bin = dir.join("raw-bin");
        let init = binaries::INIT.install(&bin).context("writing the init")?;
        let agent = binaries::AGENT.install(&bin).context("writing the agent")?;
        let homes = dir.join("raw-homes");
        std::fs::create_dir_all(&homes)?;
        let mut bytes = [0u8; AGENT_TOKEN_BYTES];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
        Ok(Raw {
            agent_token: AgentToken::from_random(bytes),
            docker,
            network,
            instance: instance.to_string(),
            image: image.to_string(),
            limits,
            init,
            agent,
            homes,
            next: AtomicU64::new(0),
            removals: tokio::sync::Mutex::new(()),
        })
    }

    /// A fresh container name and its home (`workspace/` inside, owned by 1000:1000).
    fn home_for(&self) -> Result<(String, PathBuf)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}", self.network);
        let home = self.homes.join(&name);
        std::fs::create_dir_all(home.join("workspace"))?;
        for p in [home.clone(), home.join("workspace")] {
            std::os::unix::fs::chown(&p, Some(1000), Some(1000))
                .with_context(|| format!("chown {}", p.display()))?;
        }
        Ok((name, home))
    }

    /// Create (not start) a container; `start` becomes init's `SANDBOXD_START`. The config is
    /// the one sandboxd itself sends (same spec builder, same Engine API config), so the two
    /// sides cannot drift apart; only the name, network and labels are the bench's.
    pub async fn create(&self, start: Option<&str>) -> Result<String> {
        let (name, home) = self.home_for()?;
        let l = self.limits;
        let sb = Sandbox {
            id: SandboxId::from_trusted(name.clone()),
            status: Status::Running,
            image: self.image.clone(),
            ports: Vec::new(),
            env: BTreeMap::new(),
            resources: Resources {
                memory_mb: l.memory_mb,
                cpus: l.cpus,
                pids: l.pids,
                nofile: l.nofile,
                tmp_mb: l.tmp_mb,
            },
            disk_mb: None,
            start: start.map(str::to_string),
            idle_policy: IdlePolicy::Sleep,
            idle_timeout_s: None,
            freeze_after_s: None,
            egress: sandboxd_core::Egress::Open,
            metadata: BTreeMap::new(),
            preview: sandboxd_core::Preview::Public,
            created_at_ms: 0,
            updated_at_ms: 0,
            last_active_at_ms: 0,
            last_error: None,
            owner: None,
            e2b: None,
        };
        // An agent token, as sandboxd gives its containers: the bench calls raw agents directly.
        let spec = container::spec(
            name.clone(),
            &sb,
            l.nofile,
            INIT_GRACE_MS,
            Some(&self.agent_token),
        );
        let host = HostPaths {
            workspace: home,
            init: self.init.clone(),
            agent: self.agent.clone(),
        };
        let labels = HashMap::from([(BENCH_LABEL.to_string(), self.instance.clone())]);
        let config = container_config(&spec, &host, &self.network, labels);
        let opts = CreateContainerOptions {
            name: name.clone(),
            platform: None,
        };
        self.docker.create_container(Some(opts), config).await?;
        Ok(name)
    }

    pub async fn start(&self, name: &str) -> Result<()> {
        Ok(self.docker.start_container::<String>(name, None).await?)
    }

    pub async fn stop(&self, name: &str) -> Result<()> {
        let opts = StopContainerOptions { t: STOP_GRACE_S };
        Ok(self.docker.stop_container(name, Some(opts)).await?)
    }

    pub async fn pause(&self, name: &str) -> Result<()> {
        Ok(self.docker.pause_container(name).await?)
    }

    pub async fn unpause(&self, name: &str) -> Result<()> {
        Ok(self.docker.unpause_container(name).await?)
    }

    /// Stop, then remove, one at a time (never timed: see `sandboxd_runtime::docker::teardown`
    /// for why a force removal racing other containers on the network is avoided).
    pub async fn remove(&self, name: &str) -> Result<()> {
        teardown::stop_and_remove(&self.docker, &self.removals, name).await?;
        Ok(())
    }

    /// Run `true` the way sandboxd's runtime runs an exec: create, start attached, drain the
    /// output, inspect for the exit code.
    pub async fn exec_true(&self, name: &str) -> Result<()> {
        let opts = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            attach_stdin: Some(false),
            tty: Some(false),
            env: Some(Vec::<String>::new()),
            cmd: Some(vec!["true".to_string()]),
            user: Some("1000:1000".to_string()),
            working_dir: Some(format!("{}/workspace", container::HOME)),
            ..Default::default()
        };
        let created = self.docker.create_exec(name, opts).await?;
        let start = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(64 * 1024),
        };
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&created.id, Some(start)).await?
        {
            while let Some(item) = output.next().await {
                item?;
            }
        }
        let code = self.docker.inspect_exec(&created.id).await?.exit_code;
        anyhow::ensure!(code == Some(0), "raw exec of true exited with {code:?}");
        Ok(())
    }

    pub fn agent_token(&self) -> &AgentToken {
        &self.agent_token
    }

    pub async fn ip(&self, name: &str) -> Result<IpAddr> {
        container_ip(&self.docker, name, &self.network).await
    }
}

/// The address of a container on a network.
pub async fn container_ip(docker: &Docker, name: &str, network: &str) -> Result<IpAddr> {
    let info = docker.inspect_container(name, None).await?;
    info.network_settings
        .and_then(|n| n.networks)
        .and_then(|mut nets| nets.remove(network))
        .and_then(|ep| ep.ip_address)
        .filter(|ip| !ip.is_empty())
        .with_context(|| format!("{name} has no address on {network}"))?
        .parse()
        .context("container address")
}
