//! The metrics every part of sandboxd reports, in one registry rendered as Prometheus text
//! (OpenMetrics 1.0, which Prometheus scrapes natively). The rule this crate owns: every family
//! and every label value is declared here, typed, so a metric cannot be misspelled at a call site
//! and `GET /metrics` always lists every family (at zero before the first event). Hot paths (the
//! preview proxy) hold pre-resolved counters: recording is one atomic add, no label lookup.

mod labels;
mod workspaces;

pub use labels::{EngineErrorKind, Op, Outcome, ReconcileAction, RefusalReason, StatusClass};
pub use workspaces::{WorkspaceMetrics, WorkspaceTotals};

use labels::{ClassLabels, ErrorLabels, OpLabels, ReconcileLabels, RefusalLabels, StatusLabels};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The sandbox statuses the `sandboxd_sandboxes` gauge reports (deleted ones are not counted).
pub const STATUSES: [&str; 5] = ["creating", "running", "frozen", "stopped", "error"];

pub struct Metrics {
    registry: Registry,
    lifecycle: Family<OpLabels, Counter>,
    create_seconds: Histogram,
    wake_seconds: Histogram,
    sandboxes: Family<StatusLabels, Gauge>,
    reconcile: Family<ReconcileLabels, Counter>,
    admission_refusals: Counter,
    admission_evictions: Counter,
    engine_errors: Family<ErrorLabels, Counter>,
    api_requests: Family<ClassLabels, Counter>,
    port_waiters: Counter,
    wake_throttled: Counter,
    egress_denied: Counter,
    audit_dropped: Counter,
    /// The preview proxy's counters, resolved once.
    pub proxy: ProxyMetrics,
    /// Workspace usage, set at scrape time.
    pub workspaces: WorkspaceMetrics,
}

/// Counters the preview proxy updates per request, pre-resolved per status class.
#[derive(Clone)]
pub struct ProxyMetrics {
    requests: [Counter; 5],
    bytes: [Counter; 5],
    open_connections: Gauge,
    refused: [Counter; 2],
}

impl ProxyMetrics {
    /// One proxied request answered with `status` (sandboxd's own error pages included).
    pub fn request(&self, status: u16) {
        self.requests[StatusClass::of(status).index()].inc();
    }

    /// The counter of response bytes sent for answers of `status`.
    pub fn bytes_counter(&self, status: u16) -> Counter {
        self.bytes[StatusClass::of(status).index()].clone()
    }

    /// A preview connection was accepted; the guard counts it until dropped.
    pub fn connection(&self) -> ConnectionCount {
        self.open_connections.inc();
        ConnectionCount(self.open_connections.clone())
    }

    /// A connection was closed at once, unserved.
    pub fn refused(&self, reason: RefusalReason) {
        self.refused[reason.index()].inc();
    }
}

