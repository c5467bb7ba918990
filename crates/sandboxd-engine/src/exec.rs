//! Exec: run one command in a sandbox and return its output. A frozen sandbox is thawed and a
//! stopped one started first.
//! The lock is held only to bring the sandbox up and register the exec; the command itself runs
//! unlocked so several execs proceed together, at most [`MAX_CONCURRENT_EXECS`] per sandbox.
//! Its whole duration counts as activity. Commands run through the sandbox's agent
//! (`exec/agent.rs`); `docker exec` is the fallback only while the agent cannot be reached.

mod agent;
mod slots;

pub(crate) use slots::ExecSlots;
pub use slots::MAX_CONCURRENT_EXECS;

use crate::activity::ActivitySource;
use crate::container::HOME;
use crate::{Engine, EngineError};
use sandboxd_core::{spec::validate_command, spec::validate_env, SandboxId, ValidationError};
use sandboxd_runtime::{ExecRequest, Identity, RuntimeError, INIT_PATH};
use std::collections::BTreeMap;
use std::time::Duration;

/// How stale the stored activity time of a sandbox may get through execs alone.
const PERSIST_ACTIVITY_MS: i64 = 30_000;

/// Longest timeout a caller may ask for.
pub const MAX_EXEC_TIMEOUT_S: u64 = 24 * 3600;

#[derive(Debug, Clone, Default)]
pub struct ExecCommand {
    pub cmd: Vec<String>,
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
    pub timeout_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i64,
    pub truncated: bool,
    pub timed_out: bool,
    pub duration_ms: u64,
}

impl ExecCommand {
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_command(&self.cmd, "cmd")?;
        validate_env(&self.env, "env")?;
        if let Some(cwd) = &self.cwd {
            if !cwd.starts_with('/') || cwd.contains('\0') || cwd.len() > 4096 {
                return Err(ValidationError::new("cwd", "must be an absolute path"));
            }
        }
        if let Some(t) = self.timeout_s {
            if !(1..=MAX_EXEC_TIMEOUT_S).contains(&t) {
                return Err(ValidationError::new(
                    "timeout_s",
                    "must be between 1 and 86400",
                ));
            }
        }
        Ok(())
    }
}

impl Engine {
    pub async fn exec(&self, id: &SandboxId, cmd: ExecCommand) -> Result<ExecResult, EngineError> {
        cmd.validate()?;
        let _slot = self.inner.exec_slots.take(id).ok_or_else(|| {
            EngineError::Capacity(format!(
                "sandbox {id} already runs {MAX_CONCURRENT_EXECS} execs; retry when one ends"
            ))
        })?;
        if Self::needs_admission(self.get_live(id).await?.status) {
            self.admit(Some(id)).await?;
        }
        // The guard ends the exec's activity even when the caller goes away mid-way (the
        // command itself keeps running in the sandbox, as with `docker exec` detached).
        let (exec_guard, stored_active_ms) = {
            let _g = self.inner.locks.lock(id).await;
            let sb = self.get_live(id).await?;
            let sb = self.ensure_running_locked(sb, ActivitySource::Exec).await?;
            let guard = self.inner.activity.exec_started(id, self.now_ms());
            (guard, sb.last_active_at_ms)
        };
        let started = tokio::time::Instant::now();
        let result = self.run_exec(id, &cmd).await;
        drop(exec_guard);
        // The stored activity time is for restarts only (the idle logic reads the in-memory
        // activity table), and with synchronous=FULL every commit waits for the disk: persist it
        // at most every PERSIST_ACTIVITY_MS, off the answer's path (tracked, so shutdown waits).
        let now = self.now_ms();
        if now - stored_active_ms >= PERSIST_ACTIVITY_MS {
            let (engine, touched) = (self.clone(), id.clone());
            self.spawn(async move {
                if let Err(e) = engine.inner.store.touch(&touched, now).await {
                    tracing::warn!(id = %touched, error = %e, "recording exec activity");
                }
            });
        }
        let mut out = result?;
        out.duration_ms = started.elapsed().as_millis() as u64;
        Ok(out)
    }

