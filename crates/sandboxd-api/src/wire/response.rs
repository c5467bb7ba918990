//! Response bodies. Fields that are always sent are `required` in the schema, nullable ones
//! included; timestamps are RFC 3339 strings with milliseconds.

use sandboxd_core::{Egress, ErrorCode, IdlePolicy, Resources, SandboxId, Status};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One sandbox. Env values never appear, only their names.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Sandbox)]
pub struct SandboxView {
    #[schema(value_type = String)]
    pub id: SandboxId,
    pub status: Status,
    pub image: String,
    pub ports: Vec<u16>,
    /// Preview URL of each port, keyed by the port number.
    pub preview_urls: BTreeMap<String, String>,
    pub resources: Resources,
    /// The workspace's size limit and usage; null: an unlimited plain directory (sandboxes
    /// created before disk quotas, or with quotas off).
    #[schema(required = true)]
    pub disk: Option<DiskView>,
    /// Shell command init runs at every start.
    #[schema(required = true)]
    pub start: Option<String>,
    /// Names of the environment variables (values are never returned).
    pub env_keys: Vec<String>,
    pub idle_policy: IdlePolicy,
    /// Per-sandbox idle timeout; null means the configured one.
    #[schema(required = true)]
    pub idle_timeout_s: Option<u64>,
    /// Per-sandbox idle time before it is frozen (processes paused, memory kept; thawed in
    /// milliseconds by any use); 0: never; null means the configured one.
    #[schema(required = true)]
    pub freeze_after_s: Option<u64>,
    /// Where the sandbox may connect to: `open` (the internet only), `none`, or
    /// `{"allow": [CIDR, …]}`.
    #[schema(value_type = sandboxd_core::EgressSchema)]
    pub egress: Egress,
    /// `public` (anyone with the URL) or `private` (only with a preview token).
    pub preview: sandboxd_core::Preview,
    pub metadata: BTreeMap<String, String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub last_active_at: String,
    /// Why the sandbox is in `error` (or the last failure seen).
    #[schema(required = true)]
    pub last_error: Option<String>,
}

/// A size-limited workspace: writes past `limit_mb` fail with ENOSPC inside the sandbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Disk)]
pub struct DiskView {
    /// Size of the workspace in MiB.
    pub limit_mb: u64,
    /// MiB in use (files and the filesystem's own metadata); null in lists and while the
    /// workspace is not mounted.
    #[schema(required = true)]
    pub used_mb: Option<u64>,
}

/// `GET /v1/sandboxes/{id}`: the sandbox and its live container state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SandboxDetail {
    #[serde(flatten)]
    pub sandbox: SandboxView,
    pub live: LiveView,
}

/// `GET /sandbox/{id}` (reference route): the sandbox, again under `row`, and `live_state`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LegacySandboxDetail {
    #[serde(flatten)]
    pub sandbox: SandboxView,
    pub row: SandboxView,
    pub live_state: LiveView,
}

/// What the sandbox's container is doing now. Three forms: a container (`container`,
/// `running`, `state`, `exit_code`, `oom_killed`); none (`container: null`, `running: false`,
/// `state: "absent"`); or the engine could not be asked (`error` only).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = LiveState)]
pub struct LiveView {
    /// Container name; null when there is no container.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub container: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
    /// The engine's state word (`running`, `exited`, …) or `absent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub exit_code: Option<Option<i64>>,
    /// The last exit was the kernel's out-of-memory kill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_killed: Option<bool>,
    /// Why the container engine could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /v1/sandboxes`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SandboxList {
    /// Newest first.
    pub sandboxes: Vec<SandboxView>,
}

/// `GET /sandboxes` (reference route): a bare array, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(transparent)]
pub struct LegacySandboxList(pub Vec<SandboxView>);

