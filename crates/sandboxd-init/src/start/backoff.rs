//! Rule: restart delays of the start command double from 1 s up to a 30 s
//! cap, and fall back to 1 s once a run has lasted at least 60 s.

use std::time::Duration;

pub const INITIAL: Duration = Duration::from_secs(1);
pub const MAX: Duration = Duration::from_secs(30);
pub const RESET_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: INITIAL }
    }
}

impl Backoff {
    /// Delay before the next start, given how long the run that just ended
    /// lasted (zero for a start that failed to launch).
    pub fn after_run(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= RESET_AFTER {
            self.next = INITIAL;
        }
        let delay = self.next;
        self.next = (delay * 2).min(MAX);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> u64 {
        d.as_secs()
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let mut b = Backoff::default();
        let quick = Duration::from_millis(200);
        let delays: Vec<u64> = (0..8).map(|_| secs(b.after_run(quick))).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn long_run_resets_to_initial() {
        let mut b = Backoff::default();
        for _ in 0..6 {
            b.after_run(Duration::ZERO);
        }
        assert_eq!(b.after_run(RESET_AFTER), INITIAL);
        assert_eq!(b.after_run(Duration::from_secs(59)), Duration::from_secs(2));
        assert_eq!(b.after_run(Duration::from_secs(3600)), INITIAL);
    }
}
