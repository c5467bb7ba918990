//! `sandboxd serve` flags: every knob of [`ServeConfig`] an operator sets, with the embedded
//! defaults `--help` shows; the process runs until SIGTERM or Ctrl-C, then shuts down (sandboxes
//! keep running).

use crate::serve::{self, ServeConfig};
use anyhow::Result;
use clap::Args as ClapArgs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(ClapArgs, Debug)]
pub(super) struct ServeArgs {
    /// Where the database and the workspaces live.
    #[arg(long, env = "SANDBOXD_DATA_DIR", default_value = "/var/lib/sandboxd")]
    data_dir: PathBuf,
    /// Where the workspaces live (default: <data-dir>/workspaces; created 0700). Put it on its
    /// own filesystem to keep sandboxes' files away from the database.
    #[arg(long, env = "SANDBOXD_WORKSPACES_DIR")]
    workspaces_dir: Option<PathBuf>,
    /// Per-sandbox workspace size limits (loop-mounted ext4 images; needs root and loop
    /// devices). `off`: every workspace is an unlimited plain directory.
    #[arg(long, env = "SANDBOXD_DISK_QUOTA", default_value = "on", value_parser = ["on", "off"])]
    disk_quota: String,
    /// Workspace size of a sandbox created without `disk_mb` (MiB); 0: an unlimited plain
    /// directory unless the request asks for a size.
    #[arg(long, default_value_t = crate::workspaces::DEFAULT_DISK_MB)]
    default_disk_mb: u64,
    /// Largest `disk_mb` a sandbox may ask for (MiB).
    #[arg(long, default_value_t = crate::workspaces::MAX_DISK_MB)]
    max_disk_mb: u64,
    /// API listener. Beyond loopback it requires a token (see --api-token).
    #[arg(long, env = "SANDBOXD_API_ADDR", default_value = "127.0.0.1:9090")]
    api_addr: SocketAddr,
    /// Admin token (Bearer or X-API-KEY); required always when set. Default: generated into
    /// <data-dir>/api-token (0600), required beyond loopback or with --require-token.
    #[arg(long, env = "SANDBOXD_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Require a token on a loopback API too (default: loopback callers need none).
    #[arg(long, env = "SANDBOXD_REQUIRE_TOKEN")]
    require_token: bool,
    /// A host name clients use to reach the API (repeatable; loopback names and IP addresses
    /// are always accepted). Requests naming any other Host are refused (DNS rebinding).
    #[arg(long = "api-host", env = "SANDBOXD_API_HOSTS", value_delimiter = ',')]
    api_hosts: Vec<String>,
    /// Installation name: two installations on one engine never touch each other's sandboxes.
    #[arg(long, env = "SANDBOXD_INSTANCE", default_value = "default")]
    instance: String,
    /// Preview listener: s-<id>-<port>.<domain> requests are proxied to sandboxes.
    #[arg(long, env = "SANDBOXD_PREVIEW_ADDR", default_value = "127.0.0.1:80")]
    preview_addr: SocketAddr,
    /// Domain under which preview hosts live: s-<id>-<port>.<domain>.
    #[arg(
        long,
        env = "SANDBOXD_PREVIEW_DOMAIN",
        default_value = "preview.localhost"
    )]
    preview_domain: String,
    /// Scheme of preview URLs (https when TLS terminates in front or on the preview listener).
    #[arg(long, default_value = "http")]
    preview_scheme: String,
    /// Port shown in preview URLs (default: the preview listener's; omitted when it is the
    /// scheme's default).
    #[arg(long)]
    preview_port: Option<u16>,
    /// PEM certificate (chain) for TLS on the preview listener (with --preview-tls-key).
    #[arg(long, requires = "preview_tls_key")]
    preview_tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the preview listener.
    #[arg(long, requires = "preview_tls_cert")]
    preview_tls_key: Option<PathBuf>,
    /// Seconds a preview client has to send a request's header (also closes idle keep-alive
    /// connections after this long).
    #[arg(long, default_value_t = 10)]
    preview_header_timeout: u64,
    /// Seconds a preview client has to finish its TLS handshake.
    #[arg(long, default_value_t = 10)]
    preview_tls_handshake_timeout: u64,
    /// Preview connections open at once (lowered to fit the open-file limit); more are closed.
    #[arg(long, default_value_t = 10_000)]
    preview_max_connections: usize,
    /// Preview connections open at once from one client address (IPv6: one /64).
    #[arg(long, default_value_t = 256)]
    preview_max_connections_per_client: u32,
    /// Seconds an API client has to send a request's header.
    #[arg(long, default_value_t = 10)]
    api_header_timeout: u64,
    /// How long a wake waits for the app's port to accept connections (seconds).
    #[arg(long, default_value_t = 30)]
    wake_timeout: u64,
    /// Admission floor: before a create or wake, available memory must stay above this
    /// percentage of the total (idle sandboxes are stopped first, then requests refused).
    #[arg(long, default_value_t = 10.0)]
    min_free_memory: f64,
    /// Image for sandboxes created without one.
    #[arg(long, env = "SANDBOXD_IMAGE", default_value = sandboxd_image::DEFAULT_IMAGE_TAG)]
    image: String,
    /// Do not build the default image when it is missing.
    #[arg(long)]
    no_image_build: bool,
    /// Default memory limit per sandbox (MiB).
    #[arg(long, default_value_t = 2048)]
    memory_mb: u64,
    /// Largest memory limit a sandbox may ask for (MiB).
    #[arg(long, default_value_t = 16384)]
    max_memory_mb: u64,
    /// Default CPU limit per sandbox (cores); default min(2, host cores).
    #[arg(long)]
    cpus: Option<f64>,
    /// Default process limit per sandbox.
    #[arg(long, default_value_t = 1024)]
    pids: u64,
    /// Largest process limit a sandbox may ask for.
    #[arg(long, default_value_t = 8192)]
    max_pids: u64,
    /// Open-file limit per sandbox (must not exceed the engine's own limit).
    #[arg(long, default_value_t = 8192)]
    nofile: u64,
    /// Size of each sandbox's /tmp (MiB).
    #[arg(long, default_value_t = 512)]
    tmp_mb: u64,
    /// Stop sandboxes idle this long (seconds).
    #[arg(long, default_value_t = 1800)]
    idle_timeout: u64,
    /// Freeze sandboxes idle this long (seconds): processes paused, memory kept, thawed in
    /// milliseconds by the next request; 0 never freezes. A sandbox's `freeze_after_s`
    /// overrides it.
    #[arg(long, default_value_t = 120)]
    freeze_after: u64,
    /// Do not install the iptables rules that keep sandboxes off the host's own ports and its
    /// networks (host guard and egress chain; per-sandbox egress policies are then not enforced).
    #[arg(long)]
    no_host_guard: bool,
    /// Preview mode of sandboxes created without one: `public` (anyone with the URL) or
    /// `private` (only with a preview token, see `POST /v1/sandboxes/{id}/preview-tokens`).
    #[arg(long, env = "SANDBOXD_DEFAULT_PREVIEW", default_value = "public",
        value_parser = parse_preview)]
    default_preview: sandboxd_core::Preview,
    /// E2B API: template NAME stands for IMAGE (repeatable; `base` is the default image unless
    /// mapped here; unknown templates are refused).
    #[arg(long = "e2b-template", env = "SANDBOXD_E2B_TEMPLATES", value_delimiter = ',',
        value_parser = parse_template)]
    e2b_templates: Vec<(String, String)>,
    /// E2B API: the `domain` in create/connect answers (default: the preview domain, plus the
    /// preview port when it is not 80/443, e.g. preview.localhost:18080).
    #[arg(long, env = "SANDBOXD_E2B_DOMAIN")]
    e2b_domain: Option<String>,
    /// E2B API: a kill (and a timeout ending in kill) also removes the workspace (default: kept
    /// like any deleted sandbox's, until `POST /sandbox/{id}/purge`).
    #[arg(long)]
    e2b_purge_on_kill: bool,
}

