//! The races the engine is built to win: a request against the idle reaper (whichever comes
//! first, a request never sees its sandbox stopped under it), and a wake against a delete (a
//! tombstone is never brought back).

use super::harness::{eventually, id, Harness, IDLE};
use crate::EngineError;
use sandboxd_core::Status;
use sandboxd_runtime::fake::Op;
use sandboxd_runtime::ContainerState;
use std::time::Duration;

async fn idle_running(h: &Harness, name: &str) {
    h.create(name).await;
    tokio::time::advance(IDLE + Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn an_open_request_holds_off_the_reaper() {
    let h = Harness::new().await;
    idle_running(&h, "a").await;
    let (guard, route) = h.engine.open_connection(&id("a"), 8080).unwrap();
    assert!(route.is_some());
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
    drop(guard);
    // The request's end counts as activity: idle again only a full timeout later.
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
    tokio::time::advance(IDLE + Duration::from_secs(1)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 1);
    assert_eq!(h.status("a").await, Some(Status::Stopped));
    assert!(matches!(
        h.rt.state(&h.name("a")),
        ContainerState::Exited { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_request_between_the_reapers_decision_and_its_stop_keeps_the_sandbox() {
    let h = Harness::new().await;
    idle_running(&h, "a").await;
    // Hold the sandbox's lock so the reaper decides (retires the route) and then waits.
    let lock = h.engine.inner.locks.lock(&id("a")).await;
    let engine = h.engine.clone();
    let reaper = tokio::spawn(async move { engine.reap_idle().await });
    eventually(5, || h.engine.inner.activity.route(&id("a")).is_none()).await;
    // The request arrives now: no route, so it would take the wake path.
    let (guard, route) = h.engine.open_connection(&id("a"), 8080).unwrap();
    assert!(route.is_none());
    drop(lock);
    assert_eq!(reaper.await.unwrap().unwrap(), 0, "reaper saw the request");
    assert_eq!(h.rt.count(Op::Stop), 0);
    assert!(
        h.engine.inner.activity.route(&id("a")).is_some(),
        "route restored"
    );
    let target = h.engine.wake(&id("a")).await.unwrap();
    assert_eq!(Some(target.ip), h.rt.state(&h.name("a")).addr());
    drop(guard);
}

#[tokio::test(start_paused = true)]
async fn a_request_during_the_stop_wakes_the_sandbox_after_it() {
    let h = Harness::new().await;
    idle_running(&h, "a").await;
    let stop = h.rt.hold(Op::Stop);
    let engine = h.engine.clone();
    let reaper = tokio::spawn(async move { engine.reap_idle().await });
    stop.entered().await;
    // Mid-stop: the proxy finds no route (it never forwards to a stopping container) ...
    let (guard, route) = h.engine.open_connection(&id("a"), 8080).unwrap();
    assert!(route.is_none());
    // ... and its wake waits for the stop, then starts the sandbox again.
    let engine = h.engine.clone();
    let wake = tokio::spawn(async move { engine.wake(&id("a")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!wake.is_finished());
    stop.release();
    assert_eq!(reaper.await.unwrap().unwrap(), 1);
    let target = wake.await.unwrap().unwrap();
    assert_eq!(Some(target.ip), h.rt.state(&h.name("a")).addr());
    assert_eq!(h.status("a").await, Some(Status::Running));
    drop(guard);
}

#[tokio::test(start_paused = true)]
async fn a_wake_queued_behind_a_delete_never_resurrects_the_tombstone() {
    let h = Harness::new().await;
    h.create("a").await;
    h.engine.stop_sandbox(&id("a")).await.unwrap();
    h.memory.set(0, 0);
    let lock = h.engine.inner.locks.lock(&id("a")).await;
    // The delete queues on the lock first ...
    let engine = h.engine.clone();
    let delete = tokio::spawn(async move { engine.delete_sandbox(&id("a"), false).await });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // ... then the wake, which has already seen the sandbox stopped (it went through admission).
    let reads = h.memory.reads();
    let engine = h.engine.clone();
    let wake = tokio::spawn(async move { engine.wake(&id("a")).await });
    eventually(5, || h.memory.reads() > reads).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let starts = h.rt.count(Op::Start);
    drop(lock);
    delete.await.unwrap().unwrap();
    assert!(matches!(wake.await.unwrap(), Err(EngineError::Gone(_))));
    assert_eq!(h.rt.count(Op::Start), starts);
    assert_eq!(h.status("a").await, Some(Status::Deleted));
    assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent);
    assert!(h.engine.inner.activity.route(&id("a")).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_wake_ahead_of_a_delete_runs_and_the_delete_still_wins() {
    let h = Harness::new().await;
    h.create("a").await;
    h.engine.stop_sandbox(&id("a")).await.unwrap();
    let start = h.rt.hold(Op::Start);
    let engine = h.engine.clone();
    let wake = tokio::spawn(async move { engine.wake(&id("a")).await });
    start.entered().await;
    let engine = h.engine.clone();
    let delete = tokio::spawn(async move { engine.delete_sandbox(&id("a"), false).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!delete.is_finished(), "delete waits for the wake's lock");
    start.release();
    wake.await.unwrap().unwrap();
    delete.await.unwrap().unwrap();
    assert_eq!(h.status("a").await, Some(Status::Deleted));
    assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent);
    // The running container's destroy event and any later sweep leave it gone.
    h.engine
        .reconcile_all(crate::reconcile::Pass::Live)
        .await
        .unwrap();
    assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent);
    assert!(matches!(
        h.engine.wake(&id("a")).await,
        Err(EngineError::Gone(_))
    ));
}
