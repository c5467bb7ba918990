//! Command-line surface of the `sandboxd` binary: `serve` runs the control plane, `image build`
//! builds the default image, and the remaining subcommands are a thin client of the HTTP API.
//! Each subcommand maps to one library call (serve, image build, uninstall) or one API request
//! (the client commands); flags carry the embedded defaults shown by `--help`.

mod client;
mod follow;
mod keys;
mod serve;
mod terminal;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Parser, Subcommand};
use sandboxd_image::{ensure_default_image, BuildMethod, DefaultImageOptions, Flavor};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "sandboxd",
    version,
    about = "Isolated dev sandboxes with preview URLs on one Docker host"
)]
struct Args {
    /// Log lines as text or as one JSON object per line (auto: text on a terminal, else JSON).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "SANDBOXD_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the control plane (API, reconciler) on its embedded defaults.
    Serve(Box<serve::ServeArgs>),
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
        /// base (Node LTS, pnpm, bun, uv) or agents (base plus Claude Code, OpenCode, Codex,
        /// Aider).
        #[arg(long, default_value = "agents")]
        flavor: Flavor,
    },
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
    init_logging(args.log_format);
    match dispatch(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sandboxd: {e:#}");
            1
        }
    }
}

/// Log to stderr, filtered by `SANDBOXD_LOG` (default `info`). Call once per process. JSON
/// lines carry the fields of the spans a line happened in (the API's and the proxy's
/// `request_id` among them).
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SANDBOXD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init();
    } else {
        builder.init();
    }
}

async fn dispatch(args: Args) -> Result<i32> {
    match args.cmd {
        Cmd::Serve(a) => serve::run_serve(*a).await,
        Cmd::Image {
            cmd:
                ImageCmd::Build {
                    force,
                    method,
                    flavor,
                },
        } => {
            let docker = bollard::Docker::connect_with_local_defaults()?
                .negotiate_version()
                .await
                .context("connecting to the Docker engine")?;
            let opts = DefaultImageOptions {
                force,
                method,
                flavor,
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