fn parse_preview(s: &str) -> Result<sandboxd_core::Preview, String> {
    sandboxd_core::Preview::parse(s).ok_or_else(|| format!("{s:?}: expected public or private"))
}

fn parse_template(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, image)) if !name.is_empty() && !image.is_empty() => {
            Ok((name.to_string(), image.to_string()))
        }
        _ => Err(format!("{s:?}: expected NAME=IMAGE")),
    }
}

pub(super) async fn run_serve(a: ServeArgs) -> Result<i32> {
    let mut cfg = ServeConfig::defaults();
    cfg.data_dir = a.data_dir;
    cfg.workspaces_dir = a.workspaces_dir;
    if a.disk_quota == "off" {
        cfg.limits.default_disk_mb = None;
        cfg.limits.max_disk_mb = 0;
    } else {
        if a.default_disk_mb != 0 && a.default_disk_mb < sandboxd_core::spec::MIN_DISK_MB {
            anyhow::bail!(
                "--default-disk-mb must be 0 (unlimited) or at least {}",
                sandboxd_core::spec::MIN_DISK_MB
            );
        }
        cfg.limits.default_disk_mb = (a.default_disk_mb > 0).then_some(a.default_disk_mb);
        cfg.limits.max_disk_mb = a
            .max_disk_mb
            .max(a.default_disk_mb)
            .max(sandboxd_core::spec::MIN_DISK_MB);
    }
    cfg.api_addr = a.api_addr;
    cfg.api_token = a.api_token;
    cfg.require_token = a.require_token;
    cfg.api_hosts = a.api_hosts;
    cfg.instance = a.instance;
    cfg.preview_domain = a.preview_domain;
    cfg.preview_scheme = a.preview_scheme;
    cfg.preview_addr = a.preview_addr;
    cfg.preview_url_port = a.preview_port;
    cfg.preview_tls = a.preview_tls_cert.zip(a.preview_tls_key);
    cfg.preview_limits = sandboxd_proxy::ListenerLimits {
        header_timeout: Duration::from_secs(a.preview_header_timeout.max(1)),
        tls_handshake_timeout: Duration::from_secs(a.preview_tls_handshake_timeout.max(1)),
        max_connections: a.preview_max_connections,
        max_connections_per_client: a.preview_max_connections_per_client,
    };
    cfg.api_header_timeout = Duration::from_secs(a.api_header_timeout.max(1));
    cfg.wake_timeout = Duration::from_secs(a.wake_timeout);
    cfg.min_free_ratio = (a.min_free_memory / 100.0).clamp(0.0, 0.9);
    cfg.image = a.image;
    cfg.build_image = !a.no_image_build;
    cfg.limits.default.memory_mb = a.memory_mb;
    cfg.limits.max_memory_mb = a.max_memory_mb.max(a.memory_mb);
    if let Some(c) = a.cpus {
        cfg.limits.default.cpus = c;
        cfg.limits.max_cpus = cfg.limits.max_cpus.max(c);
    }
    cfg.limits.default.pids = a.pids;
    cfg.limits.max_pids = a.max_pids.max(a.pids);
    cfg.limits.default.nofile = a.nofile;
    cfg.limits.default.tmp_mb = a.tmp_mb;
    cfg.idle_timeout = Duration::from_secs(a.idle_timeout);
    cfg.limits.default_preview = a.default_preview;
    cfg.freeze_after = Duration::from_secs(a.freeze_after);
    cfg.host_guard = !a.no_host_guard;
    cfg.e2b_templates = a.e2b_templates;
    cfg.e2b_domain = a.e2b_domain;
    cfg.e2b_purge_on_kill = a.e2b_purge_on_kill;
    let running = serve::start(cfg).await?;
    tracing::info!(
        api = %format!("http://{}", running.api_addr),
        previews = %format!("http://s-<id>-<port>.<domain> via {}", running.preview_addr),
        "sandboxd ready"
    );
    wait_for_signal().await;
    tracing::info!("shutting down (sandboxes keep running)");
    running.shutdown().await;
    Ok(0)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
