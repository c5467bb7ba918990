//! Rule: the start command (`SANDBOXD_START`) is always kept running.
//!
//! It runs as `/bin/sh -c "$SANDBOXD_START"` in its own process group, from
//! `$HOME/workspace` if that directory exists, else `$HOME`, else `/`
//! (decided afresh at every start). Whatever way it exits, it is started
//! again after a delay from [`Backoff`]; it never gives up. As PID 1 the
//! init also publishes its process group id at every start (see [`pgid`]).

mod backoff;
pub mod pgid;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

pub use backoff::Backoff;
use pgid::Publisher;

use crate::log::{log, secs};
use crate::{spawn, sys};

#[derive(Debug)]
enum State {
    /// Not running; start at (or after) this instant.
    Due(Instant),
    Running {
        pid: i32,
        since: Instant,
    },
}

#[derive(Debug)]
pub struct StartCommand {
    command: OsString,
    home: Option<PathBuf>,
    backoff: Backoff,
    state: State,
    /// Where each new process group id is published, if anywhere.
    publisher: Option<Publisher>,
}

impl StartCommand {
    /// A start command that is due immediately.
    pub fn new(command: OsString, home: Option<PathBuf>, now: Instant) -> StartCommand {
        StartCommand {
            command,
            home,
            backoff: Backoff::default(),
            state: State::Due(now),
            publisher: None,
        }
    }

    /// Also publishes the group id of every launch, at the first of
    /// `paths` that can be written.
    pub fn publishing_pgid_to(mut self, paths: Vec<PathBuf>) -> StartCommand {
        self.publisher = Some(Publisher::new(paths));
        self
    }

    /// Starts the command if it is due.
    pub fn poll(&mut self, now: Instant) {
        if let State::Due(at) = self.state {
            if now >= at {
                self.launch(now);
            }
        }
    }

    fn launch(&mut self, now: Instant) {
        let cwd = start_cwd(self.home.as_deref(), Path::is_dir);
        match spawn::shell(&self.command, &cwd) {
            Ok(pid) => {
                log!("start running pid={pid} cwd={}", cwd.display());
                if let Some(publisher) = self.publisher.as_mut() {
                    publisher.publish(pid);
                }
                self.state = State::Running { pid, since: now };
            }
            Err(err) => {
                let delay = self.backoff.after_run(Duration::ZERO);
                log!(
                    "start failed to launch: {err}; retrying in {}s",
                    delay.as_secs()
                );
                self.state = State::Due(now + delay);
            }
        }
    }

    /// Handles a reaped child; returns whether it was the start command.
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
            "start exited {} after {}; restarting in {}s",
            sys::describe_status(status),
            secs(ran_for),
            delay.as_secs()
        );
        self.state = State::Due(now + delay);
        true
    }

    /// When the main loop must wake up to restart the command, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Due(at) => Some(at),
            State::Running { .. } => None,
        }
    }

    /// Pid (= process group id) of the running command.
    pub fn running_pid(&self) -> Option<i32> {
        match self.state {
            State::Running { pid, .. } => Some(pid),
            State::Due(_) => None,
        }
    }
}

/// `$HOME/workspace` if it is a directory, else `$HOME` if it is one, else `/`.
pub fn start_cwd(home: Option<&Path>, is_dir: impl Fn(&Path) -> bool) -> PathBuf {
    if let Some(home) = home {
        let workspace = home.join("workspace");
        if is_dir(&workspace) {
            return workspace;
        }
        if is_dir(home) {
            return home.to_path_buf();
        }
    }
    PathBuf::from("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn cwd_prefers_workspace_then_home_then_root() {
        let home = Path::new("/home/sandbox");
        let all = |_: &Path| true;
        let only_home = |p: &Path| p == home;
        let none = |_: &Path| false;
        assert_eq!(start_cwd(Some(home), all), home.join("workspace"));
        assert_eq!(start_cwd(Some(home), only_home), home);
        assert_eq!(start_cwd(Some(home), none), Path::new("/"));
        assert_eq!(start_cwd(None, all), Path::new("/"));
    }

    #[test]
    fn exit_of_the_running_command_schedules_a_restart() {
        let t0 = Instant::now();
        let mut start = StartCommand::new("true".into(), None, t0);
        assert_eq!(start.deadline(), Some(t0));
        start.state = State::Running { pid: 42, since: t0 };
        assert_eq!(start.deadline(), None);
        let exited = ExitStatus::from_raw(1 << 8);
        let t1 = t0 + Duration::from_millis(200);
        assert!(!start.on_exit(7, exited, t1), "unrelated pid");
        assert!(start.on_exit(42, exited, t1));
        assert_eq!(start.deadline(), Some(t1 + Duration::from_secs(1)));
        assert_eq!(start.running_pid(), None);
    }
}
