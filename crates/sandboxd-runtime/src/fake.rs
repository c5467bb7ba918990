//! An in-memory [`Runtime`] for unit tests of the engine (feature `test-util`): containers,
//! workspaces and images are entries in a map, operations behave like Docker's (events included),
//! and a test can make any operation fail ([`FakeRuntime::fail`]), wait for it
//! ([`FakeRuntime::hold`]), or change a container behind the engine's back
//! ([`FakeRuntime::crash`], [`FakeRuntime::vanish`], [`FakeRuntime::plant`]).

mod control;

pub use control::{Call, Hold, Op};

use crate::{
    ContainerSpec, ContainerState, ContainerSummary, EventKind, ExecOutput, ExecRequest, LogLine,
    NetworkInfo, Runtime, RuntimeError, RuntimeEvent, Seed, StopSemantics, WorkspaceState,
};
use async_trait::async_trait;
use control::{take_failure, Failure};
use futures_util::stream::{self, BoxStream, StreamExt};
use sandboxd_core::SandboxId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// One container of the fake.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeContainer {
    pub sandbox: Option<SandboxId>,
    /// The spec it was created from (`None` when planted by a test).
    pub spec: Option<ContainerSpec>,
    pub state: ContainerState,
}

#[derive(Default)]
struct World {
    images: BTreeSet<String>,
    containers: BTreeMap<String, FakeContainer>,
    /// Workspaces and whether each was seeded.
    workspaces: BTreeMap<SandboxId, bool>,
    failures: HashMap<Op, Failure>,
    holds: HashMap<Op, Arc<Hold>>,
    calls: Vec<Call>,
    subscribers: Vec<mpsc::UnboundedSender<RuntimeEvent>>,
    next_ip: u8,
    exec_output: ExecOutput,
}

pub struct FakeRuntime {
    semantics: StopSemantics,
    world: Mutex<World>,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new(StopSemantics::KeepsContainer)
    }
}

fn not_found(what: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("No such container: {what}"))
}

