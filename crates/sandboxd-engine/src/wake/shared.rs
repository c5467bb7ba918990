//! One wait per key, however many ask: the first caller for a key starts the work in its own
//! task; callers that arrive while it runs subscribe to its outcome instead of starting their
//! own. The entry disappears when the work ends, so a later caller starts afresh. Used for
//! port waits during a wake: a burst of requests for a waking sandbox polls its port once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use tokio::sync::watch;

/// Outcomes being computed, by key.
pub(crate) struct SharedWaits<K> {
    running: Mutex<HashMap<K, watch::Receiver<Option<bool>>>>,
}

impl<K> Default for SharedWaits<K> {
    fn default() -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone + Send + 'static> SharedWaits<K> {
    /// Join the wait for `key`, or start it with `start`, which must hand the sender to work
    /// that calls [`SharedWaits::finish`] and then publishes `Some(outcome)`. `false` when the
    /// work vanished without publishing.
    pub(crate) async fn join<S>(&self, key: &K, start: S) -> bool
    where
        S: FnOnce(watch::Sender<Option<bool>>),
    {
        let mut rx = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            match running.get(key) {
                // A closed channel is work that vanished: start again.
                Some(rx) if rx.has_changed().is_ok() => rx.clone(),
                _ => {
                    let (tx, rx) = watch::channel(None);
                    running.insert(key.clone(), rx.clone());
                    start(tx);
                    rx
                }
            }
        };
        let outcome = match rx.wait_for(|v| v.is_some()).await {
            Ok(v) => v.unwrap_or(false),
            Err(_) => false,
        };
        outcome
    }

    /// End the wait for `key`: later callers start a new one.
    pub(crate) fn finish(&self, key: &K) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_wait_and_later_ones_start_afresh() {
        let waits = Arc::new(SharedWaits::<(u32, u16)>::default());
        let started = Arc::new(AtomicUsize::new(0));
        let call = |waits: Arc<SharedWaits<(u32, u16)>>, started: Arc<AtomicUsize>| async move {
            let w = waits.clone();
            waits
                .join(&(1, 3000), move |tx| {
                    started.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        w.finish(&(1, 3000));
                        let _ = tx.send(Some(true));
                    });
                })
                .await
        };
        let joined: Vec<_> = (0..20)
            .map(|_| tokio::spawn(call(waits.clone(), started.clone())))
            .collect();
        for j in joined {
            assert!(j.await.unwrap());
        }
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "one wait for twenty callers"
        );
        assert!(call(waits.clone(), started.clone()).await);
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "a finished wait is not reused"
        );
    }

    #[tokio::test]
    async fn a_wait_whose_work_vanished_reports_false() {
        let waits = SharedWaits::<u8>::default();
        let out = waits.join(&7, drop).await;
        assert!(!out);
        let out = waits
            .join(&7, |tx| {
                let _ = tx.send(Some(true));
            })
            .await;
        assert!(out, "a vanished wait is replaced");
    }
}
