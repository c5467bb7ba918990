//! Unit tests of the engine on the in-memory runtime (no Docker): the reconcile table, create
//! rollback, admission, and the races between the reaper, requests, wakes and deletes. Time is
//! tokio's (paused in these tests), and the engine's wall clock follows it.

mod admission;
mod create;
pub(crate) mod harness;
mod lifetime;
mod previews;
mod races;
mod reconcile;
