//! Spawn rule: a process runs `cmd` with `args` exactly (no shell added),
//! with the agent's environment + `/init`'s envs + the call's envs (later
//! wins), in `cwd` (relative → against the workdir; none → the workdir; a
//! missing one → `invalid_argument`), in its own session and process group.
//! Its output is read as it comes into the process's ring by reader tasks;
//! a supervisor task reaps it, kills its group with SIGKILL at the call's
//! deadline, drains what the readers still hold (bounded, since a
//! background grandchild may keep a pipe open forever; a held process's
//! drain lasts while its holder keeps reading) and appends the end event.
//! Nothing here depends on any client staying connected.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::exit;
use super::output::{Output, EXITED_CAP, RUNNING_CAP};
use super::pty::{self, Pty};
use super::registry::{Input, Proc};
use crate::connect::RpcError;
use crate::proto::process::{Output as Data, ProcessConfig, StartRequest};
use crate::state::Agent;

/// How long output is still collected after the process exited.
const DRAIN: Duration = Duration::from_millis(500);
/// Largest chunk read at once (one data event).
const CHUNK: usize = 32 << 10;
/// `TERM` of a terminal whose caller did not choose one.
const DEFAULT_TERM: &str = "xterm-256color";

/// A child just forked, with the parent's ends of its stdio.
struct Spawned {
    child: Child,
    pid: u32,
    cwd: PathBuf,
    pty: Option<Arc<Pty>>,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: Option<tokio::process::ChildStdout>,
    stderr: Option<tokio::process::ChildStderr>,
}

/// Starts `req`'s process, registers it and leaves it running under its
/// supervisor; `deadline` (the call's `Connect-Timeout-Ms`) bounds its life;
/// `hold`: its output is held for the Start stream (see `output`).
/// The cwd check, terminal setup and fork+exec run on a blocking thread
/// while a registry slot (cap and tag) is held for the process.
pub async fn start(
    agent: &Arc<Agent>,
    req: StartRequest,
    deadline: Option<Duration>,
    hold: bool,
) -> Result<Arc<Proc>, RpcError> {
    if req.process.cmd.is_empty() {
        return Err(RpcError::invalid("process.cmd is empty"));
    }
    let slot = agent.processes.reserve(req.tag.as_deref())?;
    let (task_agent, task_req) = (agent.clone(), req.clone());
    let mut spawned = tokio::task::spawn_blocking(move || spawn_child(&task_agent, &task_req))
        .await
        .map_err(|e| RpcError::internal(format!("the spawn task failed: {e}")))??;
    let input = match (&spawned.pty, spawned.stdin.take()) {
        (Some(pty), _) => Input::Pty(pty.clone()),
        (None, Some(stdin)) => Input::Stdin(tokio::sync::Mutex::new(Some(stdin))),
        (None, None) => Input::None,
    };
    let proc = Arc::new(Proc {
        pid: spawned.pid,
        tag: req.tag,
        config: ProcessConfig {
            cwd: Some(spawned.cwd.to_string_lossy().into_owned()),
            ..req.process
        },
        input,
        output: if hold {
            Output::held(RUNNING_CAP)
        } else {
            Output::new(RUNNING_CAP)
        },
    });
    slot.fill(proc.clone());
    let mut readers = Vec::new();
    if let Some(pty) = spawned.pty {
        readers.push(tokio::spawn(pump_pty(pty, proc.clone())));
    }
    if let Some(out) = spawned.stdout {
        readers.push(tokio::spawn(pump(out, proc.clone(), Data::Stdout)));
    }
    if let Some(err) = spawned.stderr {
        readers.push(tokio::spawn(pump(err, proc.clone(), Data::Stderr)));
    }
    tokio::spawn(supervise(
        agent.clone(),
        proc.clone(),
        spawned.child,
        readers,
        deadline,
    ));
    Ok(proc)
}

