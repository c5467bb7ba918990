//! Rule: a terminate signal stops the whole sandbox, promptly and for good.
//!
//! SIGTERM goes to every process, the init reaps until it has no children
//! left or the grace period runs out, then SIGKILL goes to every process
//! (this also catches `docker exec` sessions, which are not our children),
//! the rest is reaped, and the init exits 0. As PID 1, "every process" is
//! `kill(-1)`: the whole PID namespace. When the init is not PID 1 (run by
//! hand), it signals only the process groups it started, so a test run can
//! never signal everything the user owns.

use std::time::{Duration, Instant};

use crate::log::{log, secs};
use crate::sys::{self, Reaped, SignalSet, SIGKILL, SIGTERM};

/// Upper bound on reaping after SIGKILL.
const KILL_WAIT_CAP: Duration = Duration::from_secs(5);

/// Who gets the shutdown signals.
pub enum Scope {
    /// `kill(-1)`: everything in the PID namespace (the init is PID 1).
    Namespace,
    /// Only these process groups (the init is not PID 1).
    Groups(Vec<i32>),
}

impl Scope {
    fn signal(&self, sig: i32) {
        let targets = match self {
            Scope::Namespace => vec![-1],
            Scope::Groups(groups) => groups.iter().map(|pgid| -pgid).collect(),
        };
        for target in targets {
            if let Err(err) = sys::send_signal(target, sig) {
                log!("kill({target}, {}) failed: {err}", sys::signal_name(sig));
            }
        }
    }
}

/// Runs the whole stop sequence. `signals` must include SIGCHLD.
pub fn run(signals: &SignalSet, scope: &Scope, grace: Duration) {
    let began = Instant::now();
    scope.signal(SIGTERM);
    let deadline = began.checked_add(grace);
    let all_gone = loop {
        if reap_all() {
            break true;
        }
        let now = Instant::now();
        let left = deadline.map(|d| d.saturating_duration_since(now));
        if left == Some(Duration::ZERO) {
            break false;
        }
        // Wakes on SIGCHLD; repeated terminate signals are simply consumed.
        if let Err(err) = signals.wait(left) {
            log!("waiting for children failed: {err}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    if all_gone {
        log!("all children exited after {}", secs(began.elapsed()));
    } else {
        log!("grace period of {} elapsed; sending SIGKILL", secs(grace));
    }
    scope.signal(SIGKILL);
    reap_until_none(signals);
}

/// Reaps every exited child; true once the init has no children at all.
pub fn reap_all() -> bool {
    loop {
        match sys::reap_one() {
            Ok(Reaped::Child { .. }) => continue,
            Ok(Reaped::NoneReady) => return false,
            Ok(Reaped::NoChildren) => return true,
            Err(err) => {
                log!("waitpid failed: {err}");
                return false;
            }
        }
    }
}

/// After SIGKILL: reap until no child is left. SIGKILL cannot be caught, so
/// this normally ends at once; the cap only guards against processes stuck
/// in the kernel (or, when not PID 1, children outside our groups).
fn reap_until_none(signals: &SignalSet) {
    let began = Instant::now();
    while !reap_all() {
        let left = KILL_WAIT_CAP.saturating_sub(began.elapsed());
        if left.is_zero() {
            log!(
                "children still present {} after SIGKILL; exiting anyway",
                secs(KILL_WAIT_CAP)
            );
            return;
        }
        if signals.wait(Some(left)).is_err() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
