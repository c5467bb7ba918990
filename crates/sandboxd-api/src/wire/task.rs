//! Task wire types: starting a coding-agent task, reading it back, and its event stream's data
//! (the stream itself is `text/event-stream`; see docs/api.md for each event kind). Env values
//! are accepted and never sent back: a task shows only the names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// `POST .../tasks`.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TaskRequest)]
pub struct TaskBody {
    /// What the agent is asked to do (not blank).
    pub prompt: String,
    /// `claude-code`, `opencode`, `codex`, `aider`, or a command of your own.
    pub agent: Option<AgentChoice>,
    /// Working directory: absolute, or relative to the home (default `~/workspace`).
    pub cwd: Option<String>,
    /// Environment for the agent only (credentials such as `ANTHROPIC_API_KEY`): never returned,
    /// redacted from stored events.
    pub env: Option<BTreeMap<String, String>>,
    /// Kill the agent's process group after this many seconds.
    #[schema(minimum = 1, maximum = 86400)]
    pub timeout_s: Option<u64>,
}

/// A known agent by name, or a command.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AgentChoice {
    Named(String),
    Command(CommandAgent),
}

/// A program of your own; `{prompt}` in an argument becomes the prompt (also in
/// `SANDBOXD_TASK_PROMPT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandAgent {
    #[schema(min_items = 1)]
    pub command: Vec<String>,
    /// How its output is read: `lines` (default) or `claude-stream-json`.
    pub adapter: Option<String>,
}

/// A task.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskView {
    pub id: String,
    pub sandbox_id: String,
    /// `claude-code`, `opencode`, `codex`, `aider` or `command`.
    pub agent: String,
    /// The output adapter: `claude-stream-json` or `lines`.
    pub adapter: String,
    pub prompt: String,
    /// The command line run in the sandbox.
    pub command: Vec<String>,
    pub cwd: String,
    /// Names of the env variables given (values are never returned).
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// Why it failed or was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The agent's exit code (128+N after signal N), once it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The agent's process id in the sandbox.
    pub pid: u32,
    /// Id of the newest event (0: none yet).
    pub last_event_id: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
}

/// A sandbox's tasks, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskView>,
}
