//! Admission: when a create or wake would push available memory under the floor, the idlest
//! running sandbox that nothing holds is stopped first; `always_on` ones and ones in use never
//! are; when nothing can be stopped the request is refused with `capacity`.
//!
//! Memory here: 10 000 MiB total, floor 10 %, reserve 256 MiB; with 6 000 MiB base use and
//! 1 000 MiB per running container, three running sandboxes leave room for none more and two
//! for one.

use super::harness::{id, spec, Harness};
use crate::EngineError;
use sandboxd_core::{IdlePolicy, Status};
use std::time::Duration;

/// Create `names` one second apart (the first is the idlest), then turn memory accounting on.
async fn three_running(names: [&str; 3], always_on: &[&str]) -> Harness {
    let h = Harness::new().await;
    for n in names {
        let mut sp = spec(n);
        if always_on.contains(&n) {
            sp.idle_policy = IdlePolicy::AlwaysOn;
        }
        h.engine.create_sandbox(sp).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    h.memory.set(6_000, 1_000);
    h
}

async fn statuses(h: &Harness, names: &[&str]) -> Vec<Status> {
    let mut out = Vec::new();
    for n in names {
        out.push(h.status(n).await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_idlest_sandbox_is_stopped_first() {
    let h = three_running(["a", "b", "c"], &[]).await;
    h.create("d").await;
    use Status::*;
    assert_eq!(
        statuses(&h, &["a", "b", "c", "d"]).await,
        [Stopped, Running, Running, Running]
    );
}

#[tokio::test(start_paused = true)]
async fn recent_use_counts_not_creation_order() {
    let h = three_running(["a", "b", "c"], &[]).await;
    // An exec on `a` makes `b` the idlest.
    h.engine
        .exec(
            &id("a"),
            crate::ExecCommand {
                cmd: vec!["true".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    h.create("d").await;
    assert_eq!(h.status("a").await, Some(Status::Running));
    assert_eq!(h.status("b").await, Some(Status::Stopped));
}

#[tokio::test(start_paused = true)]
async fn always_on_and_busy_sandboxes_are_skipped() {
    let h = three_running(["a", "b", "c"], &["a"]).await;
    // `b` has an open preview connection.
    let (guard, _) = h.engine.open_connection(&id("b"), 8080).unwrap();
    h.create("d").await;
    use Status::*;
    assert_eq!(
        statuses(&h, &["a", "b", "c", "d"]).await,
        [Running, Running, Stopped, Running]
    );
    drop(guard);
}

#[tokio::test(start_paused = true)]
async fn a_sandbox_with_a_running_task_is_never_stopped_for_memory() {
    let h = three_running(["a", "b", "c"], &["a"]).await;
    // `b` and `c` each run a task (its collector holds a `task` session).
    let b = h.engine.session(&id("b"), crate::SessionKind::Task);
    let c = h.engine.session(&id("c"), crate::SessionKind::Task);
    let err = h.engine.create_sandbox(spec("d")).await.unwrap_err();
    assert!(matches!(err, EngineError::Capacity(_)), "{err}");
    use Status::*;
    assert_eq!(
        statuses(&h, &["a", "b", "c"]).await,
        [Running, Running, Running]
    );
    drop((b, c));
}

#[tokio::test(start_paused = true)]
async fn nothing_to_stop_means_capacity_and_no_trace_of_the_create() {
    let h = three_running(["a", "b", "c"], &["a", "b", "c"]).await;
    let err = h.engine.create_sandbox(spec("d")).await.unwrap_err();
    assert!(matches!(err, EngineError::Capacity(_)), "{err}");
    assert_eq!(h.row("d").await, None);
    assert_eq!(h.rt.workspace(&id("d")), None);
    use Status::*;
    assert_eq!(
        statuses(&h, &["a", "b", "c"]).await,
        [Running, Running, Running]
    );
}

#[tokio::test(start_paused = true)]
async fn a_wake_never_picks_itself_and_stops_only_what_it_needs() {
    let h = three_running(["a", "b", "c"], &[]).await;
    h.engine.stop_sandbox(&id("c")).await.unwrap();
    // Tighter memory: with two running (a, b), waking c needs one of them stopped.
    h.memory.set(7_000, 1_000);
    h.engine.wake(&id("c")).await.unwrap();
    use Status::*;
    assert_eq!(
        statuses(&h, &["a", "b", "c"]).await,
        [Stopped, Running, Running]
    );
}
