//! sandboxd-agent binary: reads the access token from stdin (one line, then
//! EOF — never from the environment, so no process the agent starts inherits
//! it) and serves on `SANDBOXD_AGENT_LISTEN` (default `0.0.0.0:49983`). See
//! the library for what is served.

use std::io::Read;
use std::net::SocketAddr;

/// Longest token line read from stdin.
const MAX_TOKEN: u64 = 256;

fn main() {
    let token = read_token();
    if token.is_none() {
        eprintln!("sandboxd-agent: no access token on stdin; serving /health only");
    }
    let default = format!("0.0.0.0:{}", sandboxd_agent::PORT);
    let listen = std::env::var("SANDBOXD_AGENT_LISTEN").unwrap_or(default);
    let addr: SocketAddr = match listen.parse() {
        Ok(addr) => addr,
        Err(err) => fatal(&format!("bad SANDBOXD_AGENT_LISTEN {listen:?}: {err}")),
    };
    if let Err(err) = sandboxd_agent::run(addr, token) {
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
