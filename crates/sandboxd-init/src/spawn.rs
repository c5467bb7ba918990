//! Rule: every process the init starts is detached from the init's own
//! state: it leads its own process group, reads stdin from /dev/null,
//! inherits stdout/stderr (Docker's log), and starts with an empty signal
//! mask and default dispositions. The one exception is exec mode's command,
//! which also inherits stdin (the `docker exec` session's), along with the
//! wrapper's environment and working directory.
//!
//! The signal state is reset explicitly in the child before exec
//! ([`sys::reset_signal_state`]): the init blocks the signals it waits for,
//! and std's spawn (as of Rust 1.95) resets SIGPIPE but leaves that mask in
//! place, which would make every workload deaf to SIGTERM.
//! Children are never waited on through `std::process::Child`; the main loop
//! (or exec mode's wait loop) reaps them by pid.

use std::ffi::{OsStr, OsString};
use std::io;
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

fn launch(mut cmd: Command, stdin: Stdio) -> io::Result<i32> {
    cmd.process_group(0)
        .stdin(stdin)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // SAFETY: the hook runs between fork and exec and only makes
    // async-signal-safe calls (see `sys::reset_signal_state`).
    unsafe { cmd.pre_exec(sys::reset_signal_state) };
    let child = cmd.spawn()?;
    i32::try_from(child.id()).map_err(|_| io::Error::other("child pid out of range"))
}