/// Checks the cwd, opens the terminal if asked, forks and execs. Blocking.
fn spawn_child(agent: &Agent, req: &StartRequest) -> Result<Spawned, RpcError> {
    let cwd = resolve_cwd(agent, req.process.cwd.as_deref())?;
    let defaults = agent.defaults();
    let mut cmd = Command::new(&req.process.cmd);
    cmd.args(&req.process.args)
        .current_dir(&cwd)
        .envs(&defaults.envs)
        .envs(&req.process.envs);
    let pty = match req.pty {
        Some(p) => {
            let (pty, slave) =
                pty::open(p.size).map_err(|e| RpcError::from_io(&e, "open a pty"))?;
            if !req.process.envs.contains_key("TERM") && !defaults.envs.contains_key("TERM") {
                cmd.env("TERM", DEFAULT_TERM);
            }
            let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| RpcError::from_io(&e, "dup pty"));
            cmd.stdin(dup(&slave)?).stdout(dup(&slave)?).stderr(slave);
            Some(Arc::new(pty))
        }
        None => {
            let stdin = if req.stdin.unwrap_or(false) {
                Stdio::piped()
            } else {
                Stdio::null()
            };
            cmd.stdin(stdin)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            None
        }
    };
    let with_tty = pty.is_some();
    // SAFETY: the closure only calls async-signal-safe functions (setsid, ioctl).
    unsafe {
        cmd.pre_exec(move || pty::become_session_leader(with_tty));
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| RpcError::from_io(&e, &format!("start {:?}", req.process.cmd)))?;
    // `cmd` holds the parent's copies of the slave; they close when it drops
    // here, so the master reads EOF once the child's side is gone.
    drop(cmd);
    let Some(pid) = child.id() else {
        return Err(RpcError::internal("the child has no pid"));
    };
    Ok(Spawned {
        pid,
        cwd,
        pty,
        stdin: child.stdin.take(),
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        child,
    })
}

fn resolve_cwd(agent: &Agent, cwd: Option<&str>) -> Result<PathBuf, RpcError> {
    let dir = match cwd {
        None | Some("") => agent.workdir(),
        Some(dir) => agent.absolute(std::path::Path::new(dir)),
    };
    if !dir.is_dir() {
        return Err(RpcError::invalid(format!(
            "cwd {} is not an existing directory",
            dir.display()
        )));
    }
    Ok(dir)
}

async fn pump<R: AsyncRead + Unpin>(mut from: R, proc: Arc<Proc>, wrap: fn(Vec<u8>) -> Data) {
    let mut buf = vec![0u8; CHUNK];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        proc.output.wait_room(n).await;
        proc.output.data(wrap(buf[..n].to_vec()));
    }
}

async fn pump_pty(pty: Arc<Pty>, proc: Arc<Proc>) {
    let mut buf = vec![0u8; CHUNK];
    while let Ok(n @ 1..) = pty.read(&mut buf).await {
        proc.output.wait_room(n).await;
        proc.output.data(Data::Pty(buf[..n].to_vec()));
    }
}

/// Sends `signal` to the process group `pid` leads.
pub fn signal_group(pid: u32, signal: i32) -> std::io::Result<()> {
    let pgid = i32::try_from(pid).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: kill touches no memory; a negative pid addresses the group.
    if unsafe { libc::kill(-pgid, signal) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

async fn supervise(
    agent: Arc<Agent>,
    proc: Arc<Proc>,
    mut child: Child,
    mut readers: Vec<JoinHandle<()>>,
    deadline: Option<Duration>,
) {
    let status = match deadline {
        None => child.wait().await,
        Some(limit) => match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                let _ = signal_group(proc.pid, libc::SIGKILL);
                child.wait().await
            }
        },
    };
    // Reaped: no longer running, so no signal can reach a reused pid.
    agent.processes.exited(&proc);
    // Each round of the drain is bounded, but a round in which the holder of a held process read
    // on (its readers wait for it, not for the pipe) earns another one.
    loop {
        let before = proc.output.held_cursor();
        let drained = futures_util::future::join_all(readers.iter_mut());
        if tokio::time::timeout(DRAIN, drained).await.is_ok() {
            break;
        }
        if before.is_none() || proc.output.held_cursor() == before {
            readers.iter().for_each(JoinHandle::abort);
            break;
        }
    }
    let end = match status {
        Ok(status) => exit::end_event(status),
        Err(err) => exit::wait_failed(&err),
    };
    proc.output.finish(end);
    proc.output.shrink(EXITED_CAP);
}
