//! The ring's replay, overflow and hold rules.

use super::*;

fn chunk(n: usize) -> Data {
    Data::Stdout(vec![b'x'; n])
}

#[test]
fn replay_from_any_point_and_end_is_last() {
    let out = Output::new(RUNNING_CAP);
    assert_eq!(out.data(chunk(1)), 1);
    assert_eq!(out.data(chunk(2)), 2);
    assert_eq!(
        out.cursor(None),
        3,
        "live subscribers start after what exists"
    );
    let b = out.read(out.cursor(Some(1)));
    assert_eq!(b.events.iter().map(|e| e.0).collect::<Vec<_>>(), [2]);
    assert!(!b.gap && !b.done);
    let end = out.finish(EndEvent::default());
    assert_eq!(end, 3);
    assert_eq!(out.data(chunk(1)), 0, "nothing is appended after the end");
    let b = out.read(out.cursor(Some(0)));
    assert_eq!(b.events.len(), 3);
    assert!(b.done && !b.gap);
    // A late live subscriber, or one claiming a future seq, still gets the end.
    for since in [None, Some(99)] {
        let b = out.read(out.cursor(since));
        assert_eq!(b.events.len(), 1);
        assert!(matches!(b.events[0].1, Event::End(_)) && b.done);
    }
}

#[tokio::test]
async fn a_held_output_waits_for_its_holder_instead_of_dropping() {
    let out = Output::held(4 * (EVENT_OVERHEAD + 100));
    for _ in 0..4 {
        out.wait_room(100).await;
        out.data(chunk(100));
    }
    let waiting = out.wait_room(100);
    tokio::pin!(waiting);
    assert!(
        futures_util::poll!(waiting.as_mut()).is_pending(),
        "seq 1 unsent"
    );
    out.release(Some(2));
    waiting.await;
    out.data(chunk(100));
    assert!(!out.read(2).gap, "nothing the holder needed was dropped");
    // Without a holder nothing ever waits.
    out.release(None);
    for _ in 0..10 {
        out.wait_room(100).await;
        out.data(chunk(100));
    }
}

#[test]
fn the_end_and_the_exit_shrink_keep_what_the_holder_has_not_sent() {
    let out = Output::held(4 * (EVENT_OVERHEAD + 100));
    for _ in 0..4 {
        out.data(chunk(100));
    }
    out.finish(EndEvent::default());
    out.shrink(1);
    let b = out.read(1);
    assert!(!b.gap && b.events.len() == 5 && b.done);
    out.release(Some(3));
    assert!(out.read(1).gap && !out.read(3).gap);
    out.release(None);
    let b = out.read(3);
    assert!(b.gap && b.events.len() == 1 && b.done, "the end survives");
}

#[test]
fn overflow_marks_a_gap_and_keeps_the_newest() {
    let out = Output::new(4 * (EVENT_OVERHEAD + 100));
    for _ in 0..10 {
        out.data(chunk(100));
    }
    let b = out.read(out.cursor(Some(0)));
    assert!(b.gap, "seq 1..6 were dropped");
    assert_eq!(b.events.first().map(|e| e.0), Some(7));
    assert_eq!(b.events.last().map(|e| e.0), Some(10));
    let b = out.read(out.cursor(Some(7)));
    assert!(!b.gap && b.events.len() == 3);
    out.finish(EndEvent::default());
    out.shrink(1);
    let b = out.read(1);
    assert_eq!(b.events.len(), 1, "the end event survives any bound");
    assert!(b.gap && b.done);
}
