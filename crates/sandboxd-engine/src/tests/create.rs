//! Create and its rollback at every failure point: whatever fails, no row, container or
//! workspace is left that the call added, and a tombstone it replaced is restored as it was.

use super::harness::{id, spec, Harness};
use crate::EngineError;
use sandboxd_core::Status;
use sandboxd_runtime::fake::Op;
use sandboxd_runtime::{ContainerState, RuntimeError, StopSemantics};

fn boom() -> RuntimeError {
    RuntimeError::Engine {
        status: 500,
        message: "injected".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_create_seeds_a_fresh_workspace_between_create_and_start() {
    let h = Harness::new().await;
    let sb = h.create("a").await;
    assert_eq!(sb.status, Status::Running);
    assert!(h.rt.state(&h.name("a")).is_running());
    assert_eq!(h.rt.workspace(&id("a")), Some(true));
    let ops: Vec<Op> =
        h.rt.calls()
            .into_iter()
            .map(|c| c.op)
            .filter(|op| matches!(op, Op::Create | Op::SeedWorkspace | Op::Start))
            .collect();
    assert_eq!(ops, [Op::Create, Op::SeedWorkspace, Op::Start]);
    assert!(h.engine.inner.activity.route(&id("a")).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_missing_image_is_refused_before_anything_changes() {
    let h = Harness::new().await;
    let mut sp = spec("a");
    sp.image = "nope:1".into();
    let err = h.engine.create_sandbox(sp).await.unwrap_err();
    assert!(matches!(err, EngineError::Invalid(_)), "{err}");
    assert_eq!(h.row("a").await, None);
    assert_eq!(h.rt.count(Op::Create) + h.rt.count(Op::EnsureWorkspace), 0);
    // Refused before admission: it never read memory to pick victims.
    assert_eq!(h.memory.reads(), 0);
}

/// Fail `op` once during a create of a new id; everything it added is gone afterwards.
async fn rolls_back_new(op: Op) {
    let h = Harness::new().await;
    h.rt.fail(op, boom(), Some(1));
    let err = h.engine.create_sandbox(spec("a")).await;
    assert!(err.is_err(), "{op:?}: create succeeded");
    assert_eq!(h.row("a").await, None, "{op:?}: row left");
    assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent, "{op:?}");
    assert_eq!(h.rt.workspace(&id("a")), None, "{op:?}: workspace left");
    // The id is usable again.
    h.create("a").await;
}

#[tokio::test(start_paused = true)]
async fn every_failure_point_rolls_back_a_new_sandbox() {
    for op in [
        Op::EnsureWorkspace,
        Op::Create,
        Op::SeedWorkspace,
        Op::Start,
    ] {
        rolls_back_new(op).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_recreate_restores_the_tombstone_and_keeps_its_workspace() {
    for op in [Op::Create, Op::Start] {
        let h = Harness::new().await;
        h.create("a").await;
        h.engine.delete_sandbox(&id("a"), false).await.unwrap();
        let tombstone = h.row("a").await.unwrap();
        assert_eq!(tombstone.status, Status::Deleted);
        h.rt.fail(op, boom(), Some(1));
        assert!(h.engine.create_sandbox(spec("a")).await.is_err());
        assert_eq!(h.row("a").await, Some(tombstone), "{op:?}");
        assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent);
        // Not made by this call, so not removed by its rollback; and not seeded again.
        assert_eq!(h.rt.workspace(&id("a")), Some(true));
        assert_eq!(h.rt.count(Op::SeedWorkspace), 1, "{op:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn live_ids_and_generated_collisions_are_conflicts() {
    let h = Harness::new().await;
    h.create("a").await;
    let err = h.engine.create_sandbox(spec("a")).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)));
    h.engine.delete_sandbox(&id("a"), true).await.unwrap();
    assert_eq!(
        h.rt.workspace(&id("a")),
        None,
        "purge removes the workspace"
    );
    let mut generated = spec("a");
    generated.id_chosen = false;
    let err = h.engine.create_sandbox(generated).await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)));
    assert_eq!(h.status("a").await, Some(Status::Deleted));
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_of_a_stopped_sandbox_records_error_then_start_recreates() {
    let h = Harness::new().await;
    h.create("a").await;
    h.engine.stop_sandbox(&id("a")).await.unwrap();
    h.rt.fail(Op::Start, boom(), Some(1));
    assert!(h.engine.start_sandbox(&id("a")).await.is_err());
    let row = h.row("a").await.unwrap();
    assert_eq!(row.status, Status::Error);
    assert!(row.last_error.unwrap().starts_with("start failed"));
    // Wake reports the error rather than retrying; start recreates the container.
    assert!(matches!(
        h.engine.wake(&id("a")).await,
        Err(EngineError::Failed(_))
    ));
    let creates = h.rt.count(Op::Create);
    let sb = h.engine.start_sandbox(&id("a")).await.unwrap();
    assert_eq!(sb.status, Status::Running);
    assert_eq!(h.rt.count(Op::Create), creates + 1);
}

#[tokio::test(start_paused = true)]
async fn when_stop_removes_the_container_a_start_creates_it_again() {
    let h = Harness::with(StopSemantics::RemovesContainer).await;
    h.create("a").await;
    h.engine.stop_sandbox(&id("a")).await.unwrap();
    assert_eq!(h.rt.state(&h.name("a")), ContainerState::Absent);
    assert_eq!(h.status("a").await, Some(Status::Stopped));
    let target = h.engine.wake(&id("a")).await.unwrap();
    assert_eq!(Some(target.ip), h.rt.state(&h.name("a")).addr());
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert_eq!(
        h.rt.count(Op::SeedWorkspace),
        1,
        "workspace kept across stop"
    );
}
