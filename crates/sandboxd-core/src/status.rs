//! The sandbox state machine. `creating → running ⇄ stopped`, the sleep ladder's middle rung
//! `running ⇄ frozen → stopped` (frozen: processes paused, memory kept), any live state →
//! `error` (with a reason) and `error → running` (a start recreates the container; stopping an
//! errored sandbox leaves it in `error`), and any state → `deleted` (a tombstone: nothing but an
//! explicit re-create brings the id back; a failed re-create returns it to `deleted`). The engine makes every status
//! change through one function that refuses what [`Status::can_become`] does not allow.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a sandbox is in its lifecycle.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Creating,
    Running,
    /// Paused by the idle reaper (cgroup freezer): memory kept, no CPU; any use thaws it.
    Frozen,
    Stopped,
    Error,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Running => "running",
            Status::Frozen => "frozen",
            Status::Stopped => "stopped",
            Status::Error => "error",
            Status::Deleted => "deleted",
        }
    }

    /// Whether moving from `self` to `next` is a legal transition.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        match (self, next) {
            (a, b) if a == b => true,
            (Deleted, Creating) => true, // explicit re-create of a tombstoned id
            (Deleted, _) => false,
            (_, Deleted) => true,
            (_, Error) => true,
            (Creating, Running) => true,
            (Running, Stopped) | (Stopped, Running) => true,
            (Running, Frozen) | (Frozen, Running) | (Frozen, Stopped) => true,
            (Error, Running) => true,
            _ => false,
        }
    }

    /// Whether its processes exist: `running`, or `frozen` (thawed on first use). Callers that
    /// speak of a sandbox as up (E2B's `running`, admission) treat both alike.
    pub fn is_up(self) -> bool {
        matches!(self, Status::Running | Status::Frozen)
    }

    /// Whether the sandbox still exists for its users (not a tombstone).
    pub fn is_live(self) -> bool {
        self != Status::Deleted
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "creating" => Status::Creating,
            "running" => Status::Running,
            "frozen" => Status::Frozen,
            "stopped" => Status::Stopped,
            "error" => Status::Error,
            "deleted" => Status::Deleted,
            other => return Err(format!("unknown status {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn lifecycle_transitions() {
        assert!(Creating.can_become(Running));
        assert!(Running.can_become(Stopped));
        assert!(Stopped.can_become(Running));
        assert!(Error.can_become(Running));
        assert!(Running.can_become(Deleted));
        assert!(Deleted.can_become(Creating));
        assert!(!Deleted.can_become(Running));
        assert!(!Running.can_become(Creating));
        assert!(!Stopped.can_become(Creating));
        // Not something the engine does: a create ends running (or rolled back), and a stop
        // leaves an errored sandbox in error.
        assert!(!Creating.can_become(Stopped));
        assert!(!Error.can_become(Stopped));
        assert!(Creating.can_become(Deleted));
    }

    #[test]
    fn the_freeze_rung() {
        assert!(Running.can_become(Frozen));
        assert!(Frozen.can_become(Running));
        assert!(Frozen.can_become(Stopped));
        assert!(Frozen.can_become(Error));
        assert!(Frozen.can_become(Deleted));
        // Only a running sandbox freezes; a stopped one has nothing in memory to keep.
        assert!(!Stopped.can_become(Frozen));
        assert!(!Creating.can_become(Frozen));
        assert!(!Error.can_become(Frozen));
        assert!(!Deleted.can_become(Frozen));
        assert!(!Frozen.can_become(Creating));
    }

    #[test]
    fn round_trips_through_text() {
        for s in [Creating, Running, Frozen, Stopped, Error, Deleted] {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        assert!("paused".parse::<Status>().is_err());
    }
}
