//! The `sandboxd-bench` binary: `sandboxd-bench [--quick] [--json FILE] ...` runs the bench
//! (see the library and docs/benchmarks.md). `sandboxd-bench serve ...` is the bench's child:
//! it is `sandboxd serve ...`, the very same `sandboxd::cli::main`, so one `cargo run -p
//! sandboxd-bench` builds everything the bench starts.

use clap::Parser;
use sandboxd_bench::BenchArgs;

#[derive(Parser, Debug)]
#[command(
    name = "sandboxd-bench",
    version,
    about = "Measure sandboxd beside the raw Docker Engine API (see docs/benchmarks.md)"
)]
struct Args {
    #[command(flatten)]
    bench: BenchArgs,
}

#[tokio::main]
async fn main() {
    let code = if std::env::args_os().nth(1).is_some_and(|a| a == "serve") {
        sandboxd::cli::main(std::env::args_os()).await
    } else {
        let args = Args::parse();
        sandboxd::cli::init_logging(sandboxd::cli::LogFormat::Text);
        match sandboxd_bench::run(args.bench).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("sandboxd-bench: {e:#}");
                1
            }
        }
    };
    std::process::exit(code);
}
