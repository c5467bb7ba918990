//! E2B lifetimes on the fake runtime with tokio's paused clock: the end time kills or pauses,
//! set moves it either way, extend only later, and the reaper's tick applies it.

use super::harness::{id, spec, Harness};
use crate::EndChange;
use sandboxd_core::{E2bLifetime, OnEnd, Status};
use std::time::Duration;

async fn create_with_end(h: &Harness, name: &str, secs: i64, on_end: OnEnd) {
    let mut sp = spec(name);
    sp.e2b = Some(E2bLifetime {
        template_id: "base".into(),
        end_at_ms: h.engine.now_ms() + secs * 1000,
        on_end,
    });
    h.engine.create_sandbox(sp).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_end_time_kills_or_pauses_once_it_passes() {
    let h = Harness::new().await;
    create_with_end(&h, "k", 10, OnEnd::Kill).await;
    create_with_end(&h, "p", 10, OnEnd::Pause).await;
    h.create("plain").await;
    assert_eq!(h.engine.reap_ended().await.unwrap(), 0);
    tokio::time::advance(Duration::from_secs(11)).await;
    assert_eq!(h.engine.reap_ended().await.unwrap(), 2);
    assert_eq!(h.status("k").await, Some(Status::Deleted));
    assert_eq!(h.status("p").await, Some(Status::Stopped));
    assert_eq!(h.status("plain").await, Some(Status::Running));
    // A paused sandbox is not paused again; started again, it is (its end is still past).
    assert_eq!(h.engine.reap_ended().await.unwrap(), 0);
    h.engine.start_sandbox(&id("p")).await.unwrap();
    assert_eq!(h.engine.reap_ended().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn set_moves_the_end_either_way_and_extend_only_later() {
    let h = Harness::new().await;
    create_with_end(&h, "a", 100, OnEnd::Kill).await;
    let now = h.engine.now_ms();
    let (a, b) = (id("a"), id("b"));
    let set = |id, at, change| h.engine.set_e2b_end(id, now + at, change, "x");
    let end = |sb: sandboxd_core::Sandbox| sb.e2b.unwrap().end_at_ms;
    assert_eq!(
        end(set(&a, 5_000, EndChange::Set).await.unwrap()),
        now + 5_000
    );
    assert_eq!(
        end(set(&a, 1_000, EndChange::Extend).await.unwrap()),
        now + 5_000
    );
    assert_eq!(
        end(set(&a, 9_000, EndChange::Extend).await.unwrap()),
        now + 9_000
    );
    // Without a lifetime: extend leaves none, set gives one that kills.
    h.create("b").await;
    assert!(set(&b, 0, EndChange::Extend).await.unwrap().e2b.is_none());
    let l = set(&b, 1_000, EndChange::Set).await.unwrap().e2b.unwrap();
    assert_eq!((l.template_id.as_str(), l.on_end), ("x", OnEnd::Kill));
    // The reaper's own loop applies ends on its tick.
    let _reaper = h.engine.spawn_reaper();
    tokio::time::advance(Duration::from_secs(12)).await;
    for _ in 0..200 {
        if h.status("a").await == Some(Status::Deleted)
            && h.status("b").await == Some(Status::Deleted)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.status("a").await, Some(Status::Deleted));
    assert_eq!(h.status("b").await, Some(Status::Deleted));
}
