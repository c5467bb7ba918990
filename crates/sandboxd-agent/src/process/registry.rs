//! Registry rule: only processes the agent started are addressable, by pid
//! or by tag. Input, signals, resizes and `List` see running processes
//! only; `Connect` also finds the last [`KEEP_EXITED`] exited ones (their
//! rings cut to `output::EXITED_CAP` at the end) so a late subscriber still
//! gets the end. Tags are unique among running processes, and at most
//! [`MAX_RUNNING`] run at once; both are checked under the same lock that
//! admits the new process, so two racing starts cannot both pass.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::process::ChildStdin;

use super::output::Output;
use super::pty::Pty;
use crate::connect::{Code, RpcError};
use crate::proto::process::{ProcessConfig, ProcessInfo, ProcessSelector};

/// Concurrent processes the agent runs at most.
pub const MAX_RUNNING: usize = 256;
/// Exited processes kept for late `Connect`s.
pub const KEEP_EXITED: usize = 64;

/// Where a process's input goes.
#[derive(Debug)]
pub enum Input {
    /// Started with `stdin: false`: stdin is /dev/null.
    None,
    /// A pipe, until `CloseStdin`.
    Stdin(tokio::sync::Mutex<Option<ChildStdin>>),
    /// The terminal's master.
    Pty(Arc<Pty>),
}

/// One process the agent started.
#[derive(Debug)]
pub struct Proc {
    pub pid: u32,
    pub tag: Option<String>,
    pub config: ProcessConfig,
    pub input: Input,
    pub output: Output,
}

impl Proc {
    fn matches(&self, sel: &ProcessSelector) -> bool {
        match sel {
            ProcessSelector::Pid(pid) => self.pid == *pid,
            ProcessSelector::Tag(tag) => self.tag.as_deref() == Some(tag.as_str()),
        }
    }

    pub fn info(&self) -> ProcessInfo {
        ProcessInfo {
            config: self.config.clone(),
            pid: self.pid,
            tag: self.tag.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    running: HashMap<u32, Arc<Proc>>,
    exited: VecDeque<Arc<Proc>>,
}

/// The processes the agent started, by pid.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

fn unknown(sel: &ProcessSelector) -> RpcError {
    match sel {
        ProcessSelector::Pid(pid) => RpcError::not_found(format!(
            "no process with pid {pid} was started by the agent"
        )),
        ProcessSelector::Tag(tag) => RpcError::not_found(format!("no process tagged {tag:?}")),
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic mid-update of plain maps.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks the cap and the tag, then runs `spawn` and records its process,
    /// all under one lock (spawning is a fork+exec, not a wait on the child).
    pub fn admit(
        &self,
        tag: Option<&str>,
        spawn: impl FnOnce() -> Result<Arc<Proc>, RpcError>,
    ) -> Result<Arc<Proc>, RpcError> {
        let mut inner = self.lock();
        if inner.running.len() >= MAX_RUNNING {
            return Err(RpcError::new(
                Code::ResourceExhausted,
                format!("{MAX_RUNNING} processes are already running"),
            ));
        }
        if let Some(tag) = tag {
            if inner
                .running
                .values()
                .any(|p| p.tag.as_deref() == Some(tag))
            {
                return Err(RpcError::new(
                    Code::AlreadyExists,
                    format!("a running process is already tagged {tag:?}"),
                ));
            }
        }
        let proc = spawn()?;
        inner.running.insert(proc.pid, proc.clone());
        Ok(proc)
    }

    /// A running process.
    pub fn running(&self, sel: &ProcessSelector) -> Result<Arc<Proc>, RpcError> {
        let inner = self.lock();
        inner
            .running
            .values()
            .find(|p| p.matches(sel))
            .cloned()
            .ok_or_else(|| unknown(sel))
    }

    /// A running process, else the most recently exited match.
    pub fn any(&self, sel: &ProcessSelector) -> Result<Arc<Proc>, RpcError> {
        let inner = self.lock();
        inner
            .running
            .values()
            .find(|p| p.matches(sel))
            .or_else(|| inner.exited.iter().rev().find(|p| p.matches(sel)))
            .cloned()
            .ok_or_else(|| unknown(sel))
    }

    /// Running processes, by pid.
    pub fn list(&self) -> Vec<ProcessInfo> {
        let inner = self.lock();
        let mut all: Vec<ProcessInfo> = inner.running.values().map(|p| p.info()).collect();
        all.sort_by_key(|p| p.pid);
        all
    }

    /// Moves `pid` to the exited list (called once it was reaped).
    pub fn exited(&self, pid: u32) {
        let mut inner = self.lock();
        if let Some(proc) = inner.running.remove(&pid) {
            inner.exited.push_back(proc);
            while inner.exited.len() > KEEP_EXITED {
                inner.exited.pop_front();
            }
        }
    }
}
