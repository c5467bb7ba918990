//! The life of one open terminal: PTY output goes to the socket as binary frames, binary frames
//! from the socket go to the PTY, resize frames resize it. Rule: the relay ends with the
//! process (exit frame, then close) or with the socket — and a socket that closes or breaks
//! first hangs the process up: SIGTERM to its group, then SIGKILL when it has not ended within
//! [`HANGUP_GRACE`] (an interactive shell ignores SIGTERM). The session guard lives as long as
//! the relay, so the sandbox counts as active exactly while the terminal is open.

use crate::wire::{TerminalClientFrame, TerminalServerFrame, TERMINAL_DIM_MAX};
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use base64::Engine as _;
use sandboxd_agent_client::{AgentClient, CallError, Endpoint, RpcStream};
use sandboxd_engine::SessionGuard;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a hung-up process gets to end on SIGTERM before SIGKILL.
const HANGUP_GRACE: Duration = Duration::from_secs(1);

/// A started terminal process, ready to be relayed.
pub struct Session {
    pub process: Process,
    pub events: RpcStream<Value>,
    pub _guard: SessionGuard,
    /// Set once the process is known to have ended or was hung up.
    pub settled: bool,
}

/// A session dropped unsettled — its upgrade never completed, or the server is going down —
/// still must not leave the process running: kill its group from a task of its own.
impl Drop for Session {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let p = Process {
            client: self.process.client.clone(),
            ep: self.process.ep.clone(),
            pid: self.process.pid,
        };
        rt.spawn(async move {
            let req = json!({"process": {"pid": p.pid}, "signal": "SIGNAL_SIGKILL"});
            if let Err(e) = call(&p, "/process.Process/SendSignal", &req).await {
                tracing::debug!(pid = p.pid, error = %e, "killing an abandoned terminal failed");
            }
        });
    }
}

/// Where the terminal's process runs (shared across awaits: the event stream is not `Sync`).
pub struct Process {
    pub client: AgentClient,
    pub ep: Endpoint,
    pub pid: u64,
}

/// What one process event means to the terminal.
enum Event {
    Output(Vec<u8>),
    End(i32),
    Other,
}

pub async fn run(mut s: Session, mut socket: WebSocket) {
    loop {
        tokio::select! {
            ev = s.events.next() => match ev.map(|r| r.map(|v| classify(&v))) {
                Some(Ok(Event::Output(bytes))) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        return hang_up(s).await;
                    }
                }
                Some(Ok(Event::End(exit_code))) => {
                    let frame = TerminalServerFrame::Exit { exit_code };
                    if let Ok(text) = serde_json::to_string(&frame) {
                        let _ = socket.send(Message::Text(text.into())).await;
                    }
                    s.settled = true;
                    let _ = socket.send(close(close_code::NORMAL, "process ended")).await;
                    return;
                }
                Some(Ok(Event::Other)) => {}
                Some(Err(e)) => {
                    tracing::warn!(pid = s.process.pid, error = %e, "terminal output stream broke");
                    let _ = socket.send(close(close_code::ERROR, "the sandbox's agent went away")).await;
                    return hang_up(s).await;
                }
                None => {
                    tracing::warn!(pid = s.process.pid, "terminal output stream ended without an end event");
                    let _ = socket.send(close(close_code::ERROR, "the process's output ended")).await;
                    return hang_up(s).await;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(bytes))) => input(&s.process, &bytes).await,
                Some(Ok(Message::Text(text))) => control(&s.process, text.as_str()).await,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return hang_up(s).await,
            },
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Keystrokes (any bytes) to the PTY. A failure is logged: the process's end, if that is the
/// cause, arrives on the event stream.
async fn input(s: &Process, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let req = json!({"process": {"pid": s.pid}, "input": {"pty": b64}});
    if let Err(e) = call(s, "/process.Process/SendInput", &req).await {
        tracing::debug!(pid = s.pid, error = %e, "terminal input not delivered");
    }
}

