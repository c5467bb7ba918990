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
}

/// A snapshot for `/activity` and for the idle reaper.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityReport {
    pub last_active_ms: i64,
    pub last_source: Option<ActivitySource>,
    pub execs_in_flight: u32,
    pub open_connections: u32,
    pub lease_until_ms: Option<i64>,
}

/// The full story for `/activity`: what holds the sandbox and when it sleeps if nothing happens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityView {
    pub report: ActivityReport,
    pub status: String,
    pub idle_policy: String,
    pub idle_timeout_ms: i64,
    /// Why it will not sleep right now (open connections, execs, a lease, always_on, stopped).
    pub held_by: Vec<String>,
    /// When the idle reaper will stop it if nothing happens (None: not while something holds it).
    pub sleeps_at_ms: Option<i64>,
}
