//! Output rule: each process's events live in one bounded ring, numbered by
//! `seq` (data and end events from 1 upward; the `start` event is always
//! seq 0 and is not stored, every stream re-sends it first). The process
//! side only appends — it never waits for anyone. Every subscriber reads the
//! ring with its own cursor at its own pace, so a slow subscriber cannot
//! block the process or other subscribers: if the ring dropped events the
//! cursor still wanted, the cursor jumps to the oldest kept event and that
//! event carries `gap: true`. The end event is the newest entry and is never
//! evicted, so every stream of a finished process ends with it.
//!
//! Held output (sandboxd-private, for exec): a process started with
//! `x-sandboxd-hold` has one flow-controlled subscriber, its Start stream.
//! Its readers then wait before an append that would drop an event that
//! stream has not sent yet, so the process is slowed to its caller's pace
//! (through the pipe) instead of losing output. The hold ends when that
//! stream ends or goes away; other subscribers never hold anything.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{watch, Notify};

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
    /// The oldest seq the holding subscriber has not sent yet (`None`: no holder).
    held: Option<u64>,
}

impl Ring {
    /// Whether appending `need` bytes would drop an event the holder still needs.
    fn blocks(&self, need: usize) -> bool {
        let Some(held) = self.held else {
            return false;
        };
        let pending: usize = (self.events.iter().rev())
            .take_while(|(seq, _)| *seq >= held)
            .map(|(_, e)| cost(e))
            .sum();
        pending > 0 && pending + need + EVENT_OVERHEAD > self.cap
    }
}

/// One process's event ring and its change signal.
#[derive(Debug)]
pub struct Output {
    ring: Mutex<Ring>,
    changed: watch::Sender<u64>,
    /// Signalled when the holder sent something (or left).
    room: Notify,
}

/// Ends the hold when the holding stream ends, however it ends.
struct Release<'a>(&'a Output);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release(None);
    }
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
                held: None,
            }),
            changed: watch::Sender::new(0),
            room: Notify::new(),
        }
    }

    /// An output whose first subscriber (the Start stream) holds it (see the module rule).
    pub fn held(cap: usize) -> Output {
        let out = Output::new(cap);
        out.lock().held = Some(1);
        out
    }

    /// Waits while appending `need` bytes would drop an event the holder has not sent.
    pub async fn wait_room(&self, need: usize) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.lock().blocks(need) {
                return;
            }
            notified.await;
        }
    }

    /// The holder's cursor (`None` without a holder): it moves as the holder sends.
    pub fn held_cursor(&self) -> Option<u64> {
        self.lock().held
    }

    /// The holder sent everything before `cursor` (`None`: the hold ends).
    fn release(&self, cursor: Option<u64>) {
        {
            let mut ring = self.lock();
            ring.held = cursor;
            trim(&mut ring);
        }
        self.room.notify_waiters();
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
    /// process is not affected). `hold`: this is the holding subscriber.
    pub async fn follow(&self, pid: u32, mut cursor: u64, sink: &Sink, hold: bool) {
        let _release = hold.then(|| Release(self));
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
                if hold {
                    self.release(Some(cursor));
                }
            }
            if batch.done {
                return;
            }
        }
    }
}

/// Drops the oldest events while over the bound, always keeping the newest and every event a
/// holder has not sent yet (the end event and a shrink may overshoot; the trim after the hold
/// ends catches up).
fn trim(ring: &mut Ring) {
    while ring.bytes > ring.cap && ring.events.len() > 1 {
        let front = ring.events.front().map(|(seq, _)| *seq);
        if ring.held.is_some_and(|held| front >= Some(held)) {
            break;
        }
        if let Some((_, old)) = ring.events.pop_front() {
            ring.bytes -= cost(&old);
        }
    }
}

#[cfg(test)]
mod tests;
