//! Rule: the agent (`/.sandboxd/agent`) is always kept running, and its
//! access token reaches it and nothing else.
//!
//! - Token: `SANDBOXD_AGENT_TOKEN`, taken by [`take_token`] as the very first
//!   thing the init does in every mode (PID 1, `exec`, `record-listeners`):
//!   scrubbed from the environment block and removed, so no process the init
//!   starts (start command, relaunched processes, exec'd commands, the agent)
//!   inherits it. The agent reads it from its stdin: one line (the token and
//!   `\n`) then EOF; with no token, just EOF (the agent then refuses
//!   everything but `GET /health`). A token longer than
//!   [`MAX_TOKEN_BYTES`] or containing a newline is refused (logged, never
//!   shown) and treated as none.
//! - Process: started with no arguments if the file exists, in its own
//!   process group, stdout/stderr to the init's, the init's environment.
//!   Whatever way it exits it is started again after a delay from
//!   [`Backoff`] (the start command's schedule); its exits are never fatal
//!   to the sandbox. The orderly shutdown stops it with everything else.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::log::{log, secs};
use crate::start::Backoff;
use crate::{spawn, sys};

pub const AGENT_PATH: &str = "/.sandboxd/agent";
pub const TOKEN_VAR: &str = "SANDBOXD_AGENT_TOKEN";
pub const MAX_TOKEN_BYTES: usize = 256;

/// Takes the token out of the environment (see the module rule).
pub fn take_token() -> Option<Vec<u8>> {
    match token_line(sys::take_secret(TOKEN_VAR)) {
        Ok(line) => line,
        Err(why) => {
            log!("ignoring {TOKEN_VAR}: {why}");
            None
        }
    }
}

/// The stdin line for a raw token value: `None` if unset or empty.
pub fn token_line(raw: Option<OsString>) -> Result<Option<Vec<u8>>, String> {
    let Some(mut bytes) = raw.map(OsString::into_vec).filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(format!("longer than {MAX_TOKEN_BYTES} bytes"));
    }
    if bytes.contains(&b'\n') {
        return Err("contains a newline".into());
    }
    bytes.push(b'\n');
    Ok(Some(bytes))
}

#[derive(Debug)]
enum State {
    Due(Instant),
    Running { pid: i32, since: Instant },
}

#[derive(Debug)]
pub struct Agent {
    path: PathBuf,
    token: Option<Vec<u8>>,
    backoff: Backoff,
    state: State,
}

impl Agent {
    /// The agent at `path`, due now; `None` (logged) if there is no file.
    pub fn boot(path: PathBuf, token: Option<Vec<u8>>, now: Instant) -> Option<Agent> {
        if !path.is_file() {
            log!("no agent at {}; not starting one", path.display());
            return None;
        }
        if token.is_none() {
            log!("no {TOKEN_VAR}; the agent will answer only its health check");
        }
        Some(Agent {
            path,
            token,
            backoff: Backoff::default(),
            state: State::Due(now),
        })
    }

    /// Starts the agent if it is due.
    pub fn poll(&mut self, now: Instant) {
        let State::Due(at) = self.state else { return };
        if now < at {
            return;
        }
        match spawn::agent(&self.path, self.token.as_deref()) {
            Ok(pid) => {
                log!("agent running pid={pid}");
                self.state = State::Running { pid, since: now };
            }
            Err(err) => {
                let delay = self.backoff.after_run(Duration::ZERO);
                log!(
                    "agent failed to launch: {err}; retrying in {}s",
                    delay.as_secs()
                );
                self.state = State::Due(now + delay);
            }
        }
    }

    /// Handles a reaped child; returns whether it was the agent.
    pub fn on_exit(&mut self, pid: i32, status: ExitStatus, now: Instant) -> bool {
        let State::Running { pid: ours, since } = self.state else {
            return false;
        };
        if pid != ours {
            return false;
        }
        let ran_for = now.saturating_duration_since(since);
        let delay = self.backoff.after_run(ran_for);
        log!(
            "agent exited {} after {}; restarting in {}s",
            sys::describe_status(status),
            secs(ran_for),
            delay.as_secs()
        );
        self.state = State::Due(now + delay);
        true
    }

    /// When the main loop must wake up to start the agent, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Due(at) => Some(at),
            State::Running { .. } => None,
        }
    }

    /// Pid (= process group id) of the running agent.
    pub fn running_pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid, .. } => Some(pid),
            State::Due(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn token_becomes_one_line_or_nothing() {
        assert_eq!(token_line(None), Ok(None));
        assert_eq!(token_line(Some("".into())), Ok(None));
        assert_eq!(
            token_line(Some("ab12".into())),
            Ok(Some(b"ab12\n".to_vec()))
        );
        let longest = "a".repeat(MAX_TOKEN_BYTES);
        assert!(token_line(Some(longest.into())).is_ok());
        let too_long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(token_line(Some(too_long.into())).is_err());
        assert!(token_line(Some("a\nb".into())).is_err());
    }

    #[test]
    fn missing_file_means_no_agent() {
        let path = PathBuf::from("/nonexistent/sandboxd-agent");
        assert!(Agent::boot(path, None, Instant::now()).is_none());
    }

    #[test]
    fn exit_schedules_a_restart_with_backoff() {
        let t0 = Instant::now();
        let mut agent = Agent {
            path: PathBuf::from("/x"),
            token: None,
            backoff: Backoff::default(),
            state: State::Running { pid: 9, since: t0 },
        };
        assert_eq!(agent.deadline(), None);
        assert_eq!(agent.running_pid(), Some(9));
        let exited = ExitStatus::from_raw(2 << 8);
        let t1 = t0 + Duration::from_millis(10);
        assert!(!agent.on_exit(8, exited, t1), "unrelated pid");
        assert!(agent.on_exit(9, exited, t1));
        assert_eq!(agent.deadline(), Some(t1 + Duration::from_secs(1)));
        agent.state = State::Running { pid: 10, since: t1 };
        assert!(agent.on_exit(10, exited, t1));
        assert_eq!(agent.deadline(), Some(t1 + Duration::from_secs(2)));
    }
}
