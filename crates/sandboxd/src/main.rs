//! The `sandboxd` binary: `serve` runs the control plane, `image build` builds the default image,
//! and the remaining subcommands are a thin client of the HTTP API.

mod cli;

use anyhow::Result;
use clap::Parser;

#[tokio::main]
async fn main() {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDBOXD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sandboxd: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

async fn run(args: cli::Args) -> Result<i32> {
    cli::dispatch(args).await
}
