//! Registry rule: only processes the agent started are addressable, by pid
//! or by tag. Input, signals, resizes and `List` see running processes
//! only; `Connect` also finds the last [`KEEP_EXITED`] exited ones (their
//! rings cut to `output::EXITED_CAP` at the end) so a late subscriber still
//! gets the end. Tags are unique among running processes, and at most
//! [`MAX_RUNNING`] run at once; both are checked when a start reserves its
//! [`Slot`] (held while it forks), so two racing starts cannot both pass.

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
    /// Tags (or none) of processes being spawned.
    reserved: Vec<Option<String>>,
    exited: VecDeque<Arc<Proc>>,
}

/// The processes the agent started, by pid.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

/// A place held in the registry while a process is spawned.
#[derive(Debug)]
pub struct Slot<'a> {
    registry: &'a Registry,
    tag: Option<String>,
}

impl Slot<'_> {
    /// Records the spawned process as running, in this slot's place.
    pub fn fill(self, proc: Arc<Proc>) {
        self.registry.lock().running.insert(proc.pid, proc);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        if let Some(i) = inner.reserved.iter().position(|t| *t == self.tag) {
            inner.reserved.swap_remove(i);
        }
    }
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

    /// Checks the cap and the tag and holds a place for the new process
    /// until it is [`Slot::fill`]ed (or the slot dropped, when the spawn failed).
    pub fn reserve(&self, tag: Option<&str>) -> Result<Slot<'_>, RpcError> {
        let mut inner = self.lock();
        if inner.running.len() + inner.reserved.len() >= MAX_RUNNING {
            return Err(RpcError::new(
                Code::ResourceExhausted,
                format!("{MAX_RUNNING} processes are already running"),
            ));
        }
        if let Some(tag) = tag {
            let taken = inner
                .running
                .values()
                .any(|p| p.tag.as_deref() == Some(tag))
                || inner.reserved.iter().any(|t| t.as_deref() == Some(tag));
            if taken {
                return Err(RpcError::new(
                    Code::AlreadyExists,
                    format!("a running process is already tagged {tag:?}"),
                ));
            }
        }
        inner.reserved.push(tag.map(String::from));
        Ok(Slot {
            registry: self,
            tag: tag.map(String::from),
        })
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

    /// Moves `proc` to the exited list (called once it was reaped). Only
    /// this very entry moves: a new process that already reused the pid
    /// stays running.
    pub fn exited(&self, proc: &Arc<Proc>) {
        let mut inner = self.lock();
        let same = inner
            .running
            .get(&proc.pid)
            .is_some_and(|p| Arc::ptr_eq(p, proc));
        if let Some(proc) = same.then(|| inner.running.remove(&proc.pid)).flatten() {
            inner.exited.push_back(proc);
            while inner.exited.len() > KEEP_EXITED {
                inner.exited.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_enforce_the_cap_and_unique_tags() {
        let registry = Registry::default();
        let tagged = registry.reserve(Some("web")).unwrap();
        let err = registry.reserve(Some("web")).unwrap_err();
        assert_eq!(
            err.code,
            Code::AlreadyExists,
            "a tag being spawned is taken"
        );
        let mut slots: Vec<Slot<'_>> = (1..MAX_RUNNING)
            .map(|_| registry.reserve(None).unwrap())
            .collect();
        let err = registry.reserve(None).unwrap_err();
        assert_eq!(err.code, Code::ResourceExhausted);
        slots.pop();
        drop(tagged);
        let again = registry.reserve(Some("web"));
        assert!(again.is_ok(), "dropped slots free their place and tag");
    }
}
