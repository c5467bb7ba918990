//! The reconciler converges the runtime to the store, one sandbox at a time under its lock:
//! at start-up (everything), on every engine event for one of our containers, and in a periodic
//! sweep. The store is the truth; the runtime is made to match it, and what the runtime did on its
//! own (a container died, was removed) is recorded in the store with its reason. What a stopped
//! sandbox normally looks like depends on the runtime's [`StopSemantics`]: an exited container
//! (Docker) or none at all (a runtime whose stop removes it); only the former is repaired.
//! Every sweep also verifies the network guard first (see `netcheck`).

use crate::activity::ActivitySource;
use crate::{Engine, EngineError};
use futures_util::StreamExt;
use sandboxd_core::{SandboxId, Status};
use sandboxd_metrics::ReconcileAction;
use sandboxd_runtime::{ContainerState, EventKind, RuntimeEvent, StopSemantics};
use sandboxd_store::ListFilter;
use std::collections::BTreeSet;
use std::time::Duration;

/// Why a reconcile pass runs: at boot, stopped containers of `running` rows are started again
/// (host reboot); while serving, a container that died is recorded as stopped with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Boot,
    Live,
}

impl Engine {
    /// Converge every sandbox we know of, from the store and from the runtime.
    pub async fn reconcile_all(&self, pass: Pass) -> Result<(), EngineError> {
        let rows = self
            .inner
            .store
            .list(ListFilter {
                include_deleted: true,
                ..Default::default()
            })
            .await?;
        let mut ids: BTreeSet<SandboxId> = rows.into_iter().map(|s| s.id).collect();
        for c in self.inner.runtime.list().await? {
            match c.sandbox {
                // Named before names were hashed (or by another key): remove it; the sandbox's
                // own pass below recreates it under its current name, workspace untouched.
                Some(id) if c.name != self.container_name(&id) => {
                    let _g = self.inner.locks.lock(&id).await;
                    tracing::info!(%id, container = %c.name, "replacing container with an old name");
                    self.inner.runtime.remove(&c.name).await?;
                    self.inner.metrics.reconciled(ReconcileAction::RemoveOrphan);
                    ids.insert(id);
                }
                Some(id) => {
                    ids.insert(id);
                }
                // Ours, but no usable sandbox label: not something we made.
                None => {
                    tracing::warn!(container = %c.name, "removing unlabelled container of ours");
                    self.inner.runtime.remove(&c.name).await?;
                    self.inner.metrics.reconciled(ReconcileAction::RemoveOrphan);
                }
            }
        }
        for id in ids {
            if let Err(e) = self.reconcile_one(&id, pass).await {
                tracing::warn!(%id, error = %e, "reconcile failed");
            }
        }
        Ok(())
    }

