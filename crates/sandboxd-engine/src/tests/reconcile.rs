//! Every row of the reconcile table: (pass × row status × container state) for both stop
//! semantics, plus tombstones, unlabelled containers and event-driven passes.

use super::harness::{eventually, id, Harness};
use crate::reconcile::Pass;
use sandboxd_core::Status;
use sandboxd_runtime::fake::Op;
use sandboxd_runtime::{ContainerState, RuntimeEvent, StopSemantics};
use std::net::IpAddr;

/// Container states to plant, by a short name.
fn plant_state(kind: &str) -> ContainerState {
    let ip: IpAddr = "10.9.9.9".parse().unwrap();
    match kind {
        "absent" => ContainerState::Absent,
        "created" => ContainerState::Created,
        "running" => ContainerState::Running { addr: Some(ip) },
        "paused" => ContainerState::Paused { addr: Some(ip) },
        "exited" => ContainerState::Exited {
            code: Some(137),
            oom: true,
            error: None,
        },
        "removing" => ContainerState::Removing,
        other => panic!("unknown state {other}"),
    }
}

const STATES: [&str; 6] = [
    "absent", "created", "running", "paused", "exited", "removing",
];
const ROWS: [Option<Status>; 7] = [
    None,
    Some(Status::Creating),
    Some(Status::Running),
    Some(Status::Frozen),
    Some(Status::Stopped),
    Some(Status::Error),
    Some(Status::Deleted),
];

/// The table, as docs/architecture.md states it: (row after, container after, error recorded).
fn expected(
    pass: Pass,
    sem: StopSemantics,
    row: Option<Status>,
    state: &'static str,
) -> (Option<Status>, &'static str, bool) {
    use Status::*;
    let keeps = sem == StopSemantics::KeepsContainer;
    match (row, state) {
        // Orphans and tombstones: the container goes, the row stays as it was.
        (None | Some(Deleted), _) => (row, "absent", false),
        // An interrupted create is finished.
        (Some(Creating), _) => (Some(Running), "running", false),
        (Some(Running), "absent") => (Some(Running), "running", false),
        (Some(Running), "running") => (Some(Running), "running", false),
        (Some(Running), "removing") => (Some(Running), "removing", false),
        // Paused behind our back: recorded frozen (memory kept, no route), at boot too.
        (Some(Running), "paused") => (Some(Frozen), "paused", false),
        (Some(Running), _) if pass == Pass::Boot => (Some(Running), "running", false),
        (Some(Running), s) => (Some(Stopped), s, true),
        // A frozen sandbox stays frozen (paused again if it runs); one whose container died
        // or vanished has nothing in memory any more: stopped, with the reason.
        (Some(Frozen), "paused" | "running") => (Some(Frozen), "paused", false),
        (Some(Frozen), "removing") => (Some(Frozen), "removing", false),
        (Some(Frozen), "absent") if keeps => (Some(Stopped), "created", true),
        (Some(Frozen), s) => (Some(Stopped), s, true),
        (Some(Stopped), "absent") if keeps => (Some(Stopped), "created", false),
        (Some(Stopped), "running" | "paused") if keeps => (Some(Stopped), "exited", false),
        (Some(Stopped), "running" | "paused") => (Some(Stopped), "absent", false),
        (Some(Stopped), s) => (Some(Stopped), s, false),
        (Some(Error), s) => (Some(Error), s, false),
    }
}

