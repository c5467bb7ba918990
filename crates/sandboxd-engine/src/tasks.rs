//! Coding-agent tasks: an agent CLI run headlessly as a background process through the sandbox's
//! agent, its output adapted into events that are stored (see `tasks/reader.rs`) by one
//! collector per running task (`tasks/collector.rs`). Rule: a task is stored only once its
//! process runs (bad input, a deleted sandbox or a failed start create nothing); while it runs
//! it holds a `task` session, so neither the idle reaper nor memory-pressure admission stops its
//! sandbox; its env values go to the process and into the redaction list, never into events or
//! answers; every stored change bumps one watch channel that event streams wait on.

mod adapter;
mod cancel;
mod collector;
mod reader;

pub use adapter::Adapter;
pub use reader::REDACTED;
pub use sandboxd_store::{TaskEventRow, TaskRow, TASK_EVENT_RETENTION};

use crate::activity::SessionKind;
use crate::{Engine, EngineError, ExecCommand};
use sandboxd_agent_client::process_events::{ProcessEvent, ProcessMessage};
use sandboxd_agent_client::CallError;
use sandboxd_core::{SandboxId, ValidationError};
use sandboxd_store::TaskProgress;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which agent a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAgent {
    ClaudeCode,
    OpenCode,
    Codex,
    Aider,
    /// Any program; `{prompt}` in an argument is replaced by the prompt.
    Command {
        command: Vec<String>,
        adapter: Adapter,
    },
}

impl TaskAgent {
    pub fn parse(name: &str) -> Option<TaskAgent> {
        Some(match name {
            "claude-code" => TaskAgent::ClaudeCode,
            "opencode" => TaskAgent::OpenCode,
            "codex" => TaskAgent::Codex,
            "aider" => TaskAgent::Aider,
            _ => return None,
        })
    }

    fn name(&self) -> &'static str {
        match self {
            TaskAgent::ClaudeCode => "claude-code",
            TaskAgent::OpenCode => "opencode",
            TaskAgent::Codex => "codex",
            TaskAgent::Aider => "aider",
            TaskAgent::Command { .. } => "command",
        }
    }

    /// The headless command line and how its output is read.
    fn command(&self, prompt: &str) -> (Vec<String>, Adapter) {
        let p = prompt.to_string();
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            TaskAgent::ClaudeCode => {
                let mut c = argv(&["claude", "-p", "--output-format", "stream-json"]);
                c.extend(argv(&["--verbose", "--dangerously-skip-permissions", "--"]));
                c.push(p);
                (c, Adapter::ClaudeStreamJson)
            }
            TaskAgent::OpenCode => {
                let mut c = argv(&["opencode", "run"]);
                c.push(p);
                (c, Adapter::Lines)
            }
            TaskAgent::Codex => {
                let mut c = argv(&["codex", "exec", "--json", "--full-auto"]);
                c.push(p);
                (c, Adapter::Lines)
            }
            TaskAgent::Aider => {
                let mut c = argv(&["aider", "--yes-always", "--no-pretty", "--no-stream"]);
                c.extend(["--message".to_string(), p]);
                (c, Adapter::Lines)
            }
            TaskAgent::Command { command, adapter } => {
                let c = command.iter().map(|a| a.replace("{prompt}", prompt));
                (c.collect(), *adapter)
            }
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub prompt: String,
    pub agent: TaskAgent,
    /// Absolute (the API resolves relative paths against the home).
    pub cwd: String,
    pub env: BTreeMap<String, String>,
    pub timeout_s: Option<u64>,
}

/// Longest prompt accepted.
pub const MAX_PROMPT: usize = 256 * 1024;
/// How long a cancelled task gets between SIGTERM and SIGKILL.
pub const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// Env names whose values are not secrets (never redacted: they appear in ordinary output).
const PLAIN_ENV: &[&str] = &["PATH", "HOME", "LANG", "TERM", "TZ", "USER", "SHELL", "PWD"];

