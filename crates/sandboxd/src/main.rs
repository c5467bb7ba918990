//! The `sandboxd` binary: `serve` runs the control plane, `image build` builds the default image,
//! and the remaining subcommands are a thin client of the HTTP API.

mod cli;

use anyhow::Result;
use clap::Parser;

#[tokio::main]
async fn main() {
    let args = cli::Args::parse();
    init_logging(args.log_format);
    let code = match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sandboxd: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

/// Log to stderr, filtered by `SANDBOXD_LOG` (default `info`). JSON lines carry the fields of
/// the spans a line happened in (the API's and the proxy's `request_id` among them).
fn init_logging(format: cli::LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SANDBOXD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match format {
        cli::LogFormat::Json => true,
        cli::LogFormat::Text => false,
        cli::LogFormat::Auto => !std::io::stderr().is_terminal(),
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

async fn run(args: cli::Args) -> Result<i32> {
    cli::dispatch(args).await
}
