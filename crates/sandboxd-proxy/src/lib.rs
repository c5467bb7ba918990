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

pub use server::serve;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
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
    pub(crate) client: Client<HttpConnector, hyper::body::Incoming>,
    /// Cancelled when the listener stops: ends upgraded tunnels, which outlive their request.
    pub(crate) closing: tokio_util::sync::CancellationToken,
    /// Pre-resolved counters (one atomic add per request).
    pub(crate) metrics: sandboxd_metrics::ProxyMetrics,
}

impl Proxy {
    pub fn new(engine: Engine, cfg: ProxyConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self {
            metrics: engine.metrics().proxy.clone(),
            engine,
            cfg,
            client,
            closing: tokio_util::sync::CancellationToken::new(),
        }
    }
}
