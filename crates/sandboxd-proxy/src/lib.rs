//! The preview proxy. A request whose Host is `s-<id>-<port>.<preview-domain>` (or E2B's
//! `<port>-<id>.<preview-domain>`, or E2B's routing headers, see [`target`]) goes to that port
//! of that sandbox; nothing else is served here (the API never listens on this port). Each client
//! connection keeps its own upstream keep-alive connection ([`upstream`]). Bodies stream both
//! ways, upgrades (WebSocket) are tunnelled, the agent port answers only requests that carry the
//! sandbox's token ([`agent_gate`]), private sandboxes answer only requests with a preview token
//! ([`preview_gate`]), and a stopped sandbox is woken and the
//! original request forwarded once its port accepts connections.

mod agent_gate;
mod body;
mod e2b;
mod forward;
mod handle;
mod headers;
pub mod limits;
mod pages;
mod preview_gate;
mod server;
mod target;
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
    /// How the listener treats slow and numerous clients.
    pub listener: ListenerLimits,
}

/// Timeouts and caps of the preview listener.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// A client must send a request's whole header within this time, counted from when the
    /// connection starts waiting for it (so it also closes idle keep-alive connections).
    pub header_timeout: Duration,
    /// A TLS client must finish its handshake within this time.
    pub tls_handshake_timeout: Duration,
    /// Connections open at once, all clients together.
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv6: one /64).
    pub max_connections_per_client: u32,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_client: 256,
        }
    }
}

/// Shared by every connection.
pub struct Proxy {
    pub(crate) engine: Engine,
    pub(crate) cfg: ProxyConfig,
    /// Cancelled when the listener stops: ends upgraded tunnels, which outlive their request.
    pub(crate) closing: tokio_util::sync::CancellationToken,
    /// Pre-resolved counters (one atomic add per request).
    pub(crate) metrics: sandboxd_metrics::ProxyMetrics,
    /// The connection caps (touched per connection, never per request).
    pub(crate) limits: std::sync::Arc<limits::ConnLimits>,
}

impl Proxy {
    pub fn new(engine: Engine, cfg: ProxyConfig) -> Self {
        let limits = limits::ConnLimits::new(
            cfg.listener.max_connections,
            cfg.listener.max_connections_per_client,
        );
        Self {
            metrics: engine.metrics().proxy.clone(),
            limits,
            engine,
            cfg,
            closing: tokio_util::sync::CancellationToken::new(),
        }
    }
}
