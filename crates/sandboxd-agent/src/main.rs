//! sandboxd-agent: runs inside every sandbox as the sandbox user, started and
//! supervised by sandboxd-init, and serves E2B's envd protocol (Connect v1,
//! JSON codec) on TCP 49983: processes and terminals (`process.Process`),
//! files (`filesystem.Filesystem`, `/files`), `/init` and `/health`.
//!
//! Rule: the access token arrives on stdin (one line, then EOF) and never
//! through the environment, so no process the agent starts inherits it;
//! every request except `GET /health` must carry it (see `server`).
//! Everything the agent touches it touches as the sandbox user, from inside
//! the sandbox, so no host path is ever resolved for a sandbox's file.

// The services that use all of the protocol layer land next (issue 8).
#[allow(dead_code)]
mod connect;
mod files;
mod filesystem;
mod init;
mod process;
#[allow(dead_code)]
mod proto;
mod server;
#[allow(dead_code)]
mod state;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;

/// The port E2B's SDKs and sandboxd call the agent on.
const DEFAULT_LISTEN: &str = "0.0.0.0:49983";
/// Longest token line read from stdin.
const MAX_TOKEN: u64 = 256;

fn main() {
    let token = read_token();
    if token.is_none() {
        eprintln!("sandboxd-agent: no access token on stdin; serving /health only");
    }
    let listen = std::env::var("SANDBOXD_AGENT_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.into());
    let addr: SocketAddr = match listen.parse() {
        Ok(addr) => addr,
        Err(err) => fatal(&format!("bad SANDBOXD_AGENT_LISTEN {listen:?}: {err}")),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build()
    {
        Ok(rt) => rt,
        Err(err) => fatal(&format!("cannot start the runtime: {err}")),
    };
    let agent = Arc::new(state::Agent::new(token, state::Identity::current()));
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        server::serve(listener, agent).await
    });
    if let Err(err) = result {
        fatal(&format!("cannot serve on {addr}: {err}"));
    }
}

/// The first line of stdin, trimmed; `None` when empty.
fn read_token() -> Option<String> {
    let mut raw = String::new();
    let _ = std::io::stdin().take(MAX_TOKEN).read_to_string(&mut raw);
    let token = raw.lines().next().unwrap_or("").trim().to_string();
    (!token.is_empty()).then_some(token)
}

fn fatal(message: &str) -> ! {
    eprintln!("sandboxd-agent: {message}");
    std::process::exit(1);
}
