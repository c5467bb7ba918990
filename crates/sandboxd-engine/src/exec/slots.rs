//! Concurrent execs per sandbox are capped: each holds its output in sandboxd's memory while it
//! runs, so an unbounded number of parallel execs is a memory denial of service. A slot is taken
//! before anything else happens and given back when its guard drops (also on cancellation).

use sandboxd_core::SandboxId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Execs one sandbox may run at once; one more is refused as `capacity` (503, Retry-After).
pub const MAX_CONCURRENT_EXECS: u32 = 16;

#[derive(Default)]
pub(crate) struct ExecSlots {
    in_flight: Mutex<HashMap<SandboxId, u32>>,
}

pub(crate) struct ExecSlot {
    slots: Arc<ExecSlots>,
    id: SandboxId,
}

impl ExecSlots {
    /// A slot for one exec in `id`, or `None` when all are taken.
    pub(crate) fn take(self: &Arc<Self>, id: &SandboxId) -> Option<ExecSlot> {
        // Plain counters: a panic elsewhere cannot leave them half-updated.
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(id.clone()).or_insert(0);
        if *n >= MAX_CONCURRENT_EXECS {
            return None;
        }
        *n += 1;
        Some(ExecSlot {
            slots: self.clone(),
            id: id.clone(),
        })
    }
}

impl Drop for ExecSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_sandbox_and_given_back() {
        let slots = Arc::new(ExecSlots::default());
        let a = SandboxId::parse_new("a").unwrap();
        let b = SandboxId::parse_new("b").unwrap();
        let held: Vec<_> = (0..MAX_CONCURRENT_EXECS)
            .map(|_| slots.take(&a).unwrap())
            .collect();
        assert!(slots.take(&a).is_none());
        assert!(slots.take(&b).is_some());
        drop(held);
        assert!(slots.take(&a).is_some());
        assert!(slots.in_flight.lock().unwrap().is_empty());
    }
}
