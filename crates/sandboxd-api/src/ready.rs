//! Readiness: a background probe checks the store and the engine every few seconds; `/readyz`
//! answers from the last result, so probes never cost a Docker call each.

use sandboxd_engine::Engine;
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
struct Last {
    ready: bool,
    reason: Option<String>,
    checked_at_ms: i64,
}

#[derive(Clone, Default)]
pub struct ReadyState {
    last: Arc<RwLock<Last>>,
}

impl ReadyState {
    /// Probe now, then keep probing every `period` in the background (until the returned task
    /// is aborted).
    pub async fn spawn(engine: Engine, period: Duration) -> (Self, tokio::task::JoinHandle<()>) {
        let state = ReadyState::default();
        state.probe(&engine).await;
        let bg = state.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                bg.probe(&engine).await;
            }
        });
        (state, task)
    }

    async fn probe(&self, engine: &Engine) {
        let result = tokio::time::timeout(Duration::from_secs(5), engine.check_ready()).await;
        let reason = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("readiness check timed out".to_string()),
        };
        let mut last = self.last.write().unwrap_or_else(|p| p.into_inner());
        *last = Last {
            ready: reason.is_none(),
            reason,
            checked_at_ms: engine.now_ms(),
        };
    }

    /// (ready, reason, checked_at_ms)
    pub fn get(&self) -> (bool, Option<String>, i64) {
        let last = self.last.read().unwrap_or_else(|p| p.into_inner());
        (last.ready, last.reason.clone(), last.checked_at_ms)
    }
}
