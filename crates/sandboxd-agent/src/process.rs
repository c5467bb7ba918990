//! `process.Process` rule: the agent starts processes (pipes or a PTY) that
//! outlive the calls that started them, fans each one's output to every
//! subscriber through a bounded replayable ring (`output`), and only
//! processes it started can be addressed — by pid or tag — for input,
//! signals (to the whole process group) and resizes. A client that goes
//! away never affects a process; the Start call's deadline kills it.
//!
//! Resumable output (sandboxd-private): every start/data/end message carries
//! `"seq"`; a `Connect` with header `x-sandboxd-since: N` first replays the
//! kept events with seq > N (`"gap": true` on the first one when some were
//! already dropped), then follows live. A `Start` with header
//! `x-sandboxd-hold` holds the process's output for that stream: the
//! process is slowed to the stream's pace instead of losing output (exec).

mod exit;
mod output;
mod pty;
mod registry;
mod spawn;

use std::sync::Arc;

use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::Request;

use crate::connect::stream::{self, server_stream};
use crate::connect::{self, Code, Empty, RpcError};
use crate::proto::process::{
    CloseStdinRequest, ConnectRequest, ListResponse, ProcessInput, SendInputRequest,
    SendSignalRequest, Signal, StartRequest, StreamInputRequest, UpdateRequest, KEEPALIVE,
};
use crate::server::{self, body::Response};
use crate::state::Agent;
pub use registry::Registry;
use registry::{Input, Proc};

/// The request header that asks `Connect` to replay kept output.
pub const SINCE_HEADER: &str = "x-sandboxd-since";
/// The request header that makes a `Start` stream hold its process's output.
pub const HOLD_HEADER: &str = "x-sandboxd-hold";

pub async fn serve(agent: Arc<Agent>, method: &str, req: Request<Incoming>) -> Response {
    match method {
        "Start" => {
            let hold = req.headers().contains_key(HOLD_HEADER);
            server_stream(
                req,
                KEEPALIVE,
                move |r: StartRequest, meta, sink| async move {
                    let proc = spawn::start(&agent, r, meta.deadline, hold).await?;
                    proc.output.follow(proc.pid, 1, &sink, hold).await;
                    Ok(())
                },
            )
            .await
        }
        "Connect" => {
            let since = match since(&req) {
                Ok(since) => since,
                Err(err) => return stream::error_only(err),
            };
            server_stream(
                req,
                KEEPALIVE,
                move |r: ConnectRequest, _, sink| async move {
                    let proc = agent.processes.any(&r.process)?;
                    let cursor = proc.output.cursor(since);
                    proc.output.follow(proc.pid, cursor, &sink, false).await;
                    Ok(())
                },
            )
            .await
        }
        "List" => {
            connect::unary(req, |_: Empty, _| async move {
                Ok(ListResponse {
                    processes: agent.processes.list(),
                })
            })
            .await
        }
        "SendInput" => {
            connect::unary(req, |r: SendInputRequest, _| async move {
                let proc = agent.processes.running(&r.process)?;
                write_input(&proc, &r.input).await.map(|()| Empty {})
            })
            .await
        }
        "StreamInput" => connect::client_stream(req, |msgs, _| stream_input(agent, msgs)).await,
        "CloseStdin" => {
            connect::unary(req, |r: CloseStdinRequest, _| async move {
                let proc = agent.processes.running(&r.process)?;
                match &proc.input {
                    Input::Stdin(stdin) => {
                        stdin.lock().await.take();
                        Ok(Empty {})
                    }
                    Input::Pty(_) => Err(precondition(&proc, "has a terminal, not a stdin pipe")),
                    Input::None => Err(precondition(&proc, "was started without stdin")),
                }
            })
            .await
        }
        "SendSignal" => {
            connect::unary(req, |r: SendSignalRequest, _| async move {
                let signal = match r.signal {
                    Signal::Sigterm => libc::SIGTERM,
                    Signal::Sigkill => libc::SIGKILL,
                    Signal::Unspecified => {
                        return Err(RpcError::invalid("signal must be SIGTERM or SIGKILL"))
                    }
                };
                let proc = agent.processes.running(&r.process)?;
                spawn::signal_group(proc.pid, signal)
                    .map_err(|e| RpcError::from_io(&e, &format!("signal pid {}", proc.pid)))?;
                Ok(Empty {})
            })
            .await
        }
        "Update" => {
            connect::unary(req, |r: UpdateRequest, _| async move {
                let size = r
                    .pty
                    .and_then(|p| p.size)
                    .filter(|s| s.cols > 0 && s.rows > 0)
                    .ok_or_else(|| RpcError::invalid("pty.size with cols and rows is required"))?;
                let proc = agent.processes.running(&r.process)?;
                let Input::Pty(pty) = &proc.input else {
                    return Err(precondition(&proc, "has no terminal to resize"));
                };
                pty.resize(size)
                    .map_err(|e| RpcError::from_io(&e, "resize the terminal"))?;
                Ok(Empty {})
            })
            .await
        }
        _ => server::unknown_method("process.Process", method),
    }
}

