//! Activity and routing, under one lock so the idle reaper and the proxy never race: the proxy
//! registers a connection and reads the route in one step, and the reaper retires the route only
//! if, in one step, it sees no connection, no exec, no lease and enough idle time. Whichever comes
//! first wins; the loser sees the winner's effect.
//!
//! Each entry carries a generation, new whenever the entry is made: guards remember the one they
//! counted in, so a guard that outlives a delete (and a re-create of the same id) cannot
//! decrement the new sandbox's counters.

mod guards;
mod report;

pub use guards::{ConnectionGuard, ExecGuard, SessionGuard};

pub use report::{ActivityReport, ActivitySource, ActivityView, SessionKind};

use crate::clock::Clock;
use sandboxd_core::SandboxId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
struct State {
    /// Which incarnation of the entry this is (see the module rule).
    generation: u64,
    last_ms: i64,
    source: Option<ActivitySource>,
    execs: u32,
    connections: u32,
    /// Open agent sessions (streams, terminals, watches, transfers) by kind.
    sessions: BTreeMap<SessionKind, u32>,
    lease_until_ms: i64,
    /// Address of the running container; `None` when not known to be running.
    route: Option<IpAddr>,
    /// When the container last started (ms), for the warm-up window of port checks.
    started_ms: i64,
    /// Ports seen accepting connections since the last start.
    ready_ports: BTreeSet<u16>,
    /// Whether an exec ran since the container last started (only then can there be processes
    /// worth recording for relaunch). Unknown history counts as yes.
    exec_since_start: Option<bool>,
}

/// Where the proxy may send a request right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub ip: IpAddr,
    pub port_ready: bool,
    pub started_ms: i64,
}

pub struct Activity {
    map: Mutex<HashMap<SandboxId, State>>,
    next_generation: AtomicU64,
    clock: Arc<dyn Clock>,
}

