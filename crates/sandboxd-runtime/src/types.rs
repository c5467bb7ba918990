//! Plain data exchanged with a runtime: what to create, what exists, what happened. No behaviour.

use std::collections::HashMap;
use std::net::IpAddr;

/// Limits for one container.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids: i64,
    pub nofile: i64,
}

/// A host path mounted into the container.
#[derive(Debug, Clone, PartialEq)]
pub struct BindMount {
    pub host: String,
    pub target: String,
    pub read_only: bool,
}

/// Everything needed to create one sandbox container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub hostname: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub env: Vec<String>,
    /// `uid:gid`.
    pub user: String,
    pub entrypoint: Vec<String>,
    pub working_dir: String,
    pub mounts: Vec<BindMount>,
    /// Path → tmpfs options (e.g. `rw,nosuid,nodev,size=512m`).
    pub tmpfs: Vec<(String, String)>,
    pub limits: Limits,
    /// Seconds the engine waits after SIGTERM before SIGKILL.
    pub stop_timeout_s: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInfo {
    pub name: String,
    pub id: String,
    pub gateway: Option<IpAddr>,
    /// Whether the host-side guard (sandbox → host traffic dropped) is active.
    pub host_guard: bool,
}

/// A container as the engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub running: bool,
    /// Engine status word: created, running, exited, dead…
    pub status: String,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub error: Option<String>,
    pub ip: Option<IpAddr>,
    pub image: String,
    pub labels: HashMap<String, String>,
}

impl ContainerInfo {
    /// Why a stopped container is not running, in words.
    pub fn exit_reason(&self) -> String {
        let mut reason = format!("container {}", self.status);
        if let Some(code) = self.exit_code {
            reason.push_str(&format!(" with exit code {code}"));
        }
        if self.oom_killed {
            reason.push_str(" (killed: out of memory)");
        }
        if let Some(e) = self.error.as_deref().filter(|e| !e.is_empty()) {
            reason.push_str(&format!(": {e}"));
        }
        reason
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub running: bool,
    pub labels: HashMap<String, String>,
}

/// One command to run inside a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub container: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: String,
    /// Bytes kept per stream; the rest is read and dropped.
    pub output_cap: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i64,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub stream: &'static str,
    pub text: String,
}

/// A lifecycle event of one of our containers.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEvent {
    pub container: String,
    /// `start`, `die`, `oom`, `destroy`, `stop`, `kill`…
    pub action: String,
    pub labels: HashMap<String, String>,
}
