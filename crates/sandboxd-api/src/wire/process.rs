//! Process wire types: starting a background process, listing them, writing its stdin, signalling
//! it, and the data of its output stream's events (the stream itself is `text/event-stream`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// `POST .../processes`: one program, run without a shell, in the background.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProcessRequest)]
pub struct ProcessBody {
    /// Program and arguments.
    #[schema(min_items = 1)]
    pub cmd: Vec<String>,
    /// Working directory: absolute, or relative to the home (default `~/workspace`).
    pub cwd: Option<String>,
    /// Extra environment variables for this process only.
    pub env: Option<BTreeMap<String, String>>,
    /// A name unique among the running processes.
    pub tag: Option<String>,
    /// Keep stdin open for `POST .../stdin` (default: closed).
    pub stdin: Option<bool>,
    /// Run on a terminal of this size (stdout and stderr merge into `pty` events).
    pub pty: Option<PtySizeBody>,
    /// Kill the process group after this many seconds.
    #[schema(minimum = 1, maximum = 86400)]
    pub timeout_s: Option<u64>,
}

/// A terminal size.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PtySize)]
pub struct PtySizeBody {
    #[schema(minimum = 1, maximum = 1000)]
    pub cols: u16,
    #[schema(minimum = 1, maximum = 1000)]
    pub rows: u16,
}

/// A process the sandbox's agent started.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Process)]
pub struct ProcessView {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Program and arguments.
    pub cmd: Vec<String>,
    /// Its working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// The running processes, and the last ones that exited while still kept.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessList {
    pub processes: Vec<ProcessView>,
}

/// `POST .../stdin`: bytes as `text` or `base64` (not both), and/or `eof` to close stdin.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StdinRequest)]
pub struct StdinBody {
    pub text: Option<String>,
    /// Standard base64 with padding.
    pub base64: Option<String>,
    /// Close stdin after writing.
    pub eof: Option<bool>,
}

/// The signals a process may be sent (to its whole process group).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum SignalName {
    #[default]
    #[serde(rename = "SIGTERM")]
    Sigterm,
    #[serde(rename = "SIGKILL")]
    Sigkill,
}

/// `POST .../signal`.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignalRequest)]
pub struct SignalBody {
    pub signal: Option<SignalName>,
}

/// `GET .../output` options.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutputParams {
    /// Resume after this event id (as the `Last-Event-ID` header does).
    pub since: Option<u64>,
}

/// Data of `stdout`, `stderr` and `pty` events: `text` when the chunk is UTF-8, else `base64`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutputChunk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

/// Data of the `exit` event, the stream's last.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExitEvent {
    /// The exit code, or 128+N after a death by signal N.
    pub exit_code: i64,
    /// How it ended, e.g. `exit status 1`, `signal: killed`.
    pub status: String,
}