/// `x-sandboxd-since`, when present.
fn since(req: &Request<Incoming>) -> Result<Option<u64>, RpcError> {
    let Some(value) = req.headers().get(SINCE_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| RpcError::invalid(format!("{SINCE_HEADER} must be a decimal seq")))
}

fn precondition(proc: &Proc, why: &str) -> RpcError {
    RpcError::new(
        Code::FailedPrecondition,
        format!("process {} {why}", proc.pid),
    )
}

/// Writes one input message: `stdin` to the pipe, `pty` to the terminal.
async fn write_input(proc: &Proc, input: &ProcessInput) -> Result<(), RpcError> {
    use tokio::io::AsyncWriteExt;
    let failed = |e: std::io::Error| {
        RpcError::new(
            Code::FailedPrecondition,
            format!("process {} does not take input any more: {e}", proc.pid),
        )
    };
    match (&proc.input, input) {
        (Input::Stdin(stdin), ProcessInput::Stdin(bytes)) => {
            let mut guard = stdin.lock().await;
            let Some(pipe) = guard.as_mut() else {
                return Err(precondition(proc, "has its stdin closed"));
            };
            pipe.write_all(bytes).await.map_err(failed)?;
            pipe.flush().await.map_err(failed)
        }
        (Input::Pty(pty), ProcessInput::Pty(bytes)) => pty.write_all(bytes).await.map_err(failed),
        (Input::Pty(_), ProcessInput::Stdin(_)) => {
            Err(precondition(proc, "has a terminal: send input as `pty`"))
        }
        (Input::Stdin(_), ProcessInput::Pty(_)) => {
            Err(precondition(proc, "has no terminal: send input as `stdin`"))
        }
        (Input::None, _) => Err(precondition(
            proc,
            "was started without stdin (start it with stdin: true)",
        )),
    }
}

/// StreamInput: `start{process}` first, then `data{input}`s in order.
async fn stream_input(
    agent: Arc<Agent>,
    mut msgs: futures_util::stream::BoxStream<'static, Result<StreamInputRequest, RpcError>>,
) -> Result<Empty, RpcError> {
    let mut target: Option<Arc<Proc>> = None;
    while let Some(msg) = msgs.next().await {
        match msg? {
            StreamInputRequest::Start { process } => {
                target = Some(agent.processes.running(&process)?);
            }
            StreamInputRequest::Data { input } => {
                let Some(proc) = &target else {
                    return Err(RpcError::invalid(
                        "the first message must be start{process}",
                    ));
                };
                write_input(proc, &input).await?;
            }
            StreamInputRequest::Keepalive {} => {}
        }
    }
    Ok(Empty {})
}

#[cfg(test)]
mod tests;
