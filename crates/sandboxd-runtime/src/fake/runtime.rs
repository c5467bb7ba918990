//! The fake's [`Runtime`] operations: each is recorded, may wait at a hold or fail as injected,
//! then acts on the in-memory world the way Docker would (events included).

use super::{not_found, FakeContainer, FakeRuntime, Op};
use crate::{
    ContainerSpec, ContainerState, ContainerSummary, EventKind, ExecOutput, ExecRequest, LogLine,
    NetworkInfo, Runtime, RuntimeError, RuntimeEvent, Seed, StopSemantics, WorkspaceState,
};
use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use sandboxd_core::SandboxId;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use tokio::sync::mpsc;

#[async_trait]
impl Runtime for FakeRuntime {
    fn stop_semantics(&self) -> StopSemantics {
        self.semantics
    }

    async fn ping(&self) -> Result<(), RuntimeError> {
        self.enter(Op::Ping, "").await
    }

    async fn prepare(&self) -> Result<(), RuntimeError> {
        self.enter(Op::Prepare, "").await
    }

    async fn ensure_network(&self) -> Result<NetworkInfo, RuntimeError> {
        self.enter(Op::EnsureNetwork, "").await?;
        Ok(NetworkInfo {
            name: "fake".into(),
            id: "fake".into(),
            gateway: None,
            host_guard: false,
            repaired: Vec::new(),
        })
    }

    async fn remove_network(&self) -> Result<(), RuntimeError> {
        self.enter(Op::RemoveNetwork, "").await
    }

    async fn image_exists(&self, image: &str) -> Result<bool, RuntimeError> {
        self.enter(Op::ImageExists, image).await?;
        Ok(self.world().images.contains(image))
    }

    async fn ensure_workspace(
        &self,
        sandbox: &SandboxId,
        _disk_mb: Option<u64>,
    ) -> Result<WorkspaceState, RuntimeError> {
        self.enter(Op::EnsureWorkspace, sandbox.as_str()).await?;
        let mut w = self.world();
        if w.workspaces.contains_key(sandbox) {
            return Ok(WorkspaceState::Existing);
        }
        w.workspaces.insert(sandbox.clone(), false);
        Ok(WorkspaceState::Fresh)
    }

    async fn seed_workspace(
        &self,
        sandbox: &SandboxId,
        seed: Seed<'_>,
    ) -> Result<(), RuntimeError> {
        self.enter(Op::SeedWorkspace, sandbox.as_str()).await?;
        let mut w = self.world();
        if let Seed::Skeleton { container } = seed {
            if !w.containers.contains_key(container) {
                return Err(not_found(container));
            }
        }
        match w.workspaces.get_mut(sandbox) {
            Some(seeded) => {
                *seeded = true;
                Ok(())
            }
            None => Err(RuntimeError::Storage(format!("no workspace for {sandbox}"))),
        }
    }

