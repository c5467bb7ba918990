//! An in-memory [`crate::Runtime`] for unit tests of the engine (feature `test-util`): containers,
//! workspaces and images are entries in a map, operations behave like Docker's (events included),
//! and a test can make any operation fail ([`FakeRuntime::fail`]), wait for it
//! ([`FakeRuntime::hold`]), or change a container behind the engine's back
//! ([`FakeRuntime::crash`], [`FakeRuntime::vanish`], [`FakeRuntime::plant`]).

mod control;
mod runtime;

pub use control::{Call, Hold, Op};

use crate::{
    ContainerSpec, ContainerState, EventKind, ExecOutput, RuntimeError, RuntimeEvent, StopSemantics,
};
use control::{take_failure, Failure};
use sandboxd_core::SandboxId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
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

    /// Running and paused containers: the ones that hold memory.
    pub fn holding_memory_count(&self) -> usize {
        let w = self.world();
        w.containers
            .values()
            .filter(|c| c.state.is_running() || c.state.is_paused())
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
