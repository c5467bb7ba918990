//! The wake rate limit: a sandbox whose last wakes failed (its container would not start, or
//! its app never answered on the port before the wake deadline, or exited meanwhile) is started
//! at most [`MAX_FAILURES`] times per [`WINDOW_MS`]: past that, wakes are refused until the
//! oldest failure leaves the window. A successful wake forgets the failures. A crash-looping
//! app therefore costs a few container starts a minute, not one per request.

use sandboxd_core::SandboxId;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Failed wakes tolerated within [`WINDOW_MS`] before further wakes are refused.
pub const MAX_FAILURES: usize = 3;
/// The sliding window failures are counted in.
pub const WINDOW_MS: i64 = 60_000;

/// Recent failed wakes per sandbox (only sandboxes that failed have an entry).
#[derive(Default)]
pub(crate) struct WakeThrottle {
    failures: Mutex<HashMap<SandboxId, VecDeque<i64>>>,
}

impl WakeThrottle {
    /// A wake of `id` failed at `now_ms`.
    pub(crate) fn failed(&self, id: &SandboxId, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let recent = map.entry(id.clone()).or_default();
        recent.retain(|&t| now_ms - t < WINDOW_MS);
        recent.push_back(now_ms);
        while recent.len() > MAX_FAILURES {
            recent.pop_front();
        }
    }

    /// A wake of `id` succeeded: its past failures no longer count.
    pub(crate) fn succeeded(&self, id: &SandboxId) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    /// `Some(seconds until a wake is allowed again)` when `id` may not be started now.
    pub(crate) fn refused(&self, id: &SandboxId, now_ms: i64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let recent = map.get_mut(id)?;
        recent.retain(|&t| now_ms - t < WINDOW_MS);
        if recent.is_empty() {
            map.remove(id);
            return None;
        }
        if recent.len() < MAX_FAILURES {
            return None;
        }
        let oldest = *recent.front()?;
        Some(((oldest + WINDOW_MS - now_ms).max(0) as u64).div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_repeated_failures_until_the_window_passes() {
        let t = WakeThrottle::default();
        let id = SandboxId::parse_new("abc123").unwrap();
        assert_eq!(t.refused(&id, 0), None);
        t.failed(&id, 0);
        t.failed(&id, 1_000);
        assert_eq!(t.refused(&id, 2_000), None, "two failures still wake");
        t.failed(&id, 2_000);
        assert_eq!(t.refused(&id, 3_000), Some(57));
        assert_eq!(
            t.refused(&id, 60_500),
            None,
            "the oldest failure left the window"
        );
        t.failed(&id, 61_000);
        assert_eq!(
            t.refused(&id, 61_000),
            None,
            "two failures inside the window"
        );
        t.failed(&id, 61_100);
        assert!(t.refused(&id, 61_100).is_some());
        t.succeeded(&id);
        assert_eq!(t.refused(&id, 61_100), None, "success forgets failures");
    }
}
