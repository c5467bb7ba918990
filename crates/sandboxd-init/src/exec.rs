//! Rule: `/.sandboxd/init exec [--timeout-ms N] -- COMMAND [ARG...]` runs one
//! command for a `docker exec` session and exits with the command's status;
//! once the deadline passes, nothing the command started is left running.
//!
//! This mode is not PID 1: the control plane runs it through `docker exec`
//! as the sandbox user. The command runs in a new process group with stdio,
//! environment and working directory inherited ([`spawn::session`]). The
//! wrapper becomes a child subreaper, so descendants that daemonize are
//! reparented to it; forwards SIGTERM/SIGINT/SIGQUIT/SIGHUP to the group; and
//! reaps every child that reaches it. Signals are blocked and consumed
//! synchronously, as in the init's main loop.
//! - The command exits in time: the wrapper exits with its code (128+N when
//!   signal N killed it). What it left running in the background is left
//!   alone, since `server &` is a legitimate thing to run.
//! - The deadline passes: SIGKILL goes to the command's process group, then
//!   repeatedly to every child of the wrapper (descendants that left the
//!   group and were orphaned) until it has none, so nothing keeps the
//!   session's output pipes open. Then `sandboxd-init: exec timed out` is the
//!   last line written to stderr and the exit code is 124; the control plane
//!   recognizes a timeout by that pair.
//! - The command cannot start: 127 if it is not found, 126 otherwise. Usage
//!   errors exit 2. Every message is a `sandboxd-init:` line on stderr.

mod args;

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::log::{log, secs};
use crate::sys::{self, Reaped, SignalSet, SIGCHLD, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM};
use crate::{shutdown, spawn};

const FORWARDED: [i32; 4] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP];
const EXIT_USAGE: i32 = 2;
const EXIT_TIMED_OUT: i32 = 124;
const EXIT_CANNOT_RUN: i32 = 126;
const EXIT_NOT_FOUND: i32 = 127;
/// Upper bound on killing and reaping after the deadline; only processes
/// stuck in the kernel can make it run out.
const KILL_WAIT_CAP: Duration = Duration::from_secs(3);
/// How often the kill sweep looks for newly orphaned descendants.
const SWEEP_INTERVAL: Duration = Duration::from_millis(20);

/// Runs exec mode on the words after `exec`; returns the exit code.
pub fn main(words: &[OsString]) -> i32 {
    let args = match args::parse(words) {
        Ok(args) => args,
        Err(msg) => {
            log!("exec: {msg}");
            log!("{}", args::USAGE);
            return EXIT_USAGE;
        }
    };
    // An ignored SIGCHLD would make children unwaitable; don't inherit it.
    sys::default_action(SIGCHLD);
    let signals = SignalSet::new(&[SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD]);
    if let Err(err) = signals.block() {
        log!("exec: cannot block signals: {err}");
        return EXIT_CANNOT_RUN;
    }
    if let Err(err) = sys::become_subreaper() {
        log!("exec: cannot become a child subreaper: {err}");
    }
    let started = Instant::now();
    let pgid = match spawn::session(&args.argv) {
        Ok(pid) => pid,
        Err(err) => {
            let program = args.argv.first().map(|p| p.to_string_lossy());
            log!("exec: {}: {err}", program.unwrap_or_default());
            return match err.kind() {
                ErrorKind::NotFound => EXIT_NOT_FOUND,
                _ => EXIT_CANNOT_RUN,
            };
        }
    };
    let deadline = args.timeout.and_then(|t| started.checked_add(t));
    match supervise(&signals, pgid, deadline) {
        Waited::Exited(status) => exit_code(status),
        Waited::Lost => {
            log!("exec: lost track of the command (pid {pgid})");
            1
        }
        Waited::Running => {
            kill_all(&signals, pgid);
            log!("exec timed out");
            EXIT_TIMED_OUT
        }
    }
}

