//! Command-line surface of the `sandboxd` binary: `serve` runs the control plane, `image build`
//! builds the default image, and the remaining subcommands are a thin client of the HTTP API.
//! Each subcommand maps to one library call (serve, image build, uninstall) or one API request
//! (the client commands); flags carry the embedded defaults shown by `--help`.

mod client;

use crate::serve::{self, ServeConfig};
use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand};
use sandboxd_image::{ensure_default_image, BuildMethod, DefaultImageOptions};
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "sandboxd",
    version,
    about = "Isolated dev sandboxes with preview URLs on one Docker host"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the control plane (API, reconciler) on its embedded defaults.
    Serve(ServeArgs),
    /// Build images.
    Image {
        #[command(subcommand)]
        cmd: ImageCmd,
    },
    /// Moved: the bench is its own binary, `sandboxd-bench` (see docs/benchmarks.md).
    #[command(hide = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Remove an installation's containers, network and host-guard rules (stop sandboxd first);
    /// with --purge-data also its data dir.
    Uninstall(UninstallArgs),
    #[command(flatten)]
    Client(client::ClientCmd),
}

#[derive(Subcommand, Debug)]
enum ImageCmd {
    /// Build the batteries-included default image (no-op when current).
    Build {
        /// Rebuild even when the image matches the recipe.
        #[arg(long)]
        force: bool,
        /// auto, dockerfile or debootstrap.
        #[arg(long, default_value = "auto")]
        method: BuildMethod,
    },
}

#[derive(ClapArgs, Debug)]
struct ServeArgs {
    /// Where the database and the workspaces live.
    #[arg(long, env = "SANDBOXD_DATA_DIR", default_value = "/var/lib/sandboxd")]
    data_dir: PathBuf,
    /// API listener. Beyond loopback it requires --api-token.
    #[arg(long, env = "SANDBOXD_API_ADDR", default_value = "127.0.0.1:9090")]
    api_addr: SocketAddr,
    /// Bearer token the API requires (always, when set).
    #[arg(long, env = "SANDBOXD_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
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
    /// Do not install the iptables rule that keeps sandboxes off the host's own ports.
    #[arg(long)]
    no_host_guard: bool,
}

#[derive(ClapArgs, Debug)]
struct UninstallArgs {
    /// The installation to remove (as given to `serve --instance`).
    #[arg(long, env = "SANDBOXD_INSTANCE", default_value = "default")]
    instance: String,
    /// Its data dir (as given to `serve --data-dir`).
    #[arg(long, env = "SANDBOXD_DATA_DIR", default_value = "/var/lib/sandboxd")]
    data_dir: PathBuf,
    /// Also delete the data dir: the database and every workspace. Needs --yes.
    #[arg(long)]
    purge_data: bool,
    /// Confirm --purge-data.
    #[arg(long, requires = "purge_data")]
    yes: bool,
}

async fn run_uninstall(a: UninstallArgs) -> Result<i32> {
    if a.purge_data && !a.yes {
        anyhow::bail!(
            "--purge-data deletes {} with every workspace in it; add --yes to confirm",
            a.data_dir.display()
        );
    }
    let u = crate::uninstall::Uninstall {
        instance: a.instance,
        data_dir: a.data_dir,
        purge_data: a.purge_data,
    };
    let removed = crate::uninstall::run(&u).await?;
    println!(
        "removed {} container(s), network sandboxd-{} and its host-guard rules",
        removed.containers.len(),
        u.instance
    );
    match (u.purge_data, removed.data_dir) {
        (true, true) => println!("deleted {}", u.data_dir.display()),
        (true, false) => println!(
            "deleted sandboxd's state and workspaces; kept {} (it holds other files)",
            u.data_dir.display()
        ),
        (false, _) => println!(
            "kept {} (a later serve recreates sandboxes from it)",
            u.data_dir.display()
        ),
    }
    Ok(0)
}

/// The whole program: parse `args` (argv, program name first; clap prints usage and exits on a
/// bad command line), set up logging to stderr (`SANDBOXD_LOG`, default `info`), run the
/// subcommand and return the process exit code.
pub async fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = Args::parse_from(args);
    init_logging();
    match dispatch(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sandboxd: {e:#}");
            1
        }
    }
}

/// Log to stderr, filtered by `SANDBOXD_LOG` (default `info`). Call once per process.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDBOXD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

async fn dispatch(args: Args) -> Result<i32> {
    match args.cmd {
        Cmd::Serve(a) => run_serve(a).await,
        Cmd::Image {
            cmd: ImageCmd::Build { force, method },
        } => {
            let docker = bollard::Docker::connect_with_local_defaults()?
                .negotiate_version()
                .await
                .context("connecting to the Docker engine")?;
            let opts = DefaultImageOptions {
                force,
                method,
                ..Default::default()
            };
            let progress = |line: &str| eprintln!("{line}");
            let image = ensure_default_image(&docker, &opts, &progress).await?;
            println!("{}", image.tag);
            Ok(0)
        }
        Cmd::Bench { args } => {
            eprintln!(
                "sandboxd: the bench is its own binary now (it embeds the test fixture, which \
                 this one does not); run: cargo run --release -p sandboxd-bench -- {}",
                args.join(" ")
            );
            Ok(2)
        }
        Cmd::Uninstall(a) => run_uninstall(a).await,
        Cmd::Client(c) => c.run().await,
    }
}

async fn run_serve(a: ServeArgs) -> Result<i32> {
    let mut cfg = ServeConfig::defaults();
    cfg.data_dir = a.data_dir;
    cfg.api_addr = a.api_addr;
    cfg.api_token = a.api_token;
    cfg.instance = a.instance;
    cfg.preview_domain = a.preview_domain;
    cfg.preview_scheme = a.preview_scheme;
    cfg.preview_addr = a.preview_addr;
    cfg.preview_url_port = a.preview_port;
    cfg.preview_tls = a.preview_tls_cert.zip(a.preview_tls_key);
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
    cfg.host_guard = !a.no_host_guard;
    let running = serve::start(cfg).await?;
    eprintln!(
        "sandboxd: API on http://{}, previews on http://s-<id>-<port>.<domain> via {}",
        running.api_addr, running.preview_addr
    );
    wait_for_signal().await;
    eprintln!("sandboxd: shutting down (sandboxes keep running)");
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