/// A control frame from the client; anything but a valid resize is ignored (logged).
async fn control(s: &Process, text: &str) {
    match serde_json::from_str::<TerminalClientFrame>(text) {
        Ok(TerminalClientFrame::Resize { cols, rows })
            if (1..=TERMINAL_DIM_MAX).contains(&cols) && (1..=TERMINAL_DIM_MAX).contains(&rows) =>
        {
            let req =
                json!({"process": {"pid": s.pid}, "pty": {"size": {"cols": cols, "rows": rows}}});
            if let Err(e) = call(s, "/process.Process/Update", &req).await {
                tracing::debug!(pid = s.pid, error = %e, "terminal resize failed");
            }
        }
        _ => tracing::debug!(pid = s.pid, "terminal control frame ignored"),
    }
}

async fn call(s: &Process, path: &str, req: &Value) -> Result<Value, CallError> {
    s.client.unary(&s.ep, path, req, &[]).await
}

/// The socket is gone: end the process and its group.
async fn hang_up(mut session: Session) {
    end_process(&mut session).await;
    session.settled = true;
}

/// SIGTERM, a grace period watching for the end, then SIGKILL.
async fn end_process(session: &mut Session) {
    let s = &session.process;
    let signal = |name: &'static str| json!({"process": {"pid": s.pid}, "signal": name});
    if call(s, "/process.Process/SendSignal", &signal("SIGNAL_SIGTERM"))
        .await
        .is_ok()
    {
        let ended = tokio::time::timeout(HANGUP_GRACE, async {
            while let Some(Ok(ev)) = session.events.next().await {
                if matches!(classify(&ev), Event::End(_)) {
                    return true;
                }
            }
            false
        })
        .await;
        if matches!(ended, Ok(true)) {
            tracing::info!(pid = s.pid, "terminal closed; its process ended on SIGTERM");
            return;
        }
    }
    match call(s, "/process.Process/SendSignal", &signal("SIGNAL_SIGKILL")).await {
        Ok(_) => tracing::info!(pid = s.pid, "terminal closed; its process group was killed"),
        Err(e) => tracing::debug!(pid = s.pid, error = %e, "terminal hang-up: kill failed"),
    }
}

fn classify(ev: &Value) -> Event {
    let event = &ev["event"];
    if let Some(data) = event["data"]["pty"].as_str() {
        return match base64::engine::general_purpose::STANDARD.decode(data) {
            Ok(bytes) => Event::Output(bytes),
            Err(_) => Event::Other,
        };
    }
    if let Some(end) = event.get("end") {
        return Event::End(exit_code(end));
    }
    Event::Other
}

/// The agent's end event as a shell would report it: the exit code, or 128 + the signal number
/// for a process killed by a signal (the agent says `exitCode: -1, status: "signal: killed"`).
fn exit_code(end: &Value) -> i32 {
    let code = end["exitCode"].as_i64().unwrap_or(0) as i32;
    if end["exited"].as_bool().unwrap_or(true) {
        return code;
    }
    let name = end["status"].as_str().unwrap_or("");
    let name = name.strip_prefix("signal: ").unwrap_or(name);
    let signo = match name.trim_end_matches(" (core dumped)") {
        "hangup" => libc_like::SIGHUP,
        "interrupt" => libc_like::SIGINT,
        "quit" => libc_like::SIGQUIT,
        "killed" => libc_like::SIGKILL,
        "terminated" => libc_like::SIGTERM,
        _ => return code,
    };
    128 + signo
}

/// Linux signal numbers used above (the API crate does not link libc).
mod libc_like {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGQUIT: i32 = 3;
    pub const SIGKILL: i32 = 9;
    pub const SIGTERM: i32 = 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_read_like_a_shell() {
        assert_eq!(exit_code(&json!({"exitCode": 3, "exited": true})), 3);
        assert_eq!(exit_code(&json!({"exited": true})), 0);
        let killed = json!({"exitCode": -1, "exited": false, "status": "signal: killed"});
        assert_eq!(exit_code(&killed), 137);
        let odd =
            json!({"exitCode": -1, "exited": false, "status": "signal: user defined signal 1"});
        assert_eq!(exit_code(&odd), -1);
    }

    #[test]
    fn events_are_classified() {
        let out = json!({"event": {"data": {"pty": "aGk="}}, "seq": 1});
        assert!(matches!(classify(&out), Event::Output(b) if b == b"hi"));
        let end = json!({"event": {"end": {"exitCode": 2, "exited": true}}, "seq": 2});
        assert!(matches!(classify(&end), Event::End(2)));
        let ka = json!({"event": {"keepalive": {}}});
        assert!(matches!(classify(&ka), Event::Other));
    }
}