impl FakeRuntime {
    pub fn new(semantics: StopSemantics) -> Self {
        FakeRuntime {
            semantics,
            world: Mutex::new(World::default()),
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // Plain data: a panicking test thread cannot leave it half-changed in a way that matters.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record a call, wait at its hold if any, then fail it if a failure is injected.
    async fn enter(&self, op: Op, target: &str) -> Result<(), RuntimeError> {
        let hold = {
            let mut w = self.world();
            w.calls.push(Call {
                op,
                target: target.to_string(),
            });
            w.holds.get(&op).cloned()
        };
        if let Some(h) = hold {
            h.pass().await;
        }
        match take_failure(&mut self.world().failures, op) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn emit_locked(w: &mut World, container: &str, sandbox: Option<SandboxId>, kind: EventKind) {
        let ev = RuntimeEvent {
            container: container.to_string(),
            sandbox,
            kind,
        };
        w.subscribers.retain(|s| s.send(ev.clone()).is_ok());
    }

    // ---- test controls ----

    pub fn add_image(&self, image: &str) {
        self.world().images.insert(image.to_string());
    }

    /// The next `times` calls of `op` fail with `error` (`None`: every call, until cleared).
    pub fn fail(&self, op: Op, error: RuntimeError, times: Option<u32>) {
        let f = Failure {
            error,
            remaining: times,
        };
        self.world().failures.insert(op, f);
    }

    pub fn clear_failure(&self, op: Op) {
        self.world().failures.remove(&op);
    }

    /// Make calls of `op` wait for [`Hold::release`]; returns the hold.
    pub fn hold(&self, op: Op) -> Arc<Hold> {
        let h = Hold::new();
        self.world().holds.insert(op, h.clone());
        h
    }

    /// Stop holding new calls of `op` (held ones still wait for their release).
    pub fn unhold(&self, op: Op) {
        self.world().holds.remove(&op);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: Op) -> usize {
        self.world().calls.iter().filter(|c| c.op == op).count()
    }

    pub fn clear_calls(&self) {
        self.world().calls.clear();
    }

    pub fn container(&self, name: &str) -> Option<FakeContainer> {
        self.world().containers.get(name).cloned()
    }

    pub fn state(&self, name: &str) -> ContainerState {
        self.container(name)
            .map(|c| c.state)
            .unwrap_or(ContainerState::Absent)
    }

    pub fn running_count(&self) -> usize {
        let w = self.world();
        w.containers
            .values()
            .filter(|c| c.state.is_running())
            .count()
    }

    /// `Some(seeded)` when the sandbox has a workspace.
    pub fn workspace(&self, sandbox: &SandboxId) -> Option<bool> {
        self.world().workspaces.get(sandbox).copied()
    }

    /// Put a workspace in place (as a previous life of the sandbox would have left it).
    pub fn plant_workspace(&self, sandbox: &SandboxId) {
        self.world().workspaces.insert(sandbox.clone(), true);
    }

    /// Put a container in a state (or remove it, with `Absent`) without any event.
    pub fn plant(&self, name: &str, sandbox: Option<SandboxId>, state: ContainerState) {
        let mut w = self.world();
        if state == ContainerState::Absent {
            w.containers.remove(name);
            return;
        }
        w.containers.insert(
            name.to_string(),
            FakeContainer {
                sandbox,
                spec: None,
                state,
            },
        );
    }

    /// The container's process exits on its own (crash, OOM kill), as a `die` event says.
    pub fn crash(&self, name: &str, code: i64, oom: bool) {
        let mut w = self.world();
        let Some(c) = w.containers.get_mut(name) else {
            return;
        };
        c.state = ContainerState::Exited {
            code: Some(code),
            oom,
            error: None,
        };
        let sandbox = c.sandbox.clone();
        if oom {
            Self::emit_locked(&mut w, name, sandbox.clone(), EventKind::OutOfMemory);
        }
        Self::emit_locked(&mut w, name, sandbox, EventKind::Died);
    }

    /// The container is removed behind the engine's back.
    pub fn vanish(&self, name: &str) {
        let mut w = self.world();
        if let Some(c) = w.containers.remove(name) {
            Self::emit_locked(&mut w, name, c.sandbox, EventKind::Destroyed);
        }
    }

    /// Send an event to every open event stream.
    pub fn emit(&self, event: RuntimeEvent) {
        let mut w = self.world();
        w.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    /// End every open event stream (as a lost engine connection does).
    pub fn end_event_streams(&self) {
        self.world().subscribers.clear();
    }

    pub fn set_exec_output(&self, out: ExecOutput) {
        self.world().exec_output = out;
    }
}

#[async_trait]
impl Runtime for FakeRuntime {
    fn stop_semantics(&self) -> StopSemantics {
        self.semantics
    }

    async fn ping(&self) -> Result<(), RuntimeError> {
        self.enter(Op::Ping, "").await
    }

    async fn prepare(&self) -> Result<(), RuntimeError> {
        self.enter(Op::Prepare, "").await
    }

    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError> {
        self.enter(Op::EnsureNetwork, "").await?;
        Ok(NetworkInfo {
            name: "fake".into(),
            id: "fake".into(),
            gateway: None,
            host_guard: false,
        })
    }

    async fn remove_network(&self) -> Result<(), RuntimeError> {
        self.enter(Op::RemoveNetwork, "").await
    }

    async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        self.enter(Op::ImageExists, image).await?;
        Ok(self.world().images.contains(image))
    }

    async fn ensure_workspace(&self, sandbox: &SandboxId) -> Result<WorkspaceState, RuntimeError> {
        self.enter(Op::EnsureWorkspace, sandbox.as_str()).await?;
        let mut w = self.world();
        if w.workspaces.contains_key(sandbox) {
            return Ok(WorkspaceState::Existing);
        }
        w.workspaces.insert(sandbox.clone(), false);
        Ok(WorkspaceState::Fresh)
    }

    async fn seed_workspace(
        &self,
        sandbox: &SandboxId,
        seed: Seed<'_>,
    ) -> Result<(), RuntimeError> {
        self.enter(Op::SeedWorkspace, sandbox.as_str()).await?;
        let mut w = self.world();
        if let Seed::Skeleton { container } = seed {
            if !w.containers.contains_key(container) {
                return Err(not_found(container));
            }
        }
        match w.workspaces.get_mut(sandbox) {
            Some(seeded) => {
                *seeded = true;
                Ok(())
            }
            None => Err(RuntimeError::Storage(format!("no workspace for {sandbox}"))),
        }
    }

    async fn remove_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError> {
        self.enter(Op::RemoveWorkspace, sandbox.as_str()).await?;
        self.world().workspaces.remove(sandbox);
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<(), RuntimeError> {
        self.enter(Op::Create, &spec.name).await?;
        let mut w = self.world();
        if w.containers.contains_key(&spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "name {} already in use",
                spec.name
            )));
        }
        if !w.images.contains(&spec.image) {
            return Err(RuntimeError::NotFound(format!(
                "No such image: {}",
                spec.image
            )));
        }
        if !w.workspaces.contains_key(&spec.sandbox) {
            return Err(RuntimeError::Engine {
                status: 400,
                message: "bind source path does not exist".into(),
            });
        }
        let c = FakeContainer {
            sandbox: Some(spec.sandbox.clone()),
            spec: Some(spec.clone()),
            state: ContainerState::Created,
        };
        w.containers.insert(spec.name.clone(), c);
        Self::emit_locked(
            &mut w,
            &spec.name,
            Some(spec.sandbox.clone()),
            EventKind::Created,
        );
        Ok(())
    }

    async fn start(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Start, name).await?;
        let mut w = self.world();
        w.next_ip = w.next_ip.wrapping_add(1).max(2);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, w.next_ip));
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        match c.state {
            ContainerState::Running { .. } => return Ok(()),
            ContainerState::Removing => {
                return Err(RuntimeError::Conflict("removal in progress".into()))
            }
            _ => c.state = ContainerState::Running { addr: Some(ip) },
        }
        let sandbox = c.sandbox.clone();
        Self::emit_locked(&mut w, name, sandbox, EventKind::Started);
        Ok(())
    }

    async fn stop(&self, name: &str, _grace: Duration) -> Result<(), RuntimeError> {
        self.enter(Op::Stop, name).await?;
        let mut w = self.world();
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        let was_running = c.state.is_running();
        if was_running {
            c.state = ContainerState::Exited {
                code: Some(0),
                oom: false,
                error: None,
            };
        }
        let sandbox = c.sandbox.clone();
        if was_running {
            Self::emit_locked(&mut w, name, sandbox.clone(), EventKind::Died);
        }
        if self.semantics == StopSemantics::RemovesContainer {
            w.containers.remove(name);
            Self::emit_locked(&mut w, name, sandbox, EventKind::Destroyed);
        }
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Remove, name).await?;
        let mut w = self.world();
        if let Some(c) = w.containers.remove(name) {
            if c.state.is_running() {
                Self::emit_locked(&mut w, name, c.sandbox.clone(), EventKind::Died);
            }
            Self::emit_locked(&mut w, name, c.sandbox, EventKind::Destroyed);
        }
        Ok(())
    }

    async fn inspect(&self, name: &str) -> Result<ContainerState, RuntimeError> {
        self.enter(Op::Inspect, name).await?;
        Ok(self.state(name))
    }

    async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError> {
        self.enter(Op::List, "").await?;
        let w = self.world();
        Ok(w.containers
            .iter()
            .map(|(name, c)| ContainerSummary {
                name: name.clone(),
                sandbox: c.sandbox.clone(),
            })
            .collect())
    }

    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        self.enter(Op::Exec, &req.container).await?;
        if !self.state(&req.container).is_running() {
            return Err(RuntimeError::Conflict(format!(
                "container {} is not running",
                req.container
            )));
        }
        Ok(self.world().exec_output.clone())
    }

    async fn logs(&self, name: &str, _tail: usize) -> Result<Vec<LogLine>, RuntimeError> {
        self.enter(Op::Logs, name).await?;
        if !self.state(name).exists() {
            return Err(not_found(name));
        }
        Ok(Vec::new())
    }

    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.world().subscribers.push(tx);
        stream::unfold(rx, |mut rx| async move {
            let ev = rx.recv().await?;
            Some((Ok(ev), rx))
        })
        .boxed()
    }
}