/// Keeps one preview connection counted as open.
pub struct ConnectionCount(Gauge);

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let lifecycle = Family::<OpLabels, Counter>::default();
        registry.register(
            "sandboxd_lifecycle",
            "Lifecycle operations by kind (create, start, stop, delete, wake, reap) and outcome",
            lifecycle.clone(),
        );
        // 5 ms … ~80 s.
        let buckets = || exponential_buckets(0.005, 2.0, 15);
        let create_seconds = Histogram::new(buckets());
        registry.register(
            "sandboxd_create_duration_seconds",
            "Time to create a sandbox and start it (successful creates)",
            create_seconds.clone(),
        );
        let wake_seconds = Histogram::new(buckets());
        registry.register(
            "sandboxd_wake_duration_seconds",
            "Time to start a stopped sandbox on a request until its container runs (successful wakes)",
            wake_seconds.clone(),
        );
        let sandboxes = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "sandboxd_sandboxes",
            "Sandboxes by status, as stored",
            sandboxes.clone(),
        );
        let reconcile = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "sandboxd_reconcile_actions",
            "Corrections the reconciler made, by kind",
            reconcile.clone(),
        );
        let audit_dropped = Counter::default();
        registry.register(
            "sandboxd_audit_dropped",
            "Audit records dropped because the audit writer fell behind",
            audit_dropped.clone(),
        );
        let admission_refusals = Counter::default();
        registry.register(
            "sandboxd_admission_refusals",
            "Creates and wakes refused for lack of host memory",
            admission_refusals.clone(),
        );
        let admission_evictions = Counter::default();
        registry.register(
            "sandboxd_admission_evictions",
            "Idle sandboxes stopped to free memory for a create or wake",
            admission_evictions.clone(),
        );
        let engine_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "sandboxd_engine_errors",
            "Failed calls to the container engine, by kind",
            engine_errors.clone(),
        );
        let api_requests = Family::<ClassLabels, Counter>::default();
        registry.register(
            "sandboxd_api_requests",
            "API requests answered, by status class",
            api_requests.clone(),
        );
        let proxy_requests = Family::<ClassLabels, Counter>::default();
        registry.register(
            "sandboxd_proxy_requests",
            "Preview requests answered, by status class",
            proxy_requests.clone(),
        );
        let proxy_bytes = Family::<ClassLabels, Counter>::default();
        registry.register(
            "sandboxd_proxy_response_bytes",
            "Response body bytes sent to preview clients, by status class",
            proxy_bytes.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "sandboxd_proxy_open_connections",
            "Preview connections open now",
            open_connections.clone(),
        );
        let refused = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "sandboxd_proxy_refused_connections",
            "Preview connections closed at once because a connection cap was reached, by cap",
            refused.clone(),
        );
        let port_waiters = Counter::default();
        registry.register(
            "sandboxd_wake_port_waiters",
            "Port waits started during wakes (one per sandbox and port, shared by its requests)",
            port_waiters.clone(),
        );
        let wake_throttled = Counter::default();
        registry.register(
            "sandboxd_wake_throttled",
            "Wakes refused because the sandbox's recent wakes failed too often",
            wake_throttled.clone(),
        );
        let per_class = |f: &Family<ClassLabels, Counter>| {
            StatusClass::ALL.map(|class| f.get_or_create(&ClassLabels { class }).clone())
        };
        let egress_denied = Counter::default();
        registry.register(
            "sandboxd_egress_denied_packets",
            "Packets from sandboxes dropped by the egress rules (closed ranges and policies)",
            egress_denied.clone(),
        );
        let workspaces = WorkspaceMetrics::register(&mut registry);
        let m = Metrics {
            workspaces,
            egress_denied,
            audit_dropped,
            proxy: ProxyMetrics {
                requests: per_class(&proxy_requests),
                bytes: per_class(&proxy_bytes),
                open_connections,
                refused: RefusalReason::ALL
                    .map(|reason| refused.get_or_create(&RefusalLabels { reason }).clone()),
            },
            registry,
            lifecycle,
            create_seconds,
            wake_seconds,
            sandboxes,
            reconcile,
            admission_refusals,
            admission_evictions,
            engine_errors,
            api_requests,
            port_waiters,
            wake_throttled,
        };
        m.declare_all();
        m
    }

    /// Create every labelled series at zero, so a scrape lists them before the first event.
    fn declare_all(&self) {
        for op in Op::ALL {
            for outcome in [Outcome::Ok, Outcome::Error] {
                drop(self.lifecycle.get_or_create(&OpLabels { op, outcome }));
            }
        }
        for status in STATUSES {
            drop(self.sandboxes.get_or_create(&StatusLabels {
                status: status.to_string(),
            }));
        }
        for action in ReconcileAction::ALL {
            drop(self.reconcile.get_or_create(&ReconcileLabels { action }));
        }
        for kind in EngineErrorKind::ALL {
            drop(self.engine_errors.get_or_create(&ErrorLabels { kind }));
        }
        for class in StatusClass::ALL {
            drop(self.api_requests.get_or_create(&ClassLabels { class }));
        }
    }

    pub fn lifecycle(&self, op: Op, outcome: Outcome) {
        self.lifecycle
            .get_or_create(&OpLabels { op, outcome })
            .inc();
    }

    pub fn create_duration(&self, d: Duration) {
        self.create_seconds.observe(d.as_secs_f64());
    }

    pub fn wake_duration(&self, d: Duration) {
        self.wake_seconds.observe(d.as_secs_f64());
    }

    /// Set the number of sandboxes in `status` (one of [`STATUSES`]).
    pub fn set_sandboxes(&self, status: &str, n: i64) {
        self.sandboxes
            .get_or_create(&StatusLabels {
                status: status.to_string(),
            })
            .set(n);
    }

    pub fn reconciled(&self, action: ReconcileAction) {
        self.reconcile
            .get_or_create(&ReconcileLabels { action })
            .inc();
    }

    /// The runtime's running total of denied egress packets (read at scrape time); the counter
    /// only ever moves up to it.
    pub fn egress_denied_total(&self, total: u64) {
        let seen = self.egress_denied.get();
        if total > seen {
            self.egress_denied.inc_by(total - seen);
        }
    }

    /// An audit record was dropped (the writer's queue was full).
    pub fn audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    pub fn admission_refused(&self) {
        self.admission_refusals.inc();
    }

    pub fn admission_evicted(&self) {
        self.admission_evictions.inc();
    }

    pub fn engine_error(&self, kind: EngineErrorKind) {
        self.engine_errors
            .get_or_create(&ErrorLabels { kind })
            .inc();
    }

    pub fn api_request(&self, status: u16) {
        let class = StatusClass::of(status);
        self.api_requests
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// A wake started waiting for a sandbox's port (shared by every request for that port).
    pub fn port_waiter(&self) {
        self.port_waiters.inc();
    }

    /// A wake was refused by the per-sandbox wake rate limit.
    pub fn wake_throttled(&self) {
        self.wake_throttled.inc();
    }

    /// The whole registry as OpenMetrics text ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail (fmt::Write for String is infallible).
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests;