    /// Converge one sandbox.
    pub async fn reconcile_one(&self, id: &SandboxId, pass: Pass) -> Result<(), EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let name = self.container_name(id);
        let row = self.inner.store.get(id).await?;
        let state = self.inner.runtime.inspect(&name).await?;
        let Some(mut sb) = row.filter(|r| r.status.is_live()) else {
            if state.exists() {
                tracing::info!(%id, "removing container with no live sandbox");
                self.inner.runtime.remove(&name).await?;
                self.inner.metrics.reconciled(ReconcileAction::RemoveOrphan);
            }
            return Ok(());
        };
        let stop_keeps = self.inner.runtime.stop_semantics() == StopSemantics::KeepsContainer;
        use ContainerState as C;
        match (sb.status, state) {
            (Status::Creating, _) => {
                // Only a crash leaves `creating` behind (create holds the lock throughout).
                tracing::info!(%id, "finishing a create interrupted by a restart");
                self.inner.metrics.reconciled(ReconcileAction::FinishCreate);
                if self
                    .bring_up_locked(sb, ActivitySource::Create, true)
                    .await
                    .is_err()
                {
                    tracing::warn!(%id, "interrupted create could not be finished");
                }
            }
            (Status::Running, C::Absent) => {
                tracing::info!(%id, "container removed behind our back; recreating");
                self.inner.metrics.reconciled(ReconcileAction::Recreate);
                self.ensure_running_locked(sb, ActivitySource::Start)
                    .await?;
            }
            (Status::Running, state @ C::Running { .. }) => self.publish_route(id, &state, false),
            // Being removed behind our back: the `destroy` event that follows recreates it.
            (Status::Running, C::Removing) => {}
            (Status::Running, state @ (C::Created | C::Exited { .. })) => {
                if pass == Pass::Boot {
                    tracing::info!(%id, "starting sandbox again after restart");
                    self.inner.metrics.reconciled(ReconcileAction::Restart);
                    self.ensure_running_locked(sb, ActivitySource::Start)
                        .await?;
                } else {
                    let reason = state.exit_reason();
                    tracing::warn!(%id, %reason, "sandbox container died");
                    self.inner.metrics.reconciled(ReconcileAction::RecordExit);
                    self.publish_route(id, &C::Absent, false);
                    sb.last_error = Some(reason);
                    self.set_status(&mut sb, Status::Stopped).await?;
                }
            }
            (Status::Stopped, C::Absent) if stop_keeps => {
                tracing::info!(%id, "container of stopped sandbox missing; recreating");
                self.inner.metrics.reconciled(ReconcileAction::Recreate);
                self.create_container(&sb).await?;
            }
            (Status::Running, state @ C::Paused { .. }) => {
                // Paused behind our back: keep its memory, as a freeze would, and let the next
                // use thaw it; forwarding to it meanwhile would hang.
                tracing::info!(%id, "container of running sandbox is paused; recording frozen");
                self.inner.metrics.reconciled(ReconcileAction::RecordFrozen);
                self.publish_route(id, &state, false);
                self.set_status(&mut sb, Status::Frozen).await?;
            }
            (Status::Frozen, state @ C::Paused { .. }) => self.publish_route(id, &state, false),
            (Status::Frozen, C::Running { .. }) => {
                // A crash between recording the freeze and pausing, or an unpause by hand.
                tracing::info!(%id, "container of frozen sandbox runs; pausing it again");
                self.inner.metrics.reconciled(ReconcileAction::Pause);
                self.publish_route(id, &C::Absent, false);
                self.inner.runtime.pause(&name).await?;
            }
            (Status::Frozen, C::Removing) => {}
            (Status::Frozen, state @ (C::Absent | C::Created | C::Exited { .. })) => {
                // Died or removed while frozen (an engine restart, a reboot): its memory is gone,
                // so it is stopped now; the next request starts it.
                let reason = state.exit_reason();
                tracing::warn!(%id, %reason, "container of frozen sandbox gone; recording stopped");
                self.inner.metrics.reconciled(ReconcileAction::RecordExit);
                self.publish_route(id, &C::Absent, false);
                if state == C::Absent && stop_keeps {
                    self.create_container(&sb).await?;
                }
                sb.last_error = Some(reason);
                self.set_status(&mut sb, Status::Stopped).await?;
            }
            (Status::Stopped, C::Running { .. } | C::Paused { .. }) => {
                tracing::info!(%id, "container running against desired state; stopping");
                self.inner.metrics.reconciled(ReconcileAction::Stop);
                self.inner
                    .runtime
                    .stop(&name, self.inner.cfg.stop_grace)
                    .await?;
            }
            // Stopped as it should be, or in `error` (only a start or a delete moves it on).
            _ => {}
        }
        Ok(())
    }

    /// Run the reconciler until the process ends: events as they come, a full sweep
    /// periodically and after every reconnect to the engine.
    pub fn spawn_reconciler(&self) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(engine.inner.cfg.reconcile_interval);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let mut events = engine.inner.runtime.events();
                // Anything missed while disconnected is caught by this sweep.
                if let Err(e) = engine.reconcile_all(Pass::Live).await {
                    tracing::warn!(error = %e, "reconcile sweep failed");
                }
                loop {
                    tokio::select! {
                        ev = events.next() => match ev {
                            Some(Ok(ev)) => engine.on_event(ev),
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "engine event stream broke");
                                break;
                            }
                            None => break,
                        },
                        _ = sweep.tick() => {
                            engine.check_network().await;
                            if let Err(e) = engine.reconcile_all(Pass::Live).await {
                                tracing::warn!(error = %e, "reconcile sweep failed");
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    fn on_event(&self, ev: RuntimeEvent) {
        if ev.kind == EventKind::Created {
            return;
        }
        let Some(id) = ev.sandbox else {
            return;
        };
        let engine = self.clone();
        self.spawn(async move {
            if let Err(e) = engine.reconcile_one(&id, Pass::Live).await {
                tracing::warn!(%id, error = %e, event = ?ev.kind, "reconcile after event failed");
            }
        });
    }
}
