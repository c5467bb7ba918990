//! Plain data for exec, logs and the network. No behaviour.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInfo {
    pub name: String,
    pub id: String,
    pub gateway: Option<IpAddr>,
    /// Whether the host-side guard (sandbox → host traffic dropped) is active.
    pub host_guard: bool,
    /// What the check before this call found missing and put back (host-guard or egress
    /// rules removed behind our back); empty when everything was in place.
    pub repaired: Vec<String>,
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

/// Whether a workspace was made by the call that ensured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceState {
    /// Made just now: empty until seeded.
    Fresh,
    /// It was there already (a restart, a recreate, a re-create after delete without purge).
    Existing,
}

/// How full a size-limited workspace is (its filesystem's own numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    /// Size of the workspace's filesystem in MiB.
    pub size_mb: u64,
    /// MiB in use (files and the filesystem's own metadata).
    pub used_mb: u64,
}

/// What a fresh workspace is filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed<'a> {
    /// The image's [`crate::SKELETON_DIR`], read through this created (not started) container.
    Skeleton { container: &'a str },
    /// Nothing but the `workspace/` directory.
    Empty,
}
