//! Output rule: each process's events live in one bounded ring, numbered by
//! `seq` (data and end events from 1 upward; the `start` event is always
//! seq 0 and is not stored, every stream re-sends it first). The process
//! side only appends — it never waits for anyone. Every subscriber reads the
//! ring with its own cursor at its own pace, so a slow subscriber cannot
//! block the process or other subscribers: if the ring dropped events the
//! cursor still wanted, the cursor jumps to the oldest kept event and that
//! event carries `gap: true`. The end event is the newest entry and is never
//! evicted, so every stream of a finished process ends with it.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::connect::stream::Sink;
use crate::proto::process::{EndEvent, Event, EventResponse, Output as Data};

/// Data kept per running process (1 MiB), as the brief's bound.
pub const RUNNING_CAP: usize = 1 << 20;
/// What an exited process keeps for late readers (see `registry`).
pub const EXITED_CAP: usize = 256 << 10;
/// Bookkeeping charged per event so tiny chunks cannot grow the ring unbounded.
const EVENT_OVERHEAD: usize = 64;
/// Events handed to one subscriber per lock.
const BATCH: usize = 64;

#[derive(Debug)]
struct Ring {
    events: VecDeque<(u64, Event)>,
    bytes: usize,
    cap: usize,
    next: u64,
    end: Option<u64>,
}

/// One process's event ring and its change signal.
#[derive(Debug)]
pub struct Output {
    ring: Mutex<Ring>,
    changed: watch::Sender<u64>,
}

/// What one read of the ring gave a cursor.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<(u64, Event)>,
    /// Events between the cursor and the first of `events` were dropped.
    pub gap: bool,
    /// `events` ends with the end event.
    pub done: bool,
}

fn cost(event: &Event) -> usize {
    EVENT_OVERHEAD
        + match event {
            Event::Data(Data::Stdout(b) | Data::Stderr(b) | Data::Pty(b)) => b.len(),
            _ => 0,
        }
}

impl Output {
    pub fn new(cap: usize) -> Output {
        Output {
            ring: Mutex::new(Ring {
                events: VecDeque::new(),
                bytes: 0,
                cap,
                next: 1,
                end: None,
            }),
            changed: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A poisoned lock only means a panic mid-append of plain data.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `event`; returns its seq. Never waits for subscribers.
    fn push(&self, event: Event) -> u64 {
        let seq = {
            let mut ring = self.lock();
            if ring.end.is_some() {
                return 0;
            }
            let seq = ring.next;
            ring.next += 1;
            ring.bytes += cost(&event);
            if matches!(event, Event::End(_)) {
                ring.end = Some(seq);
            }
            ring.events.push_back((seq, event));
            trim(&mut ring);
            seq
        };
        self.changed.send_replace(seq);
        seq
    }

    /// Appends one chunk of output.
    pub fn data(&self, data: Data) -> u64 {
        self.push(Event::Data(data))
    }

    /// Appends the end event; later appends are ignored.
    pub fn finish(&self, end: EndEvent) -> u64 {
        self.push(Event::End(end))
    }

    /// Lowers the ring's bound (exited processes keep less).
    pub fn shrink(&self, cap: usize) {
        let mut ring = self.lock();
        ring.cap = ring.cap.min(cap);
        trim(&mut ring);
    }

    /// The cursor of a subscriber that wants events with seq > `since`
    /// (everything from now on when `None`): clamped so it never points past
    /// the end event of a finished process nor into the future.
    pub fn cursor(&self, since: Option<u64>) -> u64 {
        let ring = self.lock();
        let last = ring.end.unwrap_or(ring.next);
        match since {
            Some(n) => n.saturating_add(1).min(last),
            None => last,
        }
    }

    /// Up to [`BATCH`] events from `cursor` on.
    pub fn read(&self, cursor: u64) -> Batch {
        let ring = self.lock();
        let oldest = ring.events.front().map_or(ring.next, |(seq, _)| *seq);
        let from = cursor.max(oldest);
        let skip = usize::try_from(from - oldest).unwrap_or(usize::MAX);
        let events: Vec<(u64, Event)> =
            ring.events.iter().skip(skip).take(BATCH).cloned().collect();
        let done = matches!(events.last(), Some((seq, _)) if Some(*seq) == ring.end);
        Batch {
            gap: cursor < oldest && !events.is_empty(),
            events,
            done,
        }
    }

    /// Streams following this output right now.
    #[cfg(test)]
    pub fn subscribers(&self) -> usize {
        self.changed.receiver_count()
    }

    /// Sends `start{pid}` then every event from `cursor` on, live, until the
    /// end event (then `Ok`) or until the client goes away (also `Ok`: the
    /// process is not affected).
    pub async fn follow(&self, pid: u32, mut cursor: u64, sink: &Sink) {
        let start = EventResponse {
            event: Event::Start { pid },
            seq: 0,
            gap: false,
        };
        if sink.send(&start).await.is_err() {
            return;
        }
        let mut changes = self.changed.subscribe();
        loop {
            changes.borrow_and_update();
            let batch = self.read(cursor);
            if batch.events.is_empty() {
                // Idle: wake on new events, or leave as soon as the client
                // goes (not at the next ping). The sender lives in `self`, so
                // `changed` fails only if that invariant breaks.
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = sink.closed() => return,
                }
                continue;
            }
            let mut gap = batch.gap;
            for (seq, event) in batch.events {
                cursor = seq + 1;
                let msg = EventResponse { event, seq, gap };
                gap = false;
                if sink.send(&msg).await.is_err() {
                    return;
                }
            }
            if batch.done {
                return;
            }
        }
    }
}

/// Drops the oldest events while over the bound, always keeping the newest.
fn trim(ring: &mut Ring) {
    while ring.bytes > ring.cap && ring.events.len() > 1 {
        if let Some((_, old)) = ring.events.pop_front() {
            ring.bytes -= cost(&old);
        }
    }
}

#[cfg(test)]
mod tests {
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
}