#[derive(Debug)]
enum Waited {
    Exited(ExitStatus),
    /// Still running (when returned by `supervise`: at the deadline).
    Running,
    /// The wrapper has no children left, yet never reaped the command.
    Lost,
}

/// Waits for the command (pid `pgid`) until `deadline`, forwarding signals.
fn supervise(signals: &SignalSet, pgid: i32, deadline: Option<Instant>) -> Waited {
    loop {
        match reap(pgid) {
            Waited::Running => {}
            done => return done,
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Waited::Running;
        }
        match signals.wait(left) {
            Ok(Some(sig)) if FORWARDED.contains(&sig) => {
                if let Err(err) = sys::send_signal(-pgid, sig) {
                    log!("exec: forwarding {} failed: {err}", sys::signal_name(sig));
                }
            }
            Ok(_) => {}
            Err(err) => {
                log!("exec: waiting for signals failed: {err}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Reaps every exited child; reports whether one of them was the command.
fn reap(command: i32) -> Waited {
    loop {
        match sys::reap_one() {
            Ok(Reaped::Child { pid, status }) if pid == command => return Waited::Exited(status),
            Ok(Reaped::Child { .. }) => continue,
            Ok(Reaped::NoneReady) => return Waited::Running,
            Ok(Reaped::NoChildren) => return Waited::Lost,
            Err(err) => {
                log!("exec: waitpid failed: {err}");
                return Waited::Running;
            }
        }
    }
}

/// SIGKILLs the command's group, then every child of the wrapper until none
/// is left (or [`KILL_WAIT_CAP`] runs out), reaping them all.
fn kill_all(signals: &SignalSet, pgid: i32) {
    // The group leader is not reaped yet, so `pgid` still names our group.
    if let Err(err) = sys::send_signal(-pgid, SIGKILL) {
        log!("exec: kill(-{pgid}, SIGKILL) failed: {err}");
    }
    let began = Instant::now();
    loop {
        // Unreaped children keep their pids, so these cannot be reused ones.
        for pid in own_children() {
            if let Err(err) = sys::send_signal(pid, SIGKILL) {
                log!("exec: kill({pid}, SIGKILL) failed: {err}");
            }
        }
        if shutdown::reap_all() {
            return;
        }
        if began.elapsed() >= KILL_WAIT_CAP {
            let cap = secs(KILL_WAIT_CAP);
            log!("exec: processes still present {cap} after SIGKILL; giving up");
            return;
        }
        // Wakes early on SIGCHLD; orphans are re-scanned on every round.
        if signals.wait(Some(SWEEP_INTERVAL)).is_err() {
            std::thread::sleep(SWEEP_INTERVAL);
        }
    }
}

/// Pids whose parent is this process, from `/proc/*/stat` (which, unlike
/// `/proc/self/task/*/children`, needs no optional kernel feature).
fn own_children() -> Vec<i32> {
    let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
            stat.ok().and_then(|s| parent_pid(&s)) == Some(me)
        })
        .collect()
}

/// The ppid field of a `/proc/PID/stat` line: `PID (COMM) STATE PPID ...`,
/// where COMM may itself contain spaces and parentheses.
fn parent_pid(stat: &str) -> Option<i32> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// The command's status as an exit code, the way shells report it.
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(SIGKILL)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(SIGTERM)), 143);
    }

    #[test]
    fn reads_the_parent_pid_even_from_odd_command_names() {
        assert_eq!(parent_pid("42 (sleep) S 7 42 1 0 -1"), Some(7));
        assert_eq!(parent_pid("42 (a) b (c) R 9 42 1 0"), Some(9));
        assert_eq!(parent_pid("42 (no close"), None);
        assert_eq!(parent_pid("42 (x) S"), None);
    }

    #[test]
    fn lists_own_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = i32::try_from(child.id()).expect("pid");
        let listed = own_children().contains(&pid);
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(listed, "pid {pid} missing from own_children()");
    }
}
