//! sandboxd-agent (library half): runs inside every sandbox as the sandbox user, started and
//! supervised by sandboxd-init, and serves E2B's envd protocol (Connect v1,
//! JSON codec) on TCP 49983: processes and terminals (`process.Process`),
//! files (`filesystem.Filesystem`, `/files`, `/archive` tar streams),
//! `/init` and `/health`.
//!
//! Rule: the access token arrives on stdin (one line, then EOF) and never
//! through the environment, so no process the agent starts inherits it;
//! every request except `GET /health` must carry it (see `server`).
//! Everything the agent touches it touches as the sandbox user, from inside
//! the sandbox, so no host path is ever resolved for a sandbox's file.

//!
//! The library exposes the envd message types and the envelope codec so that
//! sandboxd's client of the agent speaks exactly the same messages; the
//! binary (`main.rs`) only reads the token and serves.

mod archive;
pub mod connect;
mod files;
mod filesystem;
mod init;
mod process;
pub mod proto;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

/// The port E2B's SDKs and sandboxd call the agent on.
pub const PORT: u16 = 49983;

/// Serves the agent on `addr` until the process ends (only startup errors return).
pub fn run(addr: SocketAddr, token: Option<String>) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        serve(listener, token).await
    })
}

/// Serves on an already bound listener (what `run` does after binding; also
/// how tests run an agent in-process).
pub async fn serve(
    listener: tokio::net::TcpListener,
    token: Option<String>,
) -> std::io::Result<()> {
    let agent = Arc::new(state::Agent::new(token, state::Identity::current()));
    server::serve(listener, agent).await
}
