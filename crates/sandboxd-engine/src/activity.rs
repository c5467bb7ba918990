//! Activity bookkeeping: when a sandbox was last used and by what, which execs are in flight and
//! which keepalive leases hold. Kept in memory (it changes on every request); the last activity
//! time is also written to the store at lifecycle points so it survives restarts.

use sandboxd_core::SandboxId;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// What last counted as activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    Create,
    Start,
    Exec,
    Keepalive,
    Request,
    Connection,
}

#[derive(Debug, Clone, Default)]
struct State {
    last_ms: i64,
    source: Option<ActivitySource>,
    execs: u32,
    connections: u32,
    lease_until_ms: i64,
}

/// A snapshot for `/activity` and for the idle reaper.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActivityReport {
    pub last_active_ms: i64,
    pub last_source: Option<ActivitySource>,
    pub execs_in_flight: u32,
    pub open_connections: u32,
    pub lease_until_ms: Option<i64>,
}

#[derive(Default)]
pub struct Activity {
    map: Mutex<HashMap<SandboxId, State>>,
}

impl Activity {
    fn with<T>(&self, id: &SandboxId, f: impl FnOnce(&mut State) -> T) -> T {
        // The map holds plain counters: a panic elsewhere cannot leave it inconsistent.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(id.clone()).or_default())
    }

    pub fn touch(&self, id: &SandboxId, now_ms: i64, source: ActivitySource) {
        self.with(id, |s| {
            if now_ms >= s.last_ms {
                s.last_ms = now_ms;
                s.source = Some(source);
            }
        })
    }

    pub fn exec_started(&self, id: &SandboxId, now_ms: i64) {
        self.touch(id, now_ms, ActivitySource::Exec);
        self.with(id, |s| s.execs += 1)
    }

    pub fn exec_finished(&self, id: &SandboxId, now_ms: i64) {
        self.with(id, |s| s.execs = s.execs.saturating_sub(1));
        self.touch(id, now_ms, ActivitySource::Exec);
    }

    pub fn set_lease(&self, id: &SandboxId, until_ms: i64) {
        self.with(id, |s| s.lease_until_ms = s.lease_until_ms.max(until_ms))
    }

    pub fn forget(&self, id: &SandboxId) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    pub fn report(&self, id: &SandboxId, stored_last_ms: i64, now_ms: i64) -> ActivityReport {
        self.with(id, |s| ActivityReport {
            last_active_ms: s.last_ms.max(stored_last_ms),
            last_source: s.source,
            execs_in_flight: s.execs,
            open_connections: s.connections,
            lease_until_ms: (s.lease_until_ms > now_ms).then_some(s.lease_until_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_execs_leases_and_latest_source() {
        let a = Activity::default();
        let id = SandboxId::parse_new("a").unwrap();
        a.touch(&id, 100, ActivitySource::Create);
        a.exec_started(&id, 200);
        let r = a.report(&id, 50, 250);
        assert_eq!((r.last_active_ms, r.execs_in_flight), (200, 1));
        assert_eq!(r.last_source, Some(ActivitySource::Exec));
        a.exec_finished(&id, 300);
        a.set_lease(&id, 1000);
        a.touch(&id, 10, ActivitySource::Request); // older than what we know: ignored
        let r = a.report(&id, 50, 400);
        assert_eq!(
            (r.last_active_ms, r.execs_in_flight, r.lease_until_ms),
            (300, 0, Some(1000))
        );
        assert_eq!(a.report(&id, 0, 2000).lease_until_ms, None);
    }
}
