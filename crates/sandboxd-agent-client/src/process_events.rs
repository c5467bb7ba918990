//! Reading rule: the agent's process messages (`{"event":{…},"seq":N,"gap"?}`) are decoded here,
//! once, into client-side types — the agent's own types only serialize — so every caller
//! (exec, output streams, terminals) reads a start, a data chunk, an end or a keepalive the same
//! way, and an unknown event kind is a protocol error rather than silently skipped.

use serde::Deserialize;

use sandboxd_agent::proto::json::{b64, u32_lenient};

/// The header that makes `Connect` replay kept events with a seq above its value.
pub const SINCE_HEADER: &str = "x-sandboxd-since";
/// The header that makes a `Start` stream hold its process's output (no drops; the process is
/// slowed to the stream's pace instead).
pub const HOLD_HEADER: &str = "x-sandboxd-hold";

/// One message of a `Start` or `Connect` stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProcessMessage {
    pub event: ProcessEvent,
    /// The event's place in its process's output (0 for start; keepalives carry none).
    #[serde(default)]
    pub seq: u64,
    /// Events before this one were dropped before this subscriber read them.
    #[serde(default)]
    pub gap: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProcessEvent {
    Start {
        #[serde(deserialize_with = "u32_lenient")]
        pid: u32,
    },
    Data(Chunk),
    End(Ended),
    Keepalive {},
}

/// Output bytes, by where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Chunk {
    Stdout(#[serde(with = "b64")] Vec<u8>),
    Stderr(#[serde(with = "b64")] Vec<u8>),
    Pty(#[serde(with = "b64")] Vec<u8>),
}

/// How the process ended (Go's `ProcessState` reading: a signal death is `exited: false`,
/// `exit_code: -1`, `status: "signal: <name>"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ended {
    pub exit_code: i32,
    pub exited: bool,
    pub status: String,
    pub error: Option<String>,
}

impl Ended {
    /// The exit code a shell would report: the code, or 128+N after a death by signal N.
    pub fn shell_code(&self) -> i32 {
        if self.exited {
            return self.exit_code;
        }
        let name = self.status.strip_prefix("signal: ").unwrap_or("");
        let name = name.strip_suffix(" (core dumped)").unwrap_or(name);
        let signo = match name {
            "hangup" => 1,
            "interrupt" => 2,
            "quit" => 3,
            "illegal instruction" => 4,
            "trace/breakpoint trap" => 5,
            "aborted" => 6,
            "bus error" => 7,
            "floating point exception" => 8,
            "killed" => 9,
            "user defined signal 1" => 10,
            "segmentation fault" => 11,
            "user defined signal 2" => 12,
            "broken pipe" => 13,
            "alarm clock" => 14,
            "terminated" => 15,
            "CPU time limit exceeded" => 24,
            "file size limit exceeded" => 25,
            "bad system call" => 31,
            other => match other.strip_prefix("signal ").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                // Waiting failed or the status is unknown: a generic failure.
                None => {
                    return if self.exit_code > 0 {
                        self.exit_code
                    } else {
                        1
                    }
                }
            },
        };
        128 + signo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ProcessMessage {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn agent_messages_decode() {
        let m = parse(r#"{"event":{"start":{"pid":7}},"seq":0}"#);
        assert_eq!(m.event, ProcessEvent::Start { pid: 7 });
        let m = parse(r#"{"event":{"data":{"stderr":"aGk="}},"seq":3,"gap":true}"#);
        assert_eq!(
            (m.event, m.seq, m.gap),
            (ProcessEvent::Data(Chunk::Stderr(b"hi".to_vec())), 3, true)
        );
        let m = parse(r#"{"event":{"keepalive":{}}}"#);
        assert_eq!((m.event, m.seq), (ProcessEvent::Keepalive {}, 0));
        let m = parse(
            r#"{"event":{"end":{"exitCode":-1,"exited":false,"status":"signal: killed"}},"seq":9}"#,
        );
        let ProcessEvent::End(end) = m.event else {
            panic!("not an end")
        };
        assert_eq!(end.shell_code(), 137);
        assert!(serde_json::from_str::<ProcessMessage>(r#"{"event":{"bogus":{}}}"#).is_err());
    }

    #[test]
    fn shell_codes_follow_the_shell() {
        let end = |code, exited, status: &str| Ended {
            exit_code: code,
            exited,
            status: status.into(),
            error: None,
        };
        assert_eq!(end(3, true, "exit status 3").shell_code(), 3);
        assert_eq!(end(-1, false, "signal: terminated").shell_code(), 143);
        assert_eq!(
            end(-1, false, "signal: segmentation fault (core dumped)").shell_code(),
            139
        );
        assert_eq!(end(-1, false, "signal: signal 40").shell_code(), 168);
        assert_eq!(end(-1, false, "unknown").shell_code(), 1);
    }
}
