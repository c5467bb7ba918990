//! Exec through the agent: one `process.Process/Start` stream, its output collected up to the
//! output cap, and its end turned into the numbers the Docker path gives — the exit code, 128+N
//! for a death by signal N, 124 + `timed_out` when the deadline passed, 127 for a missing program
//! and 126 for a command that cannot start (e.g. a missing cwd). The output is held for the
//! stream (`x-sandboxd-hold`), so a fast writer is slowed to our pace and nothing is lost. The
//! Docker path is used only when the agent cannot be reached before anything ran
//! ([`Collected::Unreachable`]); a stream that breaks after the process started is an error,
//! never a second run.

use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use sandboxd_agent_client::process_events::{
    Chunk, Ended, ProcessEvent, ProcessMessage, HOLD_HEADER, SINCE_HEADER,
};
use sandboxd_agent_client::{AgentClient, CallError, Endpoint, RpcStream};
use serde_json::json;

use super::{ExecCommand, ExecResult};
use crate::EngineError;

/// How long the end of a timed-out process is awaited after its deadline (the agent kills its
/// group at the deadline; this only covers the kill and the last output).
const END_AFTER_DEADLINE: Duration = Duration::from_secs(5);

pub(super) enum Collected {
    Done(ExecResult),
    /// Nothing was started: the agent did not accept the call.
    Unreachable(String),
}

/// The output gathered so far, capped per stream like the Docker path.
struct Sink {
    out: ExecResult,
    cap: usize,
    last_seq: u64,
    pid: Option<u32>,
}

impl Sink {
    fn push(&mut self, ev: ProcessMessage) -> Option<Ended> {
        self.last_seq = self.last_seq.max(ev.seq);
        if ev.gap {
            // Events were dropped because this reader fell behind: the output has a hole.
            self.out.truncated = true;
        }
        match ev.event {
            ProcessEvent::Start { pid } => self.pid = Some(pid),
            ProcessEvent::Data(Chunk::Stdout(b)) | ProcessEvent::Data(Chunk::Pty(b)) => {
                append(&mut self.out.stdout, &mut self.out.truncated, &b, self.cap)
            }
            ProcessEvent::Data(Chunk::Stderr(b)) => {
                append(&mut self.out.stderr, &mut self.out.truncated, &b, self.cap)
            }
            ProcessEvent::End(end) => return Some(end),
            ProcessEvent::Keepalive {} => {}
        }
        None
    }
}

fn append(buf: &mut Vec<u8>, truncated: &mut bool, data: &[u8], cap: usize) {
    let room = cap.saturating_sub(buf.len());
    if data.len() > room {
        *truncated = true;
    }
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

/// Runs `cmd` through the agent at `ep` and collects what it printed.
pub(super) async fn run(
    client: &AgentClient,
    ep: &Endpoint,
    cmd: &ExecCommand,
    cwd: String,
    cap: usize,
) -> Result<Collected, EngineError> {
    let req = json!({"process": {
        "cmd": cmd.cmd[0], "args": cmd.cmd[1..], "envs": cmd.env, "cwd": cwd,
    }});
    // Held: the process waits for this stream rather than dropping output it has not read.
    let mut headers = vec![(
        HeaderName::from_static(HOLD_HEADER),
        HeaderValue::from_static("1"),
    )];
    if let Some(t) = cmd.timeout_s {
        headers.push((
            HeaderName::from_static("connect-timeout-ms"),
            HeaderValue::from(t * 1000),
        ));
    }
    let mut stream: RpcStream<ProcessMessage> = match client
        .stream(ep, "/process.Process/Start", &req, &headers)
        .await
    {
        Ok(s) => s,
        Err(CallError::Unreachable(m)) => return Ok(Collected::Unreachable(m)),
        Err(e) => return Err(call_failed(e)),
    };
    let mut sink = Sink {
        out: empty(),
        cap,
        last_seq: 0,
        pid: None,
    };
    loop {
        match stream.next().await {
            Some(Ok(ev)) => {
                if let Some(end) = sink.push(ev) {
                    return Ok(Collected::Done(finish(sink.out, &end)));
                }
            }
            // The stream was refused before the process existed: no output, no pid.
            Some(Err(CallError::Unreachable(m))) if sink.pid.is_none() => {
                return Ok(Collected::Unreachable(m))
            }
            Some(Err(CallError::Rpc { code, message })) if sink.pid.is_none() => {
                return cannot_start(&cmd.cmd[0], &code, message).map(Collected::Done)
            }
            Some(Err(CallError::Rpc { code, .. })) if code == "deadline_exceeded" => {
                return Ok(Collected::Done(after_deadline(client, ep, sink).await))
            }
            Some(Err(e)) => return Err(call_failed(e)),
            None => {
                return Err(EngineError::AgentUnavailable(
                    "the agent ended the exec stream without an end event".into(),
                ))
            }
        }
    }
}

/// The process outlived its deadline: the agent kills its group; wait (bounded) for that end,
/// keeping the output that came after what was already read, then answer as the Docker path.
async fn after_deadline(client: &AgentClient, ep: &Endpoint, mut sink: Sink) -> ExecResult {
    if let Some(pid) = sink.pid {
        let since = [(
            HeaderName::from_static(SINCE_HEADER),
            HeaderValue::from(sink.last_seq),
        )];
        let req = json!({"process": {"pid": pid}});
        let wait = async {
            let Ok(mut s) = client
                .stream::<_, ProcessMessage>(ep, "/process.Process/Connect", &req, &since)
                .await
            else {
                return;
            };
            while let Some(Ok(ev)) = s.next().await {
                if sink.push(ev).is_some() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(END_AFTER_DEADLINE, wait).await;
    }
    let mut out = sink.out;
    out.stderr.extend_from_slice(b"sandboxd: exec timed out\n");
    out.exit_code = 124;
    out.timed_out = true;
    out
}

/// The result of a process that ended by itself.
fn finish(mut out: ExecResult, end: &Ended) -> ExecResult {
    out.exit_code = i64::from(end.shell_code());
    if let Some(err) = &end.error {
        out.stderr
            .extend_from_slice(format!("sandboxd: {err}\n").as_bytes());
    }
    out
}

/// The agent refused to start the command: answer like the exec wrapper does (127 for a program
/// that does not exist, 126 for one that cannot start), or fail the call for anything else.
fn cannot_start(program: &str, code: &str, message: String) -> Result<ExecResult, EngineError> {
    let exit_code = match code {
        "not_found" => 127,
        "invalid_argument" | "permission_denied" | "failed_precondition" => 126,
        _ => {
            return Err(call_failed(CallError::Rpc {
                code: code.to_string(),
                message,
            }))
        }
    };
    let mut out = empty();
    out.stderr = format!("sandboxd: exec: {program}: {message}\n").into_bytes();
    out.exit_code = exit_code;
    Ok(out)
}

fn call_failed(e: CallError) -> EngineError {
    match e {
        CallError::Rpc { code, message } if code == "resource_exhausted" => {
            EngineError::Capacity(message)
        }
        CallError::Rpc { .. } | CallError::Http { .. } => {
            EngineError::Internal(format!("exec through the agent: {e}"))
        }
        CallError::Unreachable(_) | CallError::Protocol(_) => {
            EngineError::AgentUnavailable(format!("exec through the agent: {e}"))
        }
    }
}

fn empty() -> ExecResult {
    ExecResult {
        stdout: Vec::new(),
        stderr: Vec::new(),
        exit_code: 0,
        truncated: false,
        timed_out: false,
        duration_ms: 0,
    }
}
