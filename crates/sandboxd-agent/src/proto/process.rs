//! `process.Process` messages (E2B's `process.proto`, JSON mapping). Field
//! names are lowerCamelCase on the wire; multi-word fields also accept
//! snake_case. `oneof`s are Rust enums keyed by the member's JSON name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json::{b64, u32_lenient};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessConfig {
    pub cmd: String,
    pub args: Vec<String>,
    pub envs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PtySize {
    #[serde(deserialize_with = "u32_lenient")]
    pub cols: u32,
    #[serde(deserialize_with = "u32_lenient")]
    pub rows: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pty {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<PtySize>,
}

/// `ProcessSelector`: by pid or by tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProcessSelector {
    Pid(#[serde(deserialize_with = "u32_lenient")] u32),
    Tag(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartRequest {
    pub process: ProcessConfig,
    pub pty: Option<Pty>,
    pub tag: Option<String>,
    /// Keep stdin open for SendInput/StreamInput (default: closed).
    pub stdin: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectRequest {
    pub process: ProcessSelector,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInfo {
    pub config: ProcessConfig,
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListResponse {
    pub processes: Vec<ProcessInfo>,
}

/// `ProcessInput`: bytes for stdin or for the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProcessInput {
    Stdin(#[serde(with = "b64")] Vec<u8>),
    Pty(#[serde(with = "b64")] Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SendInputRequest {
    pub process: ProcessSelector,
    pub input: ProcessInput,
}

/// One message of the StreamInput client stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamInputRequest {
    Start { process: ProcessSelector },
    Data { input: ProcessInput },
    Keepalive {},
}

crate::proto_enum!(
    /// The signals a client may send (anything else is refused).
    Signal {
        Unspecified = 0 => "SIGNAL_UNSPECIFIED",
        Sigterm = 15 => "SIGNAL_SIGTERM",
        Sigkill = 9 => "SIGNAL_SIGKILL",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SendSignalRequest {
    pub process: ProcessSelector,
    #[serde(default)]
    pub signal: Signal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CloseStdinRequest {
    pub process: ProcessSelector,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UpdateRequest {
    pub process: ProcessSelector,
    #[serde(default)]
    pub pty: Option<Pty>,
}

/// `DataEvent.output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Output {
    Stdout(#[serde(with = "b64")] Vec<u8>),
    Stderr(#[serde(with = "b64")] Vec<u8>),
    Pty(#[serde(with = "b64")] Vec<u8>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndEvent {
    pub exit_code: i32,
    pub exited: bool,
    /// e.g. `exit status 1`, `signal: killed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeepAlive {}

/// `ProcessEvent.event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    Start { pid: u32 },
    Data(Output),
    End(EndEvent),
    Keepalive(KeepAlive),
}

/// `StartResponse` and `ConnectResponse` (same shape), plus two
/// sandboxd-private fields E2B's SDKs ignore: `seq`, the event's place in
/// its process's output (0 for `start`, then 1, 2, … up to `end`), and
/// `gap`, set on the first event after events the subscriber never got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventResponse {
    pub event: Event,
    pub seq: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gap: bool,
}

/// The keepalive message of process streams, pre-encoded.
pub const KEEPALIVE: &str = r#"{"event":{"keepalive":{}}}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_shapes_parse() {
        let start: StartRequest = serde_json::from_str(
            r#"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"],"envs":{"A":"1"},"cwd":"/tmp"},"pty":{"size":{"cols":80,"rows":24}},"stdin":false}"#,
        )
        .unwrap();
        assert_eq!(start.process.args.len(), 3);
        assert_eq!(start.pty.unwrap().size.unwrap().cols, 80);
        let input: SendInputRequest =
            serde_json::from_str(r#"{"process":{"pid":12},"input":{"stdin":"aGkK"}}"#).unwrap();
        assert_eq!(input.input, ProcessInput::Stdin(b"hi\n".to_vec()));
        let sig: SendSignalRequest =
            serde_json::from_str(r#"{"process":{"tag":"dev"},"signal":"SIGNAL_SIGKILL"}"#).unwrap();
        assert_eq!(sig.signal, Signal::Sigkill);
        let s: StreamInputRequest =
            serde_json::from_str(r#"{"start":{"process":{"pid":"3"}}}"#).unwrap();
        assert_eq!(
            s,
            StreamInputRequest::Start {
                process: ProcessSelector::Pid(3)
            }
        );
    }

    #[test]
    fn events_encode_as_the_sdk_reads_them() {
        let e = EventResponse {
            event: Event::Data(Output::Stdout(b"hi".to_vec())),
            seq: 3,
            gap: true,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":{"data":{"stdout":"aGk="}},"seq":3,"gap":true}"#
        );
        let e = EventResponse {
            event: Event::Start { pid: 7 },
            seq: 0,
            gap: false,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":{"start":{"pid":7}},"seq":0}"#
        );
        let ka: serde_json::Value = serde_json::from_str(KEEPALIVE).unwrap();
        let ka_event = serde_json::to_value(Event::Keepalive(KeepAlive {})).unwrap();
        assert_eq!(ka["event"], ka_event);
    }
}
