//! What the activity table reports: the last activity and its source, and what holds a sandbox
//! awake right now.

use serde::Serialize;

/// What last counted as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    Create,
    Start,
    Wake,
    Exec,
    Keepalive,
    Request,
    /// A process, terminal, file transfer or watch through the in-sandbox agent.
    Agent,
}

/// What kind of long-lived agent session holds a sandbox awake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A client following a process's output.
    ProcessOutput,
    /// An interactive terminal.
    Terminal,
    /// A file watch.
    Watch,
    /// A file upload or download.
    Transfer,
    /// A running coding-agent task.
    Task,
}

impl SessionKind {
    pub fn describe(self) -> &'static str {
        match self {
            SessionKind::ProcessOutput => "process output stream(s)",
            SessionKind::Terminal => "terminal(s)",
            SessionKind::Watch => "file watch(es)",
            SessionKind::Transfer => "file transfer(s)",
            SessionKind::Task => "running task(s)",
        }
    }
}

/// A snapshot for `/activity` and for the idle reaper.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityReport {
    pub last_active_ms: i64,
    pub last_source: Option<ActivitySource>,
    pub execs_in_flight: u32,
    pub open_connections: u32,
    pub lease_until_ms: Option<i64>,
    /// Open agent sessions by kind (only kinds with at least one).
    pub sessions: std::collections::BTreeMap<SessionKind, u32>,
}

/// The full story for `/activity`: what holds the sandbox and when it sleeps if nothing happens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityView {
    pub report: ActivityReport,
    pub status: String,
    pub idle_policy: String,
    pub idle_timeout_ms: i64,
    /// Idle time before the reaper freezes it (0: never).
    pub freeze_after_ms: i64,
    /// Why it will not go down the ladder right now (open connections, execs, sessions, a lease,
    /// always_on, stopped).
    pub held_by: Vec<String>,
    /// When the idle reaper will stop it if nothing happens (None: not while something holds it).
    pub sleeps_at_ms: Option<i64>,
    /// The sleep ladder's next rung (`frozen` or `stopped`) if nothing happens, and when (None:
    /// not while something holds it, or no rung below).
    pub next_rung: Option<&'static str>,
    pub next_rung_at_ms: Option<i64>,
    /// When the E2B lifetime ends (None: the sandbox has none), and what happens then
    /// (`kill` or `pause`), whatever holds it awake.
    pub e2b_end_at_ms: Option<i64>,
    pub on_end: Option<&'static str>,
}
