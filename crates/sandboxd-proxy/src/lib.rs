//! The preview proxy. A request whose Host is `s-<id>-<port>.<preview-domain>` goes to that port
//! of that sandbox; nothing else is served here (the API never listens on this port). Bodies
//! stream both ways, upgrades (WebSocket) are tunnelled, and a stopped sandbox is woken and the
//! original request forwarded once its port accepts connections.

mod body;
mod forward;
mod handle;
mod headers;
mod pages;
mod server;
pub mod tls;
mod upgrade;
mod upstream;

pub use server::serve;

use sandboxd_engine::Engine;
use std::time::Duration;

/// Proxy settings.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Preview domain (`preview.localhost`).
    pub domain: String,
    /// Whether this listener terminates TLS (sets `X-Forwarded-Proto`).
    pub https: bool,
    /// How long a browser navigation waits before it gets the waking page.
    pub browser_wait: Duration,
}

/// Shared by every connection.
pub struct Proxy {
    pub(crate) engine: Engine,
    pub(crate) cfg: ProxyConfig,
}

impl Proxy {
    pub fn new(engine: Engine, cfg: ProxyConfig) -> Self {
        Self { engine, cfg }
    }
}