/// A finished command.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ExecResult)]
pub struct ExecOutput {
    /// Standard output, at most 16 MiB before encoding: the text itself, or base64 when
    /// `stdout_encoding` is `base64` (not valid UTF-8, or mostly control characters).
    #[schema(value_type = String)]
    pub stdout: super::OutputBytes,
    pub stdout_encoding: super::OutputEncoding,
    /// Standard error, encoded like `stdout` (see `stderr_encoding`).
    #[schema(value_type = String)]
    pub stderr: super::OutputBytes,
    pub stderr_encoding: super::OutputEncoding,
    /// 124 when the timeout killed it.
    pub exit_code: i64,
    /// Output beyond the cap was dropped.
    pub truncated: bool,
    pub timed_out: bool,
    pub duration_ms: u64,
}

/// A keepalive lease.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lease {
    #[schema(value_type = String)]
    pub id: SandboxId,
    #[schema(format = DateTime)]
    pub lease_until: String,
    /// The same moment in Unix seconds.
    pub lease_until_unix: i64,
}

/// Output of the sandbox's init and start command.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Logs {
    #[schema(value_type = String)]
    pub id: SandboxId,
    pub lines: Vec<LogLineView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = LogLine)]
pub struct LogLineView {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// What last counted as activity.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ActivitySource)]
pub enum ActivitySourceName {
    Create,
    Start,
    Wake,
    Exec,
    Keepalive,
    Request,
    Agent,
}

/// Open agent sessions of a sandbox, by kind.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AgentSessions {
    pub process_output: u32,
    pub terminal: u32,
    pub watch: u32,
    pub transfer: u32,
    /// Running coding-agent tasks.
    pub task: u32,
}

/// What keeps a sandbox awake, and when it sleeps if nothing happens.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Activity)]
pub struct ActivityBody {
    #[schema(value_type = String)]
    pub id: SandboxId,
    #[schema(value_type = Status)]
    pub status: String,
    #[schema(value_type = IdlePolicy)]
    pub idle_policy: String,
    pub idle_timeout_s: i64,
    /// Idle time before it is frozen, in effect (0: never).
    pub freeze_after_s: i64,
    #[schema(format = DateTime)]
    pub last_active_at: String,
    #[schema(required = true)]
    pub last_source: Option<ActivitySourceName>,
    pub execs_in_flight: u32,
    pub open_connections: u32,
    /// Streams, terminals, watches and transfers through the in-sandbox agent.
    pub sessions: AgentSessions,
    #[schema(required = true, format = DateTime)]
    pub lease_until: Option<String>,
    /// What keeps the sandbox awake right now, in words.
    pub held_by: Vec<String>,
    /// When the idle reaper stops it if nothing happens (null while something holds it).
    #[schema(required = true, format = DateTime)]
    pub sleeps_at: Option<String>,
    /// The sleep ladder's next rung if nothing happens: `frozen` (from running) or `stopped`
    /// (null while something holds it, or when it is not running or frozen).
    #[schema(required = true, value_type = Option<Status>)]
    pub next_rung: Option<String>,
    /// When the reaper takes it to `next_rung`.
    #[schema(required = true, format = DateTime)]
    pub next_rung_at: Option<String>,
    /// The E2B end time (null: not created through the E2B API nor given an E2B timeout); it
    /// applies whatever holds the sandbox awake, independently of the idle reaper.
    #[schema(required = true, format = DateTime)]
    pub e2b_end_at: Option<String>,
    /// What happens at `e2b_end_at`: `kill` (deleted) or `pause` (stopped, workspace kept).
    #[schema(required = true)]
    pub on_end: Option<String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub ok: bool,
}

/// `GET /readyz`: the last background check of the store and the engine.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ready {
    pub ready: bool,
    /// Why not ready.
    #[schema(required = true)]
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub checked_at: String,
}

/// The one error envelope: `{"error":{"code","message","retryable"}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// Whether the same request may succeed when retried unchanged.
    pub retryable: bool,
}

/// An OpenAPI 3.1 document (this one).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct OpenApiDocument(pub serde_json::Value);
