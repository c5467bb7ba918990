//! Exit rule: an end event reads like Go's `ProcessState` (what E2B's envd
//! reports): a normal exit is `exitCode N, exited true, "exit status N"`; a
//! death by signal is `exitCode -1, exited false, "signal: <name>"` with
//! Go's lowercase signal names and ` (core dumped)` when one was.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use crate::proto::process::EndEvent;

/// The end event for a reaped child.
pub fn end_event(status: ExitStatus) -> EndEvent {
    if let Some(code) = status.code() {
        return EndEvent {
            exit_code: code,
            exited: true,
            status: format!("exit status {code}"),
            error: None,
        };
    }
    let signal = status.signal().unwrap_or(0);
    let core = if status.core_dumped() {
        " (core dumped)"
    } else {
        ""
    };
    EndEvent {
        exit_code: -1,
        exited: false,
        status: format!("signal: {}{core}", signal_name(signal)),
        error: None,
    }
}

/// The end event when waiting for the child itself failed.
pub fn wait_failed(err: &std::io::Error) -> EndEvent {
    EndEvent {
        exit_code: -1,
        exited: false,
        status: "unknown".into(),
        error: Some(format!("waiting for the process failed: {err}")),
    }
}

/// Go's names for Linux signals (`syscall.Signal.String`).
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "hangup",
        libc::SIGINT => "interrupt",
        libc::SIGQUIT => "quit",
        libc::SIGILL => "illegal instruction",
        libc::SIGTRAP => "trace/breakpoint trap",
        libc::SIGABRT => "aborted",
        libc::SIGBUS => "bus error",
        libc::SIGFPE => "floating point exception",
        libc::SIGKILL => "killed",
        libc::SIGUSR1 => "user defined signal 1",
        libc::SIGSEGV => "segmentation fault",
        libc::SIGUSR2 => "user defined signal 2",
        libc::SIGPIPE => "broken pipe",
        libc::SIGALRM => "alarm clock",
        libc::SIGTERM => "terminated",
        libc::SIGXCPU => "CPU time limit exceeded",
        libc::SIGXFSZ => "file size limit exceeded",
        libc::SIGSYS => "bad system call",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_like_go() {
        // Raw wait statuses: exit code in the high byte, signal in the low bits.
        let e = end_event(ExitStatus::from_raw(3 << 8));
        assert_eq!(
            (e.exit_code, e.exited, e.status.as_str()),
            (3, true, "exit status 3")
        );
        let e = end_event(ExitStatus::from_raw(libc::SIGKILL));
        assert_eq!(
            (e.exit_code, e.exited, e.status.as_str()),
            (-1, false, "signal: killed")
        );
        let e = end_event(ExitStatus::from_raw(libc::SIGTERM));
        assert_eq!(e.status, "signal: terminated");
        let e = end_event(ExitStatus::from_raw(libc::SIGABRT | 0x80));
        assert_eq!(e.status, "signal: aborted (core dumped)");
        assert_eq!(
            end_event(ExitStatus::from_raw(40)).status,
            "signal: signal 40"
        );
    }
}
