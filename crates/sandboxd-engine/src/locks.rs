//! One lock per sandbox: every lifecycle action on one sandbox (create, start, stop, delete,
//! purge, exec bookkeeping, reconcile) holds it, so they never interleave; actions on different
//! sandboxes run in parallel.

use sandboxd_core::SandboxId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub struct SandboxLocks {
    map: Mutex<HashMap<SandboxId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held for the duration of one action on one sandbox.
pub struct SandboxGuard {
    _guard: OwnedMutexGuard<()>,
}

impl SandboxLocks {
    pub async fn lock(&self, id: &SandboxId) -> SandboxGuard {
        let lock = {
            // A poisoned map only means another thread panicked while inserting; the map itself
            // is still a valid map, so keep using it.
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 4096 {
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(id.clone()).or_default().clone()
        };
        SandboxGuard {
            _guard: lock.lock_owned().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn same_id_serializes_other_ids_run_in_parallel() {
        let locks = Arc::new(SandboxLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let a = SandboxId::parse_new("a").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (locks, inside, max_seen, a) =
                (locks.clone(), inside.clone(), max_seen.clone(), a.clone());
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock(&a).await;
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let held = locks.lock(&SandboxId::parse_new("b").unwrap()).await;
        for t in tasks {
            t.await.unwrap();
        }
        drop(held);
        assert_eq!(max_seen.load(Ordering::SeqCst), 1);
    }
}
