//! Label sets and their values. Every value a label can take is an enum variant here, so the
//! set of series is fixed and known (no unbounded cardinality from ids or paths).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use std::fmt::Write;

/// Label values are the names below, written as they are.
macro_rules! label_value {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $s,)*
                }
            }
        }

        impl EncodeLabelValue for $t {
            fn encode(&self, e: &mut LabelValueEncoder) -> std::fmt::Result {
                e.write_str(self.as_str())
            }
        }
    };
}

label_value!(Op {
    Create => "create",
    Start => "start",
    Stop => "stop",
    Delete => "delete",
    Wake => "wake",
    Reap => "reap",
    Freeze => "freeze",
    Thaw => "thaw",
});

label_value!(Outcome {
    Ok => "ok",
    Error => "error",
});

label_value!(ReconcileAction {
    Recreate => "recreate",
    RecordExit => "record_exit",
    Stop => "stop",
    RemoveOrphan => "remove_orphan",
    Restart => "restart",
    FinishCreate => "finish_create",
    RecordFrozen => "record_frozen",
    Pause => "pause",
});

label_value!(EngineErrorKind {
    Unavailable => "unavailable",
    Refused => "refused",
    Other => "other",
});

label_value!(RefusalReason {
    GlobalCap => "global_cap",
    ClientCap => "client_cap",
});

label_value!(StatusClass {
    Informational => "1xx",
    Success => "2xx",
    Redirect => "3xx",
    ClientError => "4xx",
    ServerError => "5xx",
});

/// A lifecycle operation.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Op {
    Create,
    Start,
    Stop,
    Delete,
    /// A stopped sandbox started by a request (preview, exec).
    Wake,
    /// An idle sandbox stopped by the reaper.
    Reap,
    /// An idle running sandbox frozen by the reaper (the sleep ladder's first rung).
    Freeze,
    /// A frozen sandbox thawed by whatever used it (request, exec, API call, start).
    Thaw,
}

impl Op {
    pub const ALL: [Op; 8] = [
        Op::Create,
        Op::Start,
        Op::Stop,
        Op::Delete,
        Op::Wake,
        Op::Reap,
        Op::Freeze,
        Op::Thaw,
    ];
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
}

impl<T, E> From<&Result<T, E>> for Outcome {
    fn from(r: &Result<T, E>) -> Self {
        if r.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

/// What the reconciler corrected.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReconcileAction {
    /// A container that should exist was missing and was created again.
    Recreate,
    /// A container died on its own; the sandbox was recorded as stopped.
    RecordExit,
    /// A running container of a stopped sandbox was stopped.
    Stop,
    /// A container with no live sandbox was removed.
    RemoveOrphan,
    /// A sandbox that ran before a restart was started again (boot pass).
    Restart,
    /// A create interrupted by a restart was finished.
    FinishCreate,
    /// A running sandbox's container was found paused; the sandbox was recorded as frozen.
    RecordFrozen,
    /// A frozen sandbox's container was found running and was paused again.
    Pause,
}

impl ReconcileAction {
    pub const ALL: [ReconcileAction; 8] = [
        ReconcileAction::Recreate,
        ReconcileAction::RecordExit,
        ReconcileAction::Stop,
        ReconcileAction::RemoveOrphan,
        ReconcileAction::Restart,
        ReconcileAction::FinishCreate,
        ReconcileAction::RecordFrozen,
        ReconcileAction::Pause,
    ];
}

/// How a call to the container engine failed.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum EngineErrorKind {
    /// The engine could not be reached.
    Unavailable,
    /// The engine refused (conflict, bad config, resources…).
    Refused,
    Other,
}

impl EngineErrorKind {
    pub const ALL: [EngineErrorKind; 3] = [
        EngineErrorKind::Unavailable,
        EngineErrorKind::Refused,
        EngineErrorKind::Other,
    ];
}

/// Why the preview listener closed a connection at once.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RefusalReason {
    /// The listener holds its global connection cap.
    GlobalCap,
    /// The client's address (IPv6: its /64) holds its per-client cap.
    ClientCap,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 2] = [RefusalReason::GlobalCap, RefusalReason::ClientCap];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An HTTP status class.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum StatusClass {
    Informational,
    Success,
    Redirect,
    ClientError,
    ServerError,
}

impl StatusClass {
    pub const ALL: [StatusClass; 5] = [
        StatusClass::Informational,
        StatusClass::Success,
        StatusClass::Redirect,
        StatusClass::ClientError,
        StatusClass::ServerError,
    ];

    pub fn of(status: u16) -> Self {
        match status {
            0..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirect,
            400..=499 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OpLabels {
    pub op: Op,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReconcileLabels {
    pub action: ReconcileAction,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ErrorLabels {
    pub kind: EngineErrorKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ClassLabels {
    pub class: StatusClass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusalLabels {
    pub reason: RefusalReason,
}
