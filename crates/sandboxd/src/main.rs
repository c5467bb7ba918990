//! The `sandboxd` binary: everything it does is [`sandboxd::cli::main`], kept in the library so
//! `sandboxd-bench` can start the very same `serve` as its child.

#[tokio::main]
async fn main() {
    let code = sandboxd::cli::main(std::env::args_os()).await;
    std::process::exit(code);
}