/// Env values worth redacting (the task's and the sandbox's): not plain settings, at least 4
/// characters.
fn secrets_of<'a>(env: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<String> {
    let mut out: Vec<String> = env
        .filter(|(k, v)| !PLAIN_ENV.contains(&k.as_str()) && !k.starts_with("LC_") && v.len() >= 4)
        .map(|(_, v)| v.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Engine {
    /// Start a task on `id` (woken first); answers once its process runs.
    pub async fn create_task(
        &self,
        id: &SandboxId,
        spec: TaskSpec,
    ) -> Result<TaskRow, EngineError> {
        if spec.prompt.trim().is_empty() || spec.prompt.len() > MAX_PROMPT {
            return Err(
                ValidationError::new("prompt", "must be 1 to 262144 bytes, not blank").into(),
            );
        }
        let (mut command, adapter) = spec.agent.command(&spec.prompt);
        let check = ExecCommand {
            cmd: command.clone(),
            cwd: Some(spec.cwd.clone()),
            env: spec.env.clone(),
            timeout_s: spec.timeout_s,
        };
        check.validate()?;
        let sb = self.get_live(id).await?;
        let ep = self.agent(&sb.id).await?.client_endpoint();
        let guard = self.session(&sb.id, SessionKind::Task);
        let mut env = spec.env.clone();
        env.insert("SANDBOXD_TASK_PROMPT".into(), spec.prompt.clone());
        let program = command.remove(0);
        let req =
            json!({"process": {"cmd": program, "args": command, "envs": env, "cwd": spec.cwd}});
        command.insert(0, program);
        let mut headers = Vec::new();
        if let Some(s) = spec.timeout_s {
            headers.push((
                hyper::header::HeaderName::from_static("connect-timeout-ms"),
                hyper::header::HeaderValue::from(s * 1000),
            ));
        }
        let client = self.agent_client();
        // Before the request: the agent's deadline starts when it gets it, and the collector
        // tells a timeout from other kills by the time elapsed since `created_at_ms`.
        let requested_at_ms = self.now_ms();
        let mut stream = client
            .stream::<_, ProcessMessage>(&ep, "/process.Process/Start", &req, &headers)
            .await
            .map_err(start_failed)?;
        let pid = match stream.next().await {
            Some(Ok(ProcessMessage {
                event: ProcessEvent::Start { pid },
                ..
            })) => pid,
            Some(Err(e)) => return Err(start_failed(e)),
            _ => return Err(start_failed(CallError::Protocol("no start message".into()))),
        };
        // The process runs on its own; the collector follows it with `Connect`.
        drop(stream);
        let row = TaskRow {
            id: SandboxId::generate().as_str().to_string(),
            sandbox_id: sb.id.as_str().to_string(),
            agent: spec.agent.name().to_string(),
            adapter: adapter.name().to_string(),
            prompt: spec.prompt,
            command,
            cwd: spec.cwd,
            env_keys: spec.env.keys().cloned().collect(),
            secrets: secrets_of(spec.env.iter().chain(sb.env.iter())),
            timeout_s: spec.timeout_s,
            status: "running".into(),
            reason: None,
            exit_code: None,
            pid,
            cancel_requested: false,
            progress: TaskProgress::default(),
            last_event: 0,
            created_at_ms: requested_at_ms,
            ended_at_ms: None,
        };
        if let Err(e) = self.inner.store.insert_task(&row).await {
            // Nothing records it: do not leave an agent running unseen.
            self.signal_task(&sb.id, pid, "SIGNAL_SIGKILL").await;
            return Err(e.into());
        }
        self.spawn_collector(row.clone(), guard);
        Ok(row)
    }

    /// A task of sandbox `id`.
    pub async fn task(&self, id: &SandboxId, task_id: &str) -> Result<TaskRow, EngineError> {
        match self.inner.store.task(task_id).await? {
            Some(t) if t.sandbox_id == id.as_str() => Ok(t),
            _ => Err(EngineError::TaskNotFound(task_id.to_string())),
        }
    }

    /// The tasks of sandbox `id`, newest first.
    pub async fn tasks(&self, id: &SandboxId) -> Result<Vec<TaskRow>, EngineError> {
        Ok(self.inner.store.tasks(Some(id.as_str())).await?)
    }

    /// Stored events of a task after event id `after` (at most `limit`).
    pub async fn task_events(
        &self,
        task_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TaskEventRow>, EngineError> {
        Ok(self.inner.store.task_events(task_id, after, limit).await?)
    }

    /// Bumped whenever any task's events or status change.
    pub fn task_updates(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.task_updates.subscribe()
    }

    pub(crate) fn tasks_changed(&self) {
        self.inner
            .task_updates
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Follow every task stored as running (at boot, after the reconciler's first pass).
    pub async fn resume_tasks(&self) -> Result<usize, EngineError> {
        let running = self.inner.store.tasks(None).await?;
        let n = running.len();
        for row in running {
            let guard = self.session(
                &SandboxId::from_trusted(row.sandbox_id.clone()),
                SessionKind::Task,
            );
            self.spawn_collector(row, guard);
        }
        Ok(n)
    }
}

fn start_failed(e: CallError) -> EngineError {
    match e {
        CallError::Rpc { code, message } if code == "resource_exhausted" => {
            EngineError::Capacity(message)
        }
        CallError::Rpc { code, message } if code == "not_found" || code == "invalid_argument" => {
            EngineError::Invalid(ValidationError::new(
                "agent",
                format!("the agent command cannot start: {message}"),
            ))
        }
        e @ (CallError::Rpc { .. } | CallError::Http { .. }) => {
            EngineError::Failed(format!("starting the task: {e}"))
        }
        e => EngineError::AgentUnavailable(format!("starting the task: {e}")),
    }
}
