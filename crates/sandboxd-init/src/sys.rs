//! Rule: this is the only module that calls the C library directly.
//!
//! It declares the few POSIX calls std does not wrap — signal masks,
//! synchronous signal waits, `waitpid(-1)`, `kill`, the subreaper flag, the
//! effective uid — and exposes them as safe functions. Declaring them here
//! instead of pulling in the `libc` crate keeps the init std-only, which is
//! what lets `sandboxd-engine`'s build script compile it with a single
//! `rustc` call.
//! The declarations are for 64-bit Linux (glibc or musl), where `sigset_t` is
//! 128 bytes, `struct timespec` is two 64-bit words, and signal numbers follow
//! the generic Linux ABI.

mod environ;

pub use environ::take_secret;

use std::ffi::{c_int, c_long, c_void};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("sandboxd-init declares its syscalls for Linux on x86_64/aarch64 only");

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;

/// `open(2)` flags std has no names for.
pub const O_NONBLOCK: i32 = 0o4000;
#[cfg(target_arch = "x86_64")]
pub const O_NOFOLLOW: i32 = 0o400000;
#[cfg(target_arch = "aarch64")]
pub const O_NOFOLLOW: i32 = 0o100000;

const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const SIGSTOP: i32 = 19;
/// Highest signal number (real-time signals included).
const SIGRTMAX: i32 = 64;
/// `SIG_DFL` as a handler value.
const SIG_DFL: usize = 0;
const WNOHANG: c_int = 1;
const PR_SET_CHILD_SUBREAPER: c_int = 36;
const ESRCH: i32 = 3;
const EINTR: i32 = 4;
const ECHILD: i32 = 10;
const EAGAIN: i32 = 11;

/// `sigset_t`: 1024 bits on both glibc and musl.
#[repr(C)]
struct RawSigSet([u64; 16]);

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: c_long,
}

extern "C" {
    fn sigemptyset(set: *mut RawSigSet) -> c_int;
    fn sigaddset(set: *mut RawSigSet, signo: c_int) -> c_int;
    fn sigprocmask(how: c_int, set: *const RawSigSet, old: *mut RawSigSet) -> c_int;
    fn sigtimedwait(set: *const RawSigSet, info: *mut c_void, timeout: *const Timespec) -> c_int;
    fn waitpid(pid: i32, status: *mut c_int, options: c_int) -> i32;
    fn kill(pid: i32, sig: c_int) -> c_int;
    fn prctl(option: c_int, ...) -> c_int;
    fn signal(signo: c_int, handler: usize) -> usize;
    fn geteuid() -> u32;
}

/// A set of signals that the init blocks and then consumes synchronously.
pub struct SignalSet(RawSigSet);

impl SignalSet {
    pub fn new(signals: &[i32]) -> SignalSet {
        let mut set = RawSigSet([0; 16]);
        // SAFETY: `set` is a valid, writable sigset_t-sized buffer. These calls
        // only fail for invalid signal numbers, and ours are constants.
        unsafe {
            sigemptyset(&mut set);
            for &sig in signals {
                sigaddset(&mut set, sig);
            }
        }
        SignalSet(set)
    }

