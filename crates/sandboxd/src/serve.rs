//! `sandboxd serve`: wire the store, the Docker runtime, the engine, the reconciler and the API
//! listener together. Usable in-process (the testkit) through [`start`]; the binary adds signal
//! handling. The API refuses to listen beyond loopback without a token.

use crate::workspaces::{DEFAULT_DISK_MB, MAX_DISK_MB};
use anyhow::{bail, Context, Result};
use sandboxd_api::{router, ApiState, E2bSettings, PreviewUrls, ReadyState};
use sandboxd_core::{Limits, Resources};
use sandboxd_engine::clock::SystemClock;
use sandboxd_engine::memory::{HostMemory, ProcMeminfo};
use sandboxd_engine::reconcile::Pass;
use sandboxd_engine::{Engine, EngineConfig};
use sandboxd_image::{ensure_default_image, DefaultImageOptions, DEFAULT_IMAGE_TAG};
use sandboxd_proxy::{ListenerLimits, Proxy, ProxyConfig};
use sandboxd_runtime::docker::DockerOptions;
use sandboxd_runtime::{DockerRuntime, Runtime};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

#[derive(Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    /// Where workspaces live (default `<data_dir>/workspaces`); its own filesystem keeps
    /// sandboxes' files off the one holding the store.
    pub workspaces_dir: Option<PathBuf>,
    pub instance: String,
    pub api_addr: SocketAddr,
    pub api_token: Option<String>,
    /// Require a token on a loopback API too (beyond loopback it always is).
    pub require_token: bool,
    /// Host names clients use for the API besides loopback names and IP addresses.
    pub api_hosts: Vec<String>,
    /// The preview listener (never serves the API).
    pub preview_addr: SocketAddr,
    pub preview_domain: String,
    pub preview_scheme: String,
    /// PEM certificate chain and key: serve previews over TLS (scheme becomes https).
    pub preview_tls: Option<(PathBuf, PathBuf)>,
    /// Port shown in preview URLs; default: the preview listener's own port.
    pub preview_url_port: Option<u16>,
    /// Timeouts and connection caps of the preview listener (the global cap is lowered at
    /// start to fit the open-file limit, see [`crate::fdlimit`]).
    pub preview_limits: ListenerLimits,
    /// A client of the API must send each request's header within this time.
    pub api_header_timeout: Duration,
    pub wake_timeout: Duration,
    pub reap_interval: Duration,
    pub min_free_ratio: f64,
    pub image: String,
    /// Build the default image when it is missing (only for the default tag).
    pub build_image: bool,
    pub limits: Limits,
    pub idle_timeout: Duration,
    /// Freeze sandboxes idle this long when they have no `freeze_after_s` (zero: never).
    pub freeze_after: Duration,
    pub stop_grace: Duration,
    pub host_guard: bool,
    pub reconcile_interval: Duration,
    /// Where admission reads the host's memory (default `/proc/meminfo`; tests substitute).
    pub memory: Arc<dyn HostMemory>,
    /// The E2B API's template names and the images they stand for (`base`: the default image,
    /// unless mapped here).
    pub e2b_templates: Vec<(String, String)>,
    /// The `domain` E2B answers carry (default: the preview domain, with the preview URL port
    /// when it is not the scheme's default).
    pub e2b_domain: Option<String>,
    /// Whether an E2B kill (and a `kill` end of life) also removes the workspace.
    pub e2b_purge_on_kill: bool,
}

impl ServeConfig {
    /// The embedded defaults `sandboxd serve` runs with.
    pub fn defaults() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        ServeConfig {
            data_dir: PathBuf::from("/var/lib/sandboxd"),
            workspaces_dir: None,
            instance: "default".into(),
            api_addr: SocketAddr::from(([127, 0, 0, 1], 9090)),
            api_token: None,
            require_token: false,
            api_hosts: Vec::new(),
            preview_addr: SocketAddr::from(([127, 0, 0, 1], 80)),
            preview_domain: "preview.localhost".into(),
            preview_scheme: "http".into(),
            preview_url_port: None,
            preview_tls: None,
            preview_limits: ListenerLimits::default(),
            api_header_timeout: Duration::from_secs(10),
            wake_timeout: Duration::from_secs(30),
            reap_interval: Duration::from_secs(15),
            min_free_ratio: 0.10,
            image: DEFAULT_IMAGE_TAG.into(),
            build_image: true,
            limits: Limits {
                default: Resources {
                    memory_mb: 2048,
                    cpus: cores.min(2.0),
                    pids: 1024,
                    nofile: 8192,
                    tmp_mb: 512,
                },
                max_memory_mb: 16 * 1024,
                max_cpus: cores,
                max_pids: 8192,
                default_image: DEFAULT_IMAGE_TAG.into(),
                default_disk_mb: Some(DEFAULT_DISK_MB),
                max_disk_mb: MAX_DISK_MB,
                default_preview: sandboxd_core::Preview::Public,
            },
            idle_timeout: Duration::from_secs(30 * 60),
            freeze_after: Duration::from_secs(120),
            stop_grace: Duration::from_secs(3),
            host_guard: true,
            reconcile_interval: Duration::from_secs(30),
            memory: Arc::new(ProcMeminfo),
            e2b_templates: Vec::new(),
            e2b_domain: None,
            e2b_purge_on_kill: false,
        }
    }
}

