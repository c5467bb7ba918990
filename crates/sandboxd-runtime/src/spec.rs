//! What a sandbox container is, in sandboxd's words rather than an engine's: who runs in it, which
//! workspace is its home, which of our binaries it gets, its scratch filesystems and limits. A
//! runtime translates this into its own objects (Docker: binds, tmpfs, ulimits; Kubernetes: a pod
//! with volumes); nothing here names a host path or an engine option string.

use sandboxd_core::{Egress, SandboxId};

/// Where our binaries appear inside every sandbox (read-only).
pub const BINARIES_DIR: &str = "/.sandboxd";
/// Where the init is inside every sandbox: the entrypoint, and the tool timed execs go through.
pub const INIT_PATH: &str = "/.sandboxd/init";
/// Where the agent is inside every sandbox; the init starts and supervises it.
pub const AGENT_PATH: &str = "/.sandboxd/agent";
/// The TCP port the agent listens on, on the container's own interface.
pub const AGENT_PORT: u16 = 49983;
/// Where images keep the skeleton of a new home directory.
pub const SKELETON_DIR: &str = "/etc/sandboxd/skel";

/// A user and group, by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

impl Identity {
    /// The unprivileged user every sandbox runs as, and that owns its workspace.
    pub const SANDBOX: Identity = Identity {
        uid: 1000,
        gid: 1000,
    };

    /// `uid:gid`, as exec requests and engines spell a user.
    pub fn user_spec(self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }
}

/// One of the binaries sandboxd ships into every sandbox, read-only under [`BINARIES_DIR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OurBinary {
    /// `sandboxd-init`, PID 1.
    Init,
    /// `sandboxd-agent`, started and supervised by the init.
    Agent,
}

impl OurBinary {
    /// Every one of them; a sandbox gets all of them.
    pub const ALL: [OurBinary; 2] = [OurBinary::Init, OurBinary::Agent];

    /// The path inside the sandbox.
    pub fn path(self) -> &'static str {
        match self {
            OurBinary::Init => INIT_PATH,
            OurBinary::Agent => AGENT_PATH,
        }
    }
}

/// A small in-memory filesystem (lost at stop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scratch {
    pub path: &'static str,
    pub size_mb: u64,
    /// Permission bits of its root (e.g. `0o1777`).
    pub mode: u32,
    pub owner: Identity,
}

/// Limits for one container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids: i64,
    /// Open files (soft = hard).
    pub nofile: i64,
}

/// Everything needed to create one sandbox container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// The runtime's name for the container (unique per installation).
    pub name: String,
    /// The sandbox it belongs to: the runtime labels the container with it, so `list` and
    /// events can say whose it is.
    pub sandbox: SandboxId,
    pub hostname: String,
    pub image: String,
    pub env: Vec<String>,
    /// Who PID 1 runs as.
    pub identity: Identity,
    pub entrypoint: Vec<String>,
    pub working_dir: String,
    /// The sandbox's workspace (see [`crate::Runtime::ensure_workspace`]) is mounted read-write
    /// here.
    pub home: String,
    /// Our binaries, each read-only at [`OurBinary::path`].
    pub binaries: Vec<OurBinary>,
    pub scratch: Vec<Scratch>,
    pub limits: Limits,
    /// Seconds the runtime waits after SIGTERM before SIGKILL.
    pub stop_timeout_s: i64,
    /// Where the sandbox may connect to, enforced by the runtime outside the container (the
    /// host, link-local, private and multicast ranges are closed whatever this says).
    pub egress: Egress,
}