async fn table(sem: StopSemantics) {
    let h = Harness::with(sem).await;
    let mut n = 0;
    for pass in [Pass::Boot, Pass::Live] {
        for row in ROWS {
            for state in STATES {
                n += 1;
                let sid = format!("c{n}");
                let name = h.name(&sid);
                if let Some(status) = row {
                    h.put_row(&sid, status).await;
                }
                if state != "absent" {
                    // A previous life left its workspace, as a real container implies.
                    h.rt.plant_workspace(&id(&sid));
                }
                h.rt.plant(&name, Some(id(&sid)), plant_state(state));
                h.engine.reconcile_one(&id(&sid), pass).await.unwrap();
                let (want_row, want_state, want_error) = expected(pass, sem, row, state);
                let case = format!("{pass:?} {sem:?} row {row:?} container {state}");
                assert_eq!(h.status(&sid).await, want_row, "{case}: row");
                assert_eq!(h.rt.state(&name).as_str(), want_state, "{case}: container");
                let err = h.row(&sid).await.and_then(|r| r.last_error);
                assert_eq!(err.is_some(), want_error, "{case}: last_error {err:?}");
                if want_state == "running" && want_row == Some(Status::Running) {
                    assert!(
                        h.engine.inner.activity.route(&id(&sid)).is_some(),
                        "{case}: route published"
                    );
                }
                if want_row == Some(Status::Frozen) {
                    assert!(
                        h.engine.inner.activity.route(&id(&sid)).is_none(),
                        "{case}: no route to a frozen container"
                    );
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn table_when_stop_keeps_the_container() {
    table(StopSemantics::KeepsContainer).await;
}

#[tokio::test(start_paused = true)]
async fn table_when_stop_removes_the_container() {
    table(StopSemantics::RemovesContainer).await;
}

#[tokio::test(start_paused = true)]
async fn a_died_container_is_recorded_with_its_reason() {
    let h = Harness::new().await;
    h.put_row("a", Status::Running).await;
    h.rt.plant(&h.name("a"), Some(id("a")), plant_state("exited"));
    h.engine.reconcile_one(&id("a"), Pass::Live).await.unwrap();
    let row = h.row("a").await.unwrap();
    assert_eq!(
        row.last_error.as_deref(),
        Some("container exited with exit code 137 (killed: out of memory)")
    );
}

#[tokio::test(start_paused = true)]
async fn full_pass_removes_unlabelled_and_orphaned_containers_only() {
    let h = Harness::new().await;
    h.create("keep").await;
    h.rt.plant("stray", None, plant_state("running"));
    h.rt.plant(&h.name("orphan"), Some(id("orphan")), plant_state("exited"));
    h.engine.reconcile_all(Pass::Live).await.unwrap();
    assert_eq!(h.rt.state("stray"), ContainerState::Absent);
    assert_eq!(h.rt.state(&h.name("orphan")), ContainerState::Absent);
    assert!(h.rt.state(&h.name("keep")).is_running());
}

#[tokio::test(start_paused = true)]
async fn tombstones_are_never_brought_back() {
    let h = Harness::new().await;
    h.create("a").await;
    h.engine.delete_sandbox(&id("a"), false).await.unwrap();
    h.rt.clear_calls();
    for pass in [Pass::Boot, Pass::Live] {
        h.engine.reconcile_all(pass).await.unwrap();
    }
    assert_eq!(h.status("a").await, Some(Status::Deleted));
    assert_eq!(h.rt.count(Op::Create) + h.rt.count(Op::Start), 0);
    // The workspace outlives a delete without purge.
    assert_eq!(h.rt.workspace(&id("a")), Some(true));
}

#[tokio::test(start_paused = true)]
async fn events_drive_the_reconciler() {
    let h = Harness::new().await;
    h.create("a").await;
    h.create("b").await;
    let task = h.engine.spawn_reconciler();
    // Let the first sweep subscribe and run.
    eventually(5, || h.rt.count(Op::List) > 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    h.rt.crash(&h.name("a"), 137, true);
    let mut stopped = false;
    for _ in 0..200 {
        if h.status("a").await == Some(Status::Stopped) {
            stopped = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(stopped, "a died container is recorded as stopped");

    let starts = h.rt.count(Op::Start);
    h.rt.vanish(&h.name("b"));
    eventually(5, || h.rt.state(&h.name("b")).is_running()).await;
    assert_eq!(h.rt.count(Op::Start), starts + 1);

    // Events of other things, or without a sandbox, change nothing.
    h.rt.emit(RuntimeEvent {
        container: "x".into(),
        sandbox: None,
        kind: sandboxd_runtime::EventKind::Died,
    });
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_network_guard_that_cannot_be_restored_makes_the_engine_not_ready() {
    let h = Harness::new().await;
    h.engine.check_ready().await.unwrap();
    h.rt.fail(
        Op::EnsureNetwork,
        sandboxd_runtime::RuntimeError::Other("iptables refused the host guard rule".into()),
        None,
    );
    h.engine.check_network().await;
    let err = h.engine.check_ready().await.unwrap_err().to_string();
    assert!(
        err.contains("network guard") && err.contains("iptables refused"),
        "{err}"
    );
    h.rt.clear_failure(Op::EnsureNetwork);
    h.engine.check_network().await;
    h.engine.check_ready().await.unwrap();
}