    async fn run_exec(&self, id: &SandboxId, cmd: &ExecCommand) -> Result<ExecResult, EngineError> {
        let cwd = cmd
            .cwd
            .clone()
            .unwrap_or_else(|| format!("{HOME}/workspace"));
        let why = match self.agent_endpoint(id).await? {
            Some(ep) => {
                let ep = ep.client_endpoint();
                let cap = self.inner.cfg.exec_output_cap;
                let run = agent::run(&self.inner.agent, &ep, cmd, cwd, cap);
                // Backstop, as on the docker path, should the agent never report the deadline.
                let collected = match cmd.timeout_s {
                    Some(t) => match tokio::time::timeout(Duration::from_secs(t + 10), run).await {
                        Ok(r) => r,
                        Err(_) => return Ok(backstop_result()),
                    },
                    None => run.await,
                };
                match collected? {
                    agent::Collected::Done(out) => {
                        self.agent_reached(id);
                        return Ok(out);
                    }
                    agent::Collected::Unreachable(m) => m,
                }
            }
            None => "no agent endpoint".to_string(),
        };
        self.agent_missed(id, &why);
        self.run_docker_exec(id, cmd).await
    }

    /// Logs the first fallback to `docker exec` of each sandbox start at warn.
    fn agent_missed(&self, id: &SandboxId, why: &str) {
        let started = self.inner.activity.route(id).map(|r| r.started_ms);
        let mut warned = self
            .inner
            .agent_warned
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if warned.insert(id.clone(), started) != Some(started) {
            tracing::warn!(%id, reason = why, "agent unreachable; exec falls back to docker exec");
        }
    }

    /// The agent answered again: a later outage is worth a new warning.
    fn agent_reached(&self, id: &SandboxId) {
        let mut warned = self
            .inner
            .agent_warned
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !warned.is_empty() {
            warned.remove(id);
        }
    }

    async fn run_docker_exec(
        &self,
        id: &SandboxId,
        cmd: &ExecCommand,
    ) -> Result<ExecResult, EngineError> {
        // Every exec goes through our init's exec wrapper: it takes the agent token out of the
        // environment Docker hands exec'd processes (the container's), and with a timeout it
        // runs the command in its own process group and kills the whole group when time is up,
        // so nothing the command started outlives it.
        let mut argv = vec![INIT_PATH.to_string(), "exec".to_string()];
        if let Some(t) = cmd.timeout_s {
            argv.extend(["--timeout-ms".to_string(), (t * 1000).to_string()]);
        }
        argv.push("--".to_string());
        argv.extend(cmd.cmd.iter().cloned());
        let req = ExecRequest {
            container: self.container_name(id),
            cmd: argv,
            env: cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            cwd: Some(
                cmd.cwd
                    .clone()
                    .unwrap_or_else(|| format!("{HOME}/workspace")),
            ),
            user: Identity::SANDBOX.user_spec(),
            output_cap: self.inner.cfg.exec_output_cap,
        };
        // Backstop in case the in-sandbox timeout cannot act (e.g. the process ignores kills
        // because it is stuck in the kernel): stop waiting a little after the deadline.
        let backstop = cmd.timeout_s.map(|t| Duration::from_secs(t + 5));
        let fut = self.inner.runtime.exec(req);
        let out = match backstop {
            Some(limit) => match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => return Ok(backstop_result()),
            },
            None => fut.await,
        };
        let out = match out {
            Ok(o) => o,
            Err(RuntimeError::Conflict(m)) => {
                return Err(EngineError::Conflict(format!(
                    "sandbox is not running: {m}"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let timed_out = cmd.timeout_s.is_some()
            && out.exit_code == 124
            && out.stderr.ends_with(b"sandboxd-init: exec timed out\n");
        Ok(ExecResult {
            truncated: out.stdout_truncated || out.stderr_truncated,
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
            timed_out,
            duration_ms: 0,
        })
    }
}

/// The answer when sandboxd stopped waiting for a command past its deadline.
fn backstop_result() -> ExecResult {
    ExecResult {
        stdout: Vec::new(),
        stderr: b"sandboxd: command timed out\n".to_vec(),
        exit_code: 124,
        truncated: false,
        timed_out: true,
        duration_ms: 0,
    }
}
