//! What a runtime reports back, typed: the state of one container, the containers it holds, and
//! what happened to them. Engines' own words (Docker's `exited`, `die`…) are translated inside the
//! runtime; the engine only ever matches these enums.

use sandboxd_core::SandboxId;
use std::net::IpAddr;

/// The state of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    /// No such container.
    Absent,
    /// Created, never started.
    Created,
    /// Running; `addr` is where it answers on the sandbox network (when known).
    Running { addr: Option<IpAddr> },
    /// Running but frozen (Docker's pause, the cgroup freezer): memory kept, nothing scheduled,
    /// connections to it hang until it is unpaused. `addr` is where it will answer then.
    Paused { addr: Option<IpAddr> },
    /// Stopped after running: its exit code, whether the kernel killed it for memory, and the
    /// runtime's own error (a failed start) if any.
    Exited {
        code: Option<i64>,
        oom: bool,
        error: Option<String>,
    },
    /// Being removed (by us or behind our back); it will be `Absent` shortly.
    Removing,
}

impl ContainerState {
    pub fn exists(&self) -> bool {
        !matches!(self, ContainerState::Absent)
    }

    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running { .. })
    }

    pub fn is_paused(&self) -> bool {
        matches!(self, ContainerState::Paused { .. })
    }

    /// The address of a running container: where traffic may go now (a paused one has none).
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            ContainerState::Running { addr } => *addr,
            _ => None,
        }
    }

    /// A word for the state: `absent`, `created`, `running`, `paused`, `exited`, `removing`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ContainerState::Absent => "absent",
            ContainerState::Created => "created",
            ContainerState::Running { .. } => "running",
            ContainerState::Paused { .. } => "paused",
            ContainerState::Exited { .. } => "exited",
            ContainerState::Removing => "removing",
        }
    }

    /// The exit code, when it has exited (0 for states that have none yet).
    pub fn exit_code(&self) -> Option<i64> {
        match self {
            ContainerState::Absent => None,
            ContainerState::Exited { code, .. } => *code,
            _ => Some(0),
        }
    }

    pub fn oom_killed(&self) -> bool {
        matches!(self, ContainerState::Exited { oom: true, .. })
    }

    /// Why a container is not running, in words.
    pub fn exit_reason(&self) -> String {
        let mut reason = format!("container {}", self.as_str());
        if let Some(code) = self.exit_code() {
            reason.push_str(&format!(" with exit code {code}"));
        }
        if let ContainerState::Exited { oom, error, .. } = self {
            if *oom {
                reason.push_str(" (killed: out of memory)");
            }
            if let Some(e) = error.as_deref().filter(|e| !e.is_empty()) {
                reason.push_str(&format!(": {e}"));
            }
        }
        reason
    }
}

/// One container of this installation, as `list` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    pub name: String,
    /// The sandbox it belongs to; `None` when it carries no usable sandbox label (not something
    /// sandboxd made: the reconciler removes it).
    pub sandbox: Option<SandboxId>,
}

/// What happened to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Created,
    Started,
    /// Its main process exited (any cause: stop, crash, kill).
    Died,
    /// The kernel's OOM killer acted inside it.
    OutOfMemory,
    /// Removed.
    Destroyed,
}

/// A lifecycle event of one of this installation's containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    pub container: String,
    pub sandbox: Option<SandboxId>,
    pub kind: EventKind,
}

/// What `stop` does to a container, declared by each runtime so the reconciler knows what a
/// stopped sandbox normally looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSemantics {
    /// The container stays (Docker): a stopped sandbox has an exited container, and a missing
    /// one is recreated (not started).
    KeepsContainer,
    /// The container goes, the workspace stays (a Kubernetes pod): a stopped sandbox has no
    /// container, and that is not something to repair.
    RemovesContainer,
}