    async fn remove_workspace(&self, sandbox: &SandboxId) -> Result<(), RuntimeError> {
        self.enter(Op::RemoveWorkspace, sandbox.as_str()).await?;
        self.world().workspaces.remove(sandbox);
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<(), RuntimeError> {
        self.enter(Op::Create, &spec.name).await?;
        let mut w = self.world();
        if w.containers.contains_key(&spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "name {} already in use",
                spec.name
            )));
        }
        if !w.images.contains(&spec.image) {
            return Err(RuntimeError::NotFound(format!(
                "No such image: {}",
                spec.image
            )));
        }
        if !w.workspaces.contains_key(&spec.sandbox) {
            return Err(RuntimeError::Engine {
                status: 400,
                message: "bind source path does not exist".into(),
            });
        }
        let c = FakeContainer {
            sandbox: Some(spec.sandbox.clone()),
            spec: Some(spec.clone()),
            state: ContainerState::Created,
        };
        w.containers.insert(spec.name.clone(), c);
        Self::emit_locked(
            &mut w,
            &spec.name,
            Some(spec.sandbox.clone()),
            EventKind::Created,
        );
        Ok(())
    }

    async fn start(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Start, name).await?;
        let mut w = self.world();
        w.next_ip = w.next_ip.wrapping_add(1).max(2);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, w.next_ip));
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        match c.state {
            ContainerState::Running { .. } => return Ok(()),
            // As Docker answers.
            ContainerState::Paused { .. } => {
                return Err(RuntimeError::Conflict(
                    "cannot start a paused container, try unpause instead".into(),
                ))
            }
            ContainerState::Removing => {
                return Err(RuntimeError::Conflict("removal in progress".into()))
            }
            _ => c.state = ContainerState::Running { addr: Some(ip) },
        }
        let sandbox = c.sandbox.clone();
        Self::emit_locked(&mut w, name, sandbox, EventKind::Started);
        Ok(())
    }

    async fn stop(&self, name: &str, _grace: Duration) -> Result<(), RuntimeError> {
        self.enter(Op::Stop, name).await?;
        let mut w = self.world();
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        // Like Docker's stop as the runtime drives it: a paused container is thawed, then stopped.
        let was_running = c.state.is_running() || c.state.is_paused();
        if was_running {
            c.state = ContainerState::Exited {
                code: Some(0),
                oom: false,
                error: None,
            };
        }
        let sandbox = c.sandbox.clone();
        if was_running {
            Self::emit_locked(&mut w, name, sandbox.clone(), EventKind::Died);
        }
        if self.semantics == StopSemantics::RemovesContainer {
            w.containers.remove(name);
            Self::emit_locked(&mut w, name, sandbox, EventKind::Destroyed);
        }
        Ok(())
    }

    async fn pause(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Pause, name).await?;
        let mut w = self.world();
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        match c.state {
            ContainerState::Running { addr } => c.state = ContainerState::Paused { addr },
            ContainerState::Paused { .. } => {}
            _ => {
                return Err(RuntimeError::Conflict(format!(
                    "Container {name} is not running"
                )))
            }
        }
        Ok(())
    }

    async fn unpause(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Unpause, name).await?;
        let mut w = self.world();
        let c = w.containers.get_mut(name).ok_or_else(|| not_found(name))?;
        if let ContainerState::Paused { addr } = c.state {
            c.state = ContainerState::Running { addr };
        }
        Ok(())
    }

    async fn remove(&self, name: &str) -> Result<(), RuntimeError> {
        self.enter(Op::Remove, name).await?;
        let mut w = self.world();
        if let Some(c) = w.containers.remove(name) {
            if c.state.is_running() || c.state.is_paused() {
                Self::emit_locked(&mut w, name, c.sandbox.clone(), EventKind::Died);
            }
            Self::emit_locked(&mut w, name, c.sandbox, EventKind::Destroyed);
        }
        Ok(())
    }

    async fn inspect(&self, name: &str) -> Result<ContainerState, RuntimeError> {
        self.enter(Op::Inspect, name).await?;
        Ok(self.state(name))
    }

    async fn list(&self) -> Result<Vec<ContainerSummary>, RuntimeError> {
        self.enter(Op::List, "").await?;
        let w = self.world();
        Ok(w.containers
            .iter()
            .map(|(name, c)| ContainerSummary {
                name: name.clone(),
                sandbox: c.sandbox.clone(),
            })
            .collect())
    }

    async fn exec(&self, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
        self.enter(Op::Exec, &req.container).await?;
        if !self.state(&req.container).is_running() {
            return Err(RuntimeError::Conflict(format!(
                "container {} is not running",
                req.container
            )));
        }
        Ok(self.world().exec_output.clone())
    }

    async fn logs(&self, name: &str, _tail: usize) -> Result<Vec<LogLine>, RuntimeError> {
        self.enter(Op::Logs, name).await?;
        if !self.state(name).exists() {
            return Err(not_found(name));
        }
        Ok(Vec::new())
    }

    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.world().subscribers.push(tx);
        stream::unfold(rx, |mut rx| async move {
            let ev = rx.recv().await?;
            Some((Ok(ev), rx))
        })
        .boxed()
    }
}
