//! The ladder's timings on the fake runtime and tokio's paused clock: freeze after
//! `freeze_after`, stop after the idle timeout, thaw on any use, sessions hold it awake, memory
//! pressure takes frozen sandboxes first.

use crate::tests::harness::{id, spec, Harness, IDLE};
use crate::{ExecCommand, SessionKind};
use sandboxd_core::Status;
use sandboxd_runtime::fake::Op;
use sandboxd_runtime::ContainerState;
use std::time::Duration;

const FREEZE_S: u64 = 5;

async fn create_freezing(h: &Harness, name: &str, freeze_after_s: u64) {
    let mut sp = spec(name);
    sp.freeze_after_s = Some(freeze_after_s);
    h.engine.create_sandbox(sp).await.unwrap();
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn running_freezes_then_stops_on_the_same_idle_clock() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    tokio::time::advance(secs(FREEZE_S - 1)).await;
    assert_eq!(
        h.engine.reap_idle().await.unwrap(),
        0,
        "not idle long enough"
    );
    assert_eq!(h.status("a").await, Some(Status::Running));

    tokio::time::advance(secs(1)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 1);
    assert_eq!(h.status("a").await, Some(Status::Frozen));
    assert!(h.rt.state(&h.name("a")).is_paused());
    assert!(
        h.engine.inner.activity.route(&id("a")).is_none(),
        "no route: the proxy must take the wake path"
    );
    let view = h.engine.activity(&id("a")).await.unwrap();
    assert_eq!(view.next_rung, Some("stopped"));
    assert_eq!(view.sleeps_at_ms, view.next_rung_at_ms);

    // Frozen → stopped at the idle timeout counted from the last activity, not from the freeze.
    tokio::time::advance(IDLE - secs(FREEZE_S + 1)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
    tokio::time::advance(secs(1)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 1);
    assert_eq!(h.status("a").await, Some(Status::Stopped));
    assert!(matches!(
        h.rt.state(&h.name("a")),
        ContainerState::Exited { .. }
    ));
    // Thawed before the stop, so init got its SIGTERM.
    assert_eq!(h.rt.count(Op::Unpause), 1);
}

#[tokio::test(start_paused = true)]
async fn zero_or_a_delay_past_the_idle_timeout_skips_the_rung() {
    let h = Harness::new().await;
    create_freezing(&h, "off", 0).await;
    create_freezing(&h, "late", IDLE.as_secs() + 10).await;
    tokio::time::advance(IDLE).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 2);
    assert_eq!(h.status("off").await, Some(Status::Stopped));
    assert_eq!(h.status("late").await, Some(Status::Stopped));
    assert_eq!(h.rt.count(Op::Pause), 0);
}

#[tokio::test(start_paused = true)]
async fn a_wake_thaws_without_a_start() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    let ip = h.rt.state(&h.name("a")).addr();
    tokio::time::advance(secs(FREEZE_S)).await;
    h.engine.reap_idle().await.unwrap();
    assert_eq!(h.status("a").await, Some(Status::Frozen));
    let starts = h.rt.count(Op::Start);

    let target = h.engine.wake(&id("a")).await.unwrap();
    assert_eq!(Some(target.ip), ip, "same container, same address");
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert!(h.rt.state(&h.name("a")).is_running());
    assert_eq!(h.rt.count(Op::Start), starts, "thawed, not started");
    assert!(h.engine.inner.activity.route(&id("a")).is_some());
    // The thaw is activity: the freeze clock starts again.
    tokio::time::advance(secs(FREEZE_S - 1)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_exec_thaws_first() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    tokio::time::advance(secs(FREEZE_S)).await;
    h.engine.reap_idle().await.unwrap();
    let cmd = ExecCommand {
        cmd: vec!["true".into()],
        ..Default::default()
    };
    h.engine.exec(&id("a"), cmd).await.unwrap();
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert!(h.rt.state(&h.name("a")).is_running());
}

#[tokio::test(start_paused = true)]
async fn a_live_session_keeps_it_from_freezing() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    let terminal = h.engine.session(&id("a"), SessionKind::Terminal);
    tokio::time::advance(IDLE * 2).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
    assert_eq!(h.status("a").await, Some(Status::Running));
    let view = h.engine.activity(&id("a")).await.unwrap();
    assert_eq!(view.next_rung, None);
    drop(terminal);
    let view = h.engine.activity(&id("a")).await.unwrap();
    assert_eq!(view.next_rung, Some("frozen"));
    tokio::time::advance(secs(FREEZE_S)).await;
    assert_eq!(h.engine.reap_idle().await.unwrap(), 1);
    assert_eq!(h.status("a").await, Some(Status::Frozen));
}

#[tokio::test(start_paused = true)]
async fn a_failed_pause_leaves_it_running_and_routed() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    tokio::time::advance(secs(FREEZE_S)).await;
    h.rt.fail(
        Op::Pause,
        sandboxd_runtime::RuntimeError::Other("freezer busy".into()),
        Some(1),
    );
    assert_eq!(h.engine.reap_idle().await.unwrap(), 0);
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert!(h.engine.inner.activity.route(&id("a")).is_some());
    assert_eq!(
        h.engine.reap_idle().await.unwrap(),
        1,
        "the next pass freezes it"
    );
}

#[tokio::test(start_paused = true)]
async fn memory_pressure_stops_frozen_sandboxes_before_idler_running_ones() {
    // 10 000 MiB total, floor 10 %, reserve 256 MiB; 6 000 MiB base, 1 000 MiB per container
    // (paused ones included): with three live, a create needs one stopped.
    let h = Harness::new().await;
    h.create("old").await; // the idlest, never frozen
    tokio::time::advance(secs(1)).await;
    create_freezing(&h, "cold", FREEZE_S).await;
    tokio::time::advance(secs(1)).await;
    h.create("new").await;
    tokio::time::advance(secs(FREEZE_S)).await;
    h.engine.reap_idle().await.unwrap();
    assert_eq!(h.status("cold").await, Some(Status::Frozen));
    h.memory.set(6_000, 1_000);
    h.create("d").await;
    assert_eq!(h.status("cold").await, Some(Status::Stopped));
    assert_eq!(h.status("old").await, Some(Status::Running));
    assert_eq!(h.status("new").await, Some(Status::Running));
}

#[tokio::test(start_paused = true)]
async fn a_frozen_sandbox_wakes_without_admission() {
    let h = Harness::new().await;
    create_freezing(&h, "a", FREEZE_S).await;
    h.create("b").await;
    h.create("c").await;
    tokio::time::advance(secs(FREEZE_S)).await;
    h.engine.reap_idle().await.unwrap();
    // No room for one more container, but a frozen one holds its memory already.
    h.memory.set(6_000, 1_000);
    h.engine.wake(&id("a")).await.unwrap();
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert_eq!(h.status("b").await, Some(Status::Running));
    assert_eq!(h.status("c").await, Some(Status::Running));
}
