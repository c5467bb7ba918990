//! Test controls of the fake: which operations fail, which wait for the test, which were called.

use crate::RuntimeError;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// One runtime operation, for failure injection, holds and the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ping,
    Prepare,
    EnsureNetwork,
    RemoveNetwork,
    ImageExists,
    EnsureWorkspace,
    SeedWorkspace,
    RemoveWorkspace,
    Create,
    Start,
    Stop,
    Pause,
    Unpause,
    Remove,
    Inspect,
    List,
    Exec,
    Logs,
}

/// One call the fake received: the operation and what it was about (container name, sandbox id
/// or image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub target: String,
}

/// An injected failure: the error, and how many more calls get it (`None`: every call).
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) error: RuntimeError,
    pub(super) remaining: Option<u32>,
}

/// Take the failure for one call of `op`, if one is injected.
pub(super) fn take_failure(map: &mut HashMap<Op, Failure>, op: Op) -> Option<RuntimeError> {
    let f = map.get_mut(&op)?;
    let error = f.error.clone();
    match &mut f.remaining {
        None => {}
        Some(1) => {
            map.remove(&op);
        }
        Some(n) => *n -= 1,
    }
    Some(error)
}

/// Makes every call of one operation wait, after it is recorded and before it acts, until the
/// test releases it: the way to stop a lifecycle action half-way and race another against it.
#[derive(Debug)]
pub struct Hold {
    entered: Semaphore,
    release: Semaphore,
}

impl Hold {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Hold {
            entered: Semaphore::new(0),
            release: Semaphore::new(0),
        })
    }

    /// Wait until a call has reached the hold (one call per await).
    pub async fn entered(&self) {
        // The semaphore is never closed, so acquiring cannot fail.
        if let Ok(p) = self.entered.acquire().await {
            p.forget();
        }
    }

    /// Let one held call (present or future) go on.
    pub fn release(&self) {
        self.release.add_permits(1);
    }

    /// Let every call, present and future, go on.
    pub fn open(&self) {
        self.release.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    pub(super) async fn pass(&self) {
        self.entered.add_permits(1);
        if let Ok(p) = self.release.acquire().await {
            p.forget();
        }
    }
}