/// The `domain` E2B answers carry by default: the preview domain, with the preview port unless
/// it is 80 or 443 (the SDK only concatenates `<port>-<id>.` and the domain, so a port works).
pub fn e2b_domain(preview_domain: &str, port: u16) -> String {
    match port {
        80 | 443 => preview_domain.to_string(),
        p => format!("{preview_domain}:{p}"),
    }
}

/// A running control plane.
pub struct Running {
    pub api_addr: SocketAddr,
    pub preview_addr: SocketAddr,
    pub engine: Engine,
    shutdown: Option<(oneshot::Sender<()>, oneshot::Sender<()>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    api_server: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Signal the listeners and abort every task without waiting for anything: for contexts
    /// that cannot await this server's runtime (a `Drop` on it). The engine is released as
    /// the runtime gets to run the aborted tasks' drops. Dropping a `Running` does the same.
    pub fn abort(self) {
        drop(self);
    }

    fn signal_and_abort(&mut self) {
        if let Some((api, preview)) = self.shutdown.take() {
            let _ = api.send(());
            let _ = preview.send(());
        }
        for t in self.tasks.iter().chain(self.api_server.iter()) {
            t.abort();
        }
    }

    /// Stop listening, end open preview connections and background tasks, let API requests in
    /// flight finish (5 s at most), and wait until nothing else uses the engine (so the data
    /// dir's owner lock is free when this returns, bar a straggler past 5 s). Sandboxes keep
    /// running.
    pub async fn shutdown(mut self) {
        if let Some((api, preview)) = self.shutdown.take() {
            let _ = api.send(());
            let _ = preview.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(mut server) = self.api_server.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
                let _ = server.await;
            }
        }
        // Detached lifecycle actions, wakes and event reconciles finish on their own (a wake
        // may wait for its port up to --wake-timeout); wait a bounded time for them.
        if !self.engine.drain(Duration::from_secs(5)).await {
            tracing::warn!(
                "shutdown: work still in flight after 5 s; the data dir stays locked until it ends"
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_and_abort();
    }
}

pub(crate) fn check_instance(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 24
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        bail!("--instance must be 1-24 characters of a-z, 0-9 and '-'");
    }
    Ok(())
}

pub async fn start(mut cfg: ServeConfig) -> Result<Running> {
    check_instance(&cfg.instance)?;
    // Everything sandboxd creates (state, workspaces' parents, logs) is owner-only.
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    cfg.limits.default_image = cfg.image.clone();
    match crate::fdlimit::raise_nofile() {
        Ok(nofile) => {
            let cap = crate::fdlimit::preview_cap(cfg.preview_limits.max_connections, nofile);
            if cap < cfg.preview_limits.max_connections {
                tracing::warn!(
                    nofile,
                    configured = cfg.preview_limits.max_connections,
                    cap,
                    "preview connection cap lowered to fit the open-file limit"
                );
            }
            cfg.preview_limits.max_connections = cap;
            tracing::info!(nofile, preview_max_connections = cap, "open-file limit");
        }
        Err(e) => tracing::warn!(error = %e, "could not read the open-file limit"),
    }
    let tls = match &cfg.preview_tls {
        Some((cert, key)) => {
            cfg.preview_scheme = "https".into();
            Some(sandboxd_proxy::tls::acceptor(cert, key)?)
        }
        None => None,
    };
    let installation = sandboxd_engine::installation::claim(&cfg.data_dir, &cfg.instance)?;
    // An explicit token is required everywhere (as it always was); the generated one is
    // required beyond loopback, and on loopback with --require-token.
    let explicit = cfg.api_token.clone().filter(|t| !t.is_empty());
    let token_required =
        explicit.is_some() || cfg.require_token || !cfg.api_addr.ip().is_loopback();
    let admin_token = match explicit {
        Some(t) => t,
        None => crate::admin_token::load_or_create(&cfg.data_dir)?,
    };
    let docker = DockerRuntime::connect(DockerOptions {
        instance: cfg.instance.clone(),
        host_guard: cfg.host_guard,
        data_dir: Some(cfg.data_dir.clone()),
        workspaces_dir: cfg.workspaces_dir.clone(),
        installation: Some(installation),
    })
    .await
    .context("connecting to the Docker engine (is it running? is DOCKER_HOST right?)")?;
    let workspaces = crate::workspaces::dir(&cfg.data_dir, cfg.workspaces_dir.as_deref());
    crate::workspaces::prepare(
        &docker,
        &cfg.data_dir,
        &workspaces,
        cfg.limits.max_disk_mb > 0,
    )
    .await?;
    if !docker.image_exists(&cfg.image).await? {
        if cfg.build_image && cfg.image == DEFAULT_IMAGE_TAG {
            eprintln!(
                "sandboxd: default image {} is missing; building it now",
                cfg.image
            );
            let progress = |line: &str| eprintln!("{line}");
            ensure_default_image(docker.client(), &DefaultImageOptions::default(), &progress)
                .await
                .context("building the default image")?;
        } else {
            tracing::warn!(image = %cfg.image, "default image missing: creates without an image will fail");
        }
    }
    let engine_cfg = EngineConfig {
        data_dir: cfg.data_dir.clone(),
        instance: cfg.instance.clone(),
        limits: cfg.limits.clone(),
        stop_grace: cfg.stop_grace,
        exec_output_cap: 16 * 1024 * 1024,
        reconcile_interval: cfg.reconcile_interval,
        idle_timeout: cfg.idle_timeout,
        freeze_after: cfg.freeze_after,
        max_lease: Duration::from_secs(24 * 3600),
        wake_timeout: cfg.wake_timeout,
        reap_interval: cfg.reap_interval,
        min_free_ratio: cfg.min_free_ratio,
        admission_reserve_mb: 256,
        e2b_purge_on_kill: cfg.e2b_purge_on_kill,
    };
    let runtime: Arc<dyn Runtime> = Arc::new(docker);
    let engine = Engine::start(
        engine_cfg,
        runtime,
        Arc::new(SystemClock),
        cfg.memory.clone(),
    )
    .await?;
    engine.reconcile_all(Pass::Boot).await?;
    // After the boot pass, so running sandboxes' agents have their addresses again.
    let resumed = engine.resume_tasks().await?;
    if resumed > 0 {
        tracing::info!(tasks = resumed, "following running tasks again");
    }
    let reconciler = engine.spawn_reconciler();
    let reaper = engine.spawn_reaper();
    let preview_listener = tokio::net::TcpListener::bind(cfg.preview_addr)
        .await
        .with_context(|| format!("binding the preview listener on {} (ports under 1024 need root; set --preview-addr)", cfg.preview_addr))?;
    let preview_addr = preview_listener.local_addr()?;
    let (ready, prober) = ReadyState::spawn(engine.clone(), Duration::from_secs(2)).await;
    let preview_url_port = cfg.preview_url_port.unwrap_or(preview_addr.port());
    let state = ApiState {
        engine: engine.clone(),
        previews: Arc::new(PreviewUrls {
            scheme: cfg.preview_scheme.clone(),
            domain: cfg.preview_domain.clone(),
            port: preview_url_port,
        }),
        e2b: Arc::new(E2bSettings {
            templates: cfg.e2b_templates.iter().cloned().collect(),
            domain: cfg
                .e2b_domain
                .clone()
                .unwrap_or_else(|| e2b_domain(&cfg.preview_domain, preview_url_port)),
            default_image: cfg.image.clone(),
        }),
        ready,
        auth: Arc::new(sandboxd_api::Auth::new(Some(&admin_token), token_required)),
        audit: sandboxd_api::AuditLog::spawn(engine.clone()),
        hosts: Arc::new(sandboxd_api::ApiHosts::new(cfg.api_hosts.clone())),
    };
    let listener = tokio::net::TcpListener::bind(cfg.api_addr)
        .await
        .with_context(|| format!("binding the API listener on {}", cfg.api_addr))?;
    let api_addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let (preview_tx, preview_rx) = oneshot::channel::<()>();
    let proxy = Arc::new(Proxy::new(
        engine.clone(),
        ProxyConfig {
            domain: cfg.preview_domain.clone(),
            https: cfg.preview_scheme == "https",
            browser_wait: Duration::from_secs(2),
            listener: cfg.preview_limits,
        },
    ));
    let preview = tokio::spawn(sandboxd_proxy::serve(preview_listener, proxy, tls, async {
        let _ = preview_rx.await;
    }));
    let app = router(state);
    let server = tokio::spawn(crate::api_listener::serve(
        listener,
        app,
        cfg.api_header_timeout,
        async {
            let _ = rx.await;
        },
    ));
    tracing::info!(%api_addr, %preview_addr, instance = %cfg.instance, "sandboxd listening");
    Ok(Running {
        api_addr,
        preview_addr,
        engine,
        shutdown: Some((tx, preview_tx)),
        tasks: vec![reconciler, reaper, prober, preview],
        api_server: Some(server),
    })
}