    /// Adds the set to the process signal mask, so its signals stay pending
    /// until [`SignalSet::wait`] takes them. Children must not inherit this
    /// mask: see [`reset_signal_state`].
    pub fn block(&self) -> io::Result<()> {
        // SAFETY: valid set pointer; a null old-set pointer is allowed.
        let rc = unsafe { sigprocmask(SIG_BLOCK, &self.0, std::ptr::null_mut()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits for one signal of the set. `None` timeout waits forever.
    /// Returns `Ok(None)` when the timeout passed or the wait was interrupted.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<Option<i32>> {
        let spec = timeout.map(|t| Timespec {
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: c_long::from(t.subsec_nanos()),
        });
        let spec_ptr = spec
            .as_ref()
            .map_or(std::ptr::null(), |s| s as *const Timespec);
        // SAFETY: valid set pointer; null siginfo is allowed; the timespec
        // pointer is null (wait forever) or points at `spec`, alive here.
        let rc = unsafe { sigtimedwait(&self.0, std::ptr::null_mut(), spec_ptr) };
        if rc > 0 {
            return Ok(Some(rc));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(EAGAIN) | Some(EINTR) => Ok(None),
            _ => Err(err),
        }
    }
}

/// Puts the calling process's signal state back to the POSIX default: an
/// empty mask and `SIG_DFL` for every signal. std's spawn does not clear the
/// mask it inherits from the init (observed with Rust 1.95), so this runs in
/// every child between fork and exec. Async-signal-safe: it only calls
/// `sigprocmask` and `signal`, and allocates nothing.
pub fn reset_signal_state() -> io::Result<()> {
    let empty = RawSigSet([0; 16]);
    // SAFETY: valid set pointer; a null old-set pointer is allowed.
    if unsafe { sigprocmask(SIG_SETMASK, &empty, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for sig in (1..=SIGRTMAX).filter(|&sig| sig != SIGKILL && sig != SIGSTOP) {
        // SAFETY: installs the default action. The signals libc reserves for
        // itself (32, 33) fail with EINVAL and keep what the init inherited,
        // which is the default when the init is PID 1.
        unsafe { signal(sig, SIG_DFL) };
    }
    Ok(())
}

/// Restores the default action of `sig` in the calling process.
pub fn default_action(sig: i32) {
    // SAFETY: installs the default action; an invalid number only fails.
    unsafe { signal(sig, SIG_DFL) };
}

/// Outcome of one non-blocking `waitpid(-1)`.
#[derive(Debug)]
pub enum Reaped {
    Child {
        pid: i32,
        status: ExitStatus,
    },
    /// Children exist but none has exited.
    NoneReady,
    /// The init has no children at all.
    NoChildren,
}

/// Reaps at most one exited child (any pid, including reparented orphans).
pub fn reap_one() -> io::Result<Reaped> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let pid = unsafe { waitpid(-1, &mut status, WNOHANG) };
        if pid > 0 {
            let status = ExitStatus::from_raw(status);
            return Ok(Reaped::Child { pid, status });
        }
        if pid == 0 {
            return Ok(Reaped::NoneReady);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(ECHILD) => return Ok(Reaped::NoChildren),
            Some(EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// `kill(2)`: `pid == -1` means every process we may signal, `pid < -1` a
/// process group. ESRCH ("nobody to signal") is not an error here.
pub fn send_signal(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    if unsafe { kill(pid, sig) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(ESRCH) {
        return Ok(());
    }
    Err(err)
}

/// Makes orphaned descendants reparent to this process (used when the init
/// is not PID 1, e.g. when run by hand).
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    if unsafe { prctl(PR_SET_CHILD_SUBREAPER, 1 as std::ffi::c_ulong) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The effective user id (never fails).
pub fn effective_uid() -> u32 {
    // SAFETY: plain syscall without arguments.
    unsafe { geteuid() }
}

pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        SIGHUP => "SIGHUP",
        SIGINT => "SIGINT",
        SIGQUIT => "SIGQUIT",
        6 => "SIGABRT",
        SIGKILL => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        SIGTERM => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// `status=N` for a normal exit, `signal=NAME` for a kill.
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status={code}"),
        (None, Some(sig)) => format!("signal={}", signal_name(sig)),
        (None, None) => format!("raw-status={}", status.into_raw()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for(pid: i32) -> ExitStatus {
        let mut status: c_int = 0;
        // SAFETY: `status` is a valid out-pointer.
        let rc = unsafe { waitpid(pid, &mut status, 0) };
        assert_eq!(rc, pid, "waitpid: {}", io::Error::last_os_error());
        ExitStatus::from_raw(status)
    }

    /// Reads a `Sig*:` hex mask of `pid` from /proc.
    fn proc_mask(pid: i32, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let line = status.lines().find_map(|l| l.strip_prefix(field));
        let hex = line
            .map(|l| l.trim_start_matches(':').trim())
            .expect("field");
        u64::from_str_radix(hex, 16).expect("hex mask")
    }

    #[test]
    fn children_start_with_empty_mask_and_default_dispositions() {
        const SIGUSR2: i32 = 12;
        /// Signals 1..=31; 32 and 33 belong to libc and are left as inherited.
        const STANDARD: u64 = 0x7fff_ffff;
        // Blocks signals in this test thread only; the harness already
        // ignores SIGPIPE process-wide, so both need resetting in the child.
        SignalSet::new(&[SIGUSR2, SIGTERM]).block().expect("block");
        let argv = ["sleep", "30"].map(String::from);
        let env = [("PATH".to_string(), "/usr/bin:/bin".to_string())];
        // spawn returns only after the child has exec'd sleep.
        let pid = crate::spawn::exact(&argv, &env, None).expect("spawn sleep");
        let blocked = proc_mask(pid, "SigBlk");
        let ignored = proc_mask(pid, "SigIgn") & STANDARD;
        send_signal(pid, SIGKILL).expect("kill");
        assert_eq!(wait_for(pid).signal(), Some(SIGKILL));
        assert_eq!(blocked, 0, "child inherited the signal mask");
        assert_eq!(ignored, 0, "child inherited SIG_IGN dispositions");
    }

    #[test]
    fn describes_exit_codes_and_signals() {
        assert_eq!(describe_status(ExitStatus::from_raw(3 << 8)), "status=3");
        assert_eq!(describe_status(ExitStatus::from_raw(9)), "signal=SIGKILL");
        assert_eq!(signal_name(64), "signal 64");
    }
}