impl Activity {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            clock,
        }
    }

    fn with<T>(&self, id: &SandboxId, f: impl FnOnce(&mut State) -> T) -> T {
        // The map holds plain data: a panic elsewhere cannot leave it inconsistent.
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(id.clone()).or_insert_with(|| State {
            generation: self.next_generation.fetch_add(1, Ordering::Relaxed),
            ..State::default()
        }))
    }

    /// Undo one count taken by a guard of `generation`, if that entry still exists.
    fn release(
        &self,
        id: &SandboxId,
        generation: u64,
        source: ActivitySource,
        f: impl FnOnce(&mut State),
    ) {
        let now = self.clock.now_ms();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get_mut(id).filter(|s| s.generation == generation) {
            f(s);
            touch(s, now, source);
        }
    }

    pub fn touch(&self, id: &SandboxId, now_ms: i64, source: ActivitySource) {
        self.with(id, |s| touch(s, now_ms, source))
    }

    /// Count an exec until the returned guard drops (also when the caller is cancelled).
    pub fn exec_started(self: &Arc<Self>, id: &SandboxId, now_ms: i64) -> ExecGuard {
        let generation = self.with(id, |s| {
            touch(s, now_ms, ActivitySource::Exec);
            s.execs += 1;
            s.exec_since_start = Some(true);
            s.generation
        });
        ExecGuard {
            table: self.clone(),
            id: id.clone(),
            generation,
        }
    }

    /// Count an agent session of `kind` until the returned guard drops; it holds the sandbox
    /// awake for its whole life, like an open connection.
    pub fn session_started(
        self: &Arc<Self>,
        id: &SandboxId,
        kind: SessionKind,
        now_ms: i64,
    ) -> SessionGuard {
        let generation = self.with(id, |s| {
            touch(s, now_ms, ActivitySource::Agent);
            *s.sessions.entry(kind).or_insert(0) += 1;
            // Agent processes may outlive the session: record listeners at the next stop.
            s.exec_since_start = Some(true);
            s.generation
        });
        SessionGuard {
            table: self.clone(),
            id: id.clone(),
            generation,
            kind,
        }
    }

    /// Whether processes started by hand may be running (an exec ran since the last start, or
    /// we cannot know): then a stop records listeners for relaunch.
    pub fn may_have_hand_started(&self, id: &SandboxId) -> bool {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).and_then(|s| s.exec_since_start).unwrap_or(true)
    }

    pub fn set_lease(&self, id: &SandboxId, until_ms: i64) {
        self.with(id, |s| s.lease_until_ms = s.lease_until_ms.max(until_ms))
    }

    /// Record where a running container answers (or that it does not run: `None`).
    /// `fresh_start`: the container was just started by us, so nothing was exec'd in it yet.
    pub fn set_route(&self, id: &SandboxId, ip: Option<IpAddr>, now_ms: i64, fresh_start: bool) {
        self.with(id, |s| {
            if fresh_start && ip.is_some() {
                s.exec_since_start = Some(false);
            }
            if ip.is_some() && s.route != ip {
                s.started_ms = now_ms;
            }
            if ip.is_none() || s.route != ip {
                s.ready_ports.clear();
            }
            s.route = ip;
        })
    }

    pub fn mark_port_ready(&self, id: &SandboxId, port: u16) {
        self.with(id, |s| {
            if s.route.is_some() {
                s.ready_ports.insert(port);
            }
        })
    }

    /// Whether `port` answered since the container that started at `started_ms` did.
    pub fn port_ready(&self, id: &SandboxId, port: u16, started_ms: i64) -> bool {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id).is_some_and(|s| {
            s.route.is_some() && s.started_ms == started_ms && s.ready_ports.contains(&port)
        })
    }

    /// The proxy's entry point: count a connection (until the guard drops) and read the route.
    /// Unknown sandboxes get no entry (random host names must not grow the map).
    pub fn open(
        self: &Arc<Self>,
        id: &SandboxId,
        port: u16,
        now_ms: i64,
    ) -> Option<(ConnectionGuard, Option<Route>)> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get_mut(id)?;
        s.connections += 1;
        touch(s, now_ms, ActivitySource::Request);
        let route = s.route.map(|ip| Route {
            ip,
            port_ready: s.ready_ports.contains(&port),
            started_ms: s.started_ms,
        });
        Some((
            ConnectionGuard {
                table: self.clone(),
                id: id.clone(),
                generation: s.generation,
            },
            route,
        ))
    }

    /// The route alone, without counting a connection.
    pub fn route(&self, id: &SandboxId) -> Option<Route> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.get(id)?;
        s.route.map(|ip| Route {
            ip,
            port_ready: false,
            started_ms: s.started_ms,
        })
    }

    /// Create the entry for a sandbox that exists (so [`Activity::open`] finds it).
    pub fn ensure(&self, id: &SandboxId) {
        self.with(id, |_| ())
    }

    /// The reaper's step: if the sandbox has been idle for `idle_ms` with nothing holding it,
    /// retire its route (so new requests take the wake path) and return true.
    pub fn try_retire(
        &self,
        id: &SandboxId,
        now_ms: i64,
        stored_last_ms: i64,
        idle_ms: i64,
    ) -> bool {
        self.with(id, |s| {
            let last = s.last_ms.max(stored_last_ms);
            let idle = s.connections == 0
                && s.execs == 0
                && s.sessions.is_empty()
                && s.lease_until_ms <= now_ms
                && now_ms - last >= idle_ms;
            if idle {
                s.route = None;
                s.ready_ports.clear();
            }
            idle
        })
    }

    /// An explicit freeze's step: if no connection, exec or session is open (a lease or recent
    /// use does not count: those only hold off the reaper), retire the route and return true.
    pub fn try_retire_unused(&self, id: &SandboxId) -> bool {
        self.with(id, |s| {
            let unused = s.connections == 0 && s.execs == 0 && s.sessions.is_empty();
            if unused {
                s.route = None;
                s.ready_ports.clear();
            }
            unused
        })
    }

    pub fn forget(&self, id: &SandboxId) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }

    /// What the table knows of `id` (reading never creates an entry).
    pub fn report(&self, id: &SandboxId, stored_last_ms: i64, now_ms: i64) -> ActivityReport {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let empty = State::default();
        let s = map.get(id).unwrap_or(&empty);
        ActivityReport {
            last_active_ms: s.last_ms.max(stored_last_ms),
            last_source: s.source,
            execs_in_flight: s.execs,
            open_connections: s.connections,
            lease_until_ms: (s.lease_until_ms > now_ms).then_some(s.lease_until_ms),
            sessions: s.sessions.clone(),
        }
    }
}

fn touch(s: &mut State, now_ms: i64, source: ActivitySource) {
    if now_ms >= s.last_ms {
        s.last_ms = now_ms;
        s.source = Some(source);
    }
}

#[cfg(test)]
mod tests;
