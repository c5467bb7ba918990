use super::*;

fn id() -> SandboxId {
    SandboxId::parse_new("a").unwrap()
}

#[test]
fn tracks_execs_leases_and_latest_source() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(300))));
    let id = id();
    a.touch(&id, 100, ActivitySource::Create);
    let exec = a.exec_started(&id, 200);
    let r = a.report(&id, 50, 250);
    assert_eq!((r.last_active_ms, r.execs_in_flight), (200, 1));
    assert_eq!(r.last_source, Some(ActivitySource::Exec));
    drop(exec); // the clock reads 300
    a.set_lease(&id, 1000);
    a.touch(&id, 10, ActivitySource::Request); // older than what we know: ignored
    let r = a.report(&id, 50, 400);
    assert_eq!(
        (r.last_active_ms, r.execs_in_flight, r.lease_until_ms),
        (300, 0, Some(1000))
    );
    assert_eq!(a.report(&id, 0, 2000).lease_until_ms, None);
}

#[test]
fn open_connections_block_retirement_and_routes_track_ports() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(0))));
    let id = id();
    assert!(
        a.open(&id, 3000, 0).is_none(),
        "unknown sandboxes get no entry"
    );
    a.ensure(&id);
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    a.set_route(&id, Some(ip), 5, true);
    assert!(!a.may_have_hand_started(&id));
    let (guard, route) = a.open(&id, 3000, 10).unwrap();
    assert_eq!(
        route,
        Some(Route {
            ip,
            port_ready: false,
            started_ms: 5
        })
    );
    a.mark_port_ready(&id, 3000);
    assert!(
        !a.try_retire(&id, 1_000_000, 0, 100),
        "an open connection holds it"
    );
    drop(guard);
    let (g2, route) = a.open(&id, 3000, 20).unwrap();
    assert!(route.unwrap().port_ready);
    drop(g2);
    // Idle long enough and nothing holding it: retired, route gone.
    assert!(a.try_retire(&id, 10_000_000, 0, 100));
    let (_g, route) = a.open(&id, 3000, 10_000_001).unwrap();
    assert_eq!(route, None);
}

#[test]
fn leases_and_execs_block_retirement() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(460))));
    let id = id();
    a.ensure(&id);
    a.set_lease(&id, 500);
    assert!(!a.try_retire(&id, 400, 0, 100));
    let exec = a.exec_started(&id, 450);
    assert!(!a.try_retire(&id, 10_000, 0, 100));
    drop(exec);
    assert!(a.try_retire(&id, 10_000, 0, 100));
}

#[test]
fn execs_mark_hand_started_processes_possible() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(0))));
    let id = id();
    assert!(
        a.may_have_hand_started(&id),
        "unknown history counts as yes"
    );
    a.set_route(&id, Some("10.0.0.2".parse().unwrap()), 1, true);
    assert!(!a.may_have_hand_started(&id));
    drop(a.exec_started(&id, 2));
    assert!(a.may_have_hand_started(&id));
    a.set_route(&id, Some("10.0.0.2".parse().unwrap()), 4, false);
    assert!(
        a.may_have_hand_started(&id),
        "a route refresh is not a fresh start"
    );
}

#[test]
fn guards_of_a_deleted_incarnation_do_not_touch_the_new_one() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(0))));
    let id = id();
    a.ensure(&id);
    let old_exec = a.exec_started(&id, 1);
    let (old_conn, _) = a.open(&id, 3000, 1).unwrap();
    // Deleted, then re-created under the same id while the old guards are still alive.
    a.forget(&id);
    a.ensure(&id);
    let new_exec = a.exec_started(&id, 2);
    let (new_conn, _) = a.open(&id, 3000, 2).unwrap();
    drop(old_exec);
    drop(old_conn);
    let r = a.report(&id, 0, 3);
    assert_eq!((r.execs_in_flight, r.open_connections), (1, 1));
    drop(new_exec);
    drop(new_conn);
    let r = a.report(&id, 0, 3);
    assert_eq!((r.execs_in_flight, r.open_connections), (0, 0));
}

#[test]
fn agent_sessions_hold_the_sandbox_awake_until_they_end() {
    let a = Arc::new(Activity::new(Arc::new(crate::clock::ManualClock::new(500))));
    let id = id();
    a.ensure(&id);
    a.set_route(&id, Some("10.0.0.3".parse().unwrap()), 0, true);
    let term = a.session_started(&id, SessionKind::Terminal, 100);
    let watch = a.session_started(&id, SessionKind::Watch, 100);
    let r = a.report(&id, 0, 10_000);
    assert_eq!(r.sessions.get(&SessionKind::Terminal), Some(&1));
    assert_eq!(r.last_source, Some(ActivitySource::Agent));
    assert!(!a.try_retire(&id, 10_000, 0, 1000), "a terminal holds it");
    drop(term);
    assert!(
        !a.try_retire(&id, 10_000, 0, 1000),
        "the watch still holds it"
    );
    drop(watch); // the clock reads 500: that is the last activity
    assert!(a.report(&id, 0, 10_000).sessions.is_empty());
    assert!(!a.try_retire(&id, 1_000, 0, 1000), "idle only 500 ms");
    assert!(a.try_retire(&id, 1_500, 0, 1000));
}
