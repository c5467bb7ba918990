//! Rule: every process the init starts is detached from the init's own
//! state: it leads its own process group, reads stdin from /dev/null,
//! inherits stdout/stderr (Docker's log), and starts with an empty signal
//! mask and default dispositions. The one exception is exec mode's command,
//! which also inherits stdin (the `docker exec` session's), along with the
//! wrapper's environment and working directory; and the agent, whose stdin
//! is a pipe that carries its token line and is then closed.
//!
//! The signal state is reset explicitly in the child before exec
//! ([`sys::reset_signal_state`]): the init blocks the signals it waits for,
//! and std's spawn (as of Rust 1.95) resets SIGPIPE but leaves that mask in
//! place, which would make every workload deaf to SIGTERM.
//! Children are never waited on through `std::process::Child`; the main loop
//! (or exec mode's wait loop) reaps them by pid.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::sys;

/// Runs `/bin/sh -c COMMAND` in `cwd` with the init's environment.
pub fn shell(command: &OsStr, cwd: &Path) -> io::Result<i32> {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command).current_dir(cwd);
    launch(cmd, Stdio::null())
}

/// Runs `argv` for an exec session: `argv[0]` is looked up in `PATH` like
/// `execvp` does; stdin, environment and working directory are inherited.
pub fn session(argv: &[OsString]) -> io::Result<i32> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args);
    launch(cmd, Stdio::inherit())
}

/// Runs `argv` with exactly `env` (nothing inherited) in `cwd`, or in the
/// init's own working directory when `cwd` is `None`. `argv[0]` is looked up
/// in the `PATH` of `env`.
pub fn exact(argv: &[String], env: &[(String, String)], cwd: Option<&Path>) -> io::Result<i32> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear();
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    launch(cmd, Stdio::null())
}

/// Runs the agent at `path` with no arguments in `/`, writes `token_line`
/// (if any) into its stdin pipe and closes it. The line is at most a few
/// hundred bytes, below the pipe's atomic size, so the write never blocks;
/// if the agent is already gone the failed write is only logged.
pub fn agent(path: &Path, token_line: Option<&[u8]>) -> io::Result<i32> {
    let mut cmd = Command::new(path);
    cmd.current_dir("/");
    let mut child = prepare(cmd, Stdio::piped()).spawn()?;
    if let (Some(mut stdin), Some(line)) = (child.stdin.take(), token_line) {
        if let Err(err) = stdin.write_all(line) {
            crate::log::log!("cannot hand the agent its token: {err}");
        }
    }
    // Dropping `child` (and its stdin) closes our end of the pipe; the main
    // loop reaps the process by pid.
    i32::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))
}

fn launch(cmd: Command, stdin: Stdio) -> io::Result<i32> {
    let child = prepare(cmd, stdin).spawn()?;
    i32::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))
}

fn prepare(mut cmd: Command, stdin: Stdio) -> Command {
    cmd.process_group(0)
        .stdin(stdin)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // SAFETY: the hook runs between fork and exec and only makes
    // async-signal-safe calls (see `sys::reset_signal_state`).
    unsafe { cmd.pre_exec(sys::reset_signal_state) };
    cmd
}
