//! The lifecycle engine: the one place that changes a sandbox. API handlers hand it typed
//! commands; it serializes them per sandbox, writes desired state to the store first, drives the
//! runtime, and cleans up after itself on every failure path. The reconciler converges the
//! runtime to the store in the background. It speaks to the runtime only through the typed
//! [`Runtime`] boundary (specs, states, events, workspaces), so it runs as well on the in-memory
//! fake of its unit tests as on Docker.

mod access;
mod activity;
mod admission;
mod agent;
pub mod clock;
mod config;
pub mod container;
mod describe;
mod error;
mod exec;
pub mod installation;
mod ladder;
mod lifecycle;
mod lifetime;
mod locks;
pub mod memory;
mod netcheck;
mod observe;
mod previews;
mod reaper;
pub mod reconcile;
mod sessions;
mod status;
pub mod tasks;
mod wake;

#[cfg(test)]
mod tests;

pub use access::new_api_key;
pub use activity::{
    ActivityReport, ActivitySource, ActivityView, ConnectionGuard, Route, SessionGuard, SessionKind,
};
pub use agent::AgentEndpoint;
pub use config::EngineConfig;
pub use describe::{ContainerState, Description, LiveState, SandboxQuery};
pub use error::EngineError;
pub use exec::{ExecCommand, ExecResult, MAX_CONCURRENT_EXECS};
pub use lifecycle::LeaseRequest;
pub use lifetime::EndChange;
pub use previews::{new_preview_key, MintedToken, PreviewGate};
/// The port every sandbox's agent listens on (the preview proxy gates it).
pub use sandboxd_runtime::AGENT_PORT;
pub use sandboxd_store::{AuditEntry, AuditQuery, AuditRecord, KeyRecord};
pub use wake::WakeTarget;

use activity::Activity;
use clock::Clock;
use locks::SandboxLocks;
use sandboxd_core::{Sandbox, SandboxId};
use sandboxd_runtime::{LogLine, Runtime};
use sandboxd_store::Store;
use std::sync::Arc;

/// Cheap to clone: every clone drives the same engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: EngineConfig,
    store: Store,
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    locks: SandboxLocks,
    /// The secret container names are hashed with (see [`container::NameKey`]).
    name_key: container::NameKey,
    /// Set while the network guard is missing and cannot be restored (see `netcheck`).
    network_problem: std::sync::Mutex<Option<String>>,
    activity: Arc<Activity>,
    memory: Arc<dyn memory::HostMemory>,
    exec_slots: Arc<exec::ExecSlots>,
    /// The one pooled client of every sandbox's agent.
    agent: sandboxd_agent_client::AgentClient,
    /// Sandboxes whose exec fell back to `docker exec`, with the start (ms) it was logged for.
    agent_warned: std::sync::Mutex<std::collections::HashMap<SandboxId, Option<i64>>>,
    metrics: Arc<sandboxd_metrics::Metrics>,
    /// Detached work (lifecycle actions that outlive their request, wakes, event reconciles):
    /// shutdown closes it and waits for it.
    tasks: tokio_util::task::TaskTracker,
    /// Preview mode and key of live sandboxes, for the proxy (see `previews`).
    previews: previews::PreviewGates,
    /// Port waits in progress during wakes, one per (sandbox, port, container start).
    port_waits: wake::PortWaits,
    /// Recent failed wakes per sandbox (the wake rate limit).
    wake_throttle: wake::WakeThrottle,
    /// Bumped on every stored task change (event streams wait on it).
    task_updates: tokio::sync::watch::Sender<u64>,
    /// Cancelled when sandboxd shuts down (task collectors stop, leaving their tasks running).
    shutdown: tokio_util::sync::CancellationToken,
}

impl Engine {
    /// Run work that must finish even if whoever asked for it goes away (a lifecycle action
    /// whose client disconnected, a wake, an event's reconcile), in the caller's tracing span,
    /// tracked so that shutdown can wait for it.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        use tracing::Instrument;
        self.inner.tasks.spawn(work.in_current_span())
    }

    /// Stop accepting detached work and wait (at most `limit`) for what runs; returns whether
    /// everything finished.
    pub async fn drain(&self, limit: std::time::Duration) -> bool {
        self.inner.tasks.close();
        self.inner.shutdown.cancel();
        tokio::time::timeout(limit, self.inner.tasks.wait())
            .await
            .is_ok()
    }

    /// Claim the data dir, open the store, have the runtime install our binaries, make sure the
    /// network exists (the runtime refuses an instance another installation owns).
    pub async fn start(
        cfg: EngineConfig,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        memory: Arc<dyn memory::HostMemory>,
    ) -> Result<Self, EngineError> {
        // Creates the data dir private; the binary claims it (and hands the runtime the
        // installation id) before connecting, this repeats the cheap part for other callers.
        installation::claim(&cfg.data_dir, &cfg.instance)?;
        let store = Store::open(&cfg.db_path())?;
        let name_key = container::NameKey::load_or_create(&cfg.data_dir).map_err(|e| {
            EngineError::Internal(format!(
                "{}: {e}",
                container::NameKey::path_in(&cfg.data_dir).display()
            ))
        })?;
        runtime.prepare().await?;
        runtime.ensure_network().await?;
        installation::record_instance(&cfg.data_dir, &cfg.instance)?;
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                store,
                runtime,
                activity: Arc::new(Activity::new(clock.clone())),
                clock,
                locks: SandboxLocks::default(),
                name_key,
                network_problem: Default::default(),
                memory,
                exec_slots: Default::default(),
                agent: sandboxd_agent_client::AgentClient::new(),
                agent_warned: Default::default(),
                metrics: Arc::new(sandboxd_metrics::Metrics::new()),
                tasks: tokio_util::task::TaskTracker::new(),
                previews: Default::default(),
                port_waits: Default::default(),
                wake_throttle: Default::default(),
                task_updates: tokio::sync::watch::Sender::new(0),
                shutdown: Default::default(),
            }),
        })
    }

    /// The pooled client sandboxd reaches agents with (see [`Engine::agent`] for where).
    pub fn agent_client(&self) -> &sandboxd_agent_client::AgentClient {
        &self.inner.agent
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.cfg
    }

    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The sandbox as stored (tombstones included: callers decide how to show them).
    pub async fn get(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        self.inner
            .store
            .get(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(id.clone()))
    }

    /// A sandbox that still exists: tombstones are `Gone`.
    pub async fn get_live(&self, id: &SandboxId) -> Result<Sandbox, EngineError> {
        let sb = self.get(id).await?;
        if !sb.status.is_live() {
            return Err(EngineError::Gone(id.clone()));
        }
        Ok(sb)
    }

    /// What init and the sandbox's processes printed.
    pub async fn logs(&self, id: &SandboxId, tail: usize) -> Result<Vec<LogLine>, EngineError> {
        let sb = self.get_live(id).await?;
        match self
            .inner
            .runtime
            .logs(&self.container_name(&sb.id), tail)
            .await
        {
            Ok(lines) => Ok(lines),
            Err(sandboxd_runtime::RuntimeError::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Store and engine reachable, network guard in place.
    pub async fn check_ready(&self) -> Result<(), EngineError> {
        self.inner.store.ping().await?;
        self.inner.runtime.ping().await?;
        self.network_problem()
    }

    /// The engine name of a sandbox's container.
    pub fn container_name(&self, id: &SandboxId) -> String {
        container::name(&self.inner.name_key, &self.inner.cfg.instance, id.as_str())
    }
}
