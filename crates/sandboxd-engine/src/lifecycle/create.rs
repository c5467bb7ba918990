//! Creating a sandbox. Order: validate (done by the caller) → check the id and the image → row
//! `creating` → workspace → container → seed → start → row `running`. Any failure rolls back
//! exactly what this call added, and restores a tombstone it replaced.

use crate::activity::ActivitySource;
use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxSpec, Status, ValidationError};
use sandboxd_runtime::{Seed, WorkspaceState};

impl Engine {
    pub(crate) async fn create_unobserved(
        &self,
        spec: SandboxSpec,
    ) -> Result<Sandbox, EngineError> {
        let id = spec.id.clone();
        // Cheap refusals first, so a create that cannot succeed never stops other sandboxes
        // through admission; both are checked again under the lock.
        self.check_create(&spec, self.inner.store.get(&id).await?.as_ref())
            .await?;
        self.admit(None).await?;
        let _g = self.inner.locks.lock(&id).await;
        let previous = self.inner.store.get(&id).await?;
        self.check_create(&spec, previous.as_ref()).await?;
        let now = self.now_ms();
        let mut sb = Sandbox {
            id: id.clone(),
            status: Status::Creating,
            image: spec.image,
            ports: spec.ports,
            env: spec.env,
            resources: spec.resources,
            disk_mb: spec.disk_mb,
            start: spec.start,
            idle_policy: spec.idle_policy,
            idle_timeout_s: spec.idle_timeout_s,
            freeze_after_s: spec.freeze_after_s,
            egress: spec.egress,
            preview: spec.preview,
            metadata: spec.metadata,
            created_at_ms: now,
            updated_at_ms: now,
            last_active_at_ms: now,
            last_error: None,
            owner: spec.owner,
            e2b: spec.e2b,
        };
        self.replace_row(previous.as_ref().map(|p| p.status), &sb)
            .await?;
        let mut fresh_workspace = false;
        // The key exists (stored and in memory) before anything can serve a preview.
        let result = match self.install_preview_key(&id, sb.preview).await {
            Ok(()) => self.provision(&sb, &mut fresh_workspace).await,
            Err(e) => Err(e),
        };
        let name = self.container_name(&id);
        match result {
            Ok(()) => {
                self.set_status(&mut sb, Status::Running).await?;
                self.inner
                    .activity
                    .touch(&id, sb.updated_at_ms, ActivitySource::Create);
                // Best effort: if this fails, the reconciler's start event publishes the route.
                if let Ok(state) = self.inner.runtime.inspect(&name).await {
                    self.publish_route(&id, &state, true);
                }
                Ok(sb)
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "create failed; rolling back");
                self.forget_preview(&id);
                if let Err(rm) = self.inner.runtime.remove(&name).await {
                    tracing::error!(%id, error = %rm, "rollback: container removal failed");
                }
                if fresh_workspace {
                    if let Err(rm) = self.inner.runtime.remove_workspace(&id).await {
                        tracing::error!(%id, error = %rm, "rollback: workspace removal failed");
                    }
                }
                match previous {
                    Some(tombstone) => self.replace_row(Some(sb.status), &tombstone).await?,
                    None => self.inner.store.remove(&id).await?,
                }
                Err(e)
            }
        }
    }

    /// The refusals that need no state change: a live id, a generated-id collision, no image.
    async fn check_create(
        &self,
        spec: &SandboxSpec,
        previous: Option<&Sandbox>,
    ) -> Result<(), EngineError> {
        let id = &spec.id;
        if let Some(prev) = previous {
            if prev.status.is_live() {
                return Err(EngineError::Conflict(format!(
                    "sandbox {id} already exists"
                )));
            }
            if !spec.id_chosen {
                return Err(EngineError::Conflict(format!("generated id {id} collides")));
            }
            // A tombstone's workspace may still exist: only its owner may take the id back.
            if prev.owner != spec.owner {
                return Err(EngineError::Conflict(format!("sandbox id {id} is taken")));
            }
        }
        if !self.inner.runtime.image_exists(&spec.image).await? {
            return Err(ValidationError::new(
                "image",
                format!(
                    "image {:?} is not on this host (build the default one with `sandboxd image build`)",
                    spec.image
                ),
            )
            .into());
        }
        Ok(())
    }

    async fn provision(&self, sb: &Sandbox, fresh_workspace: &mut bool) -> Result<(), EngineError> {
        let rt = &self.inner.runtime;
        let name = self.container_name(&sb.id);
        // A container left by a crash under this name would block the create.
        rt.remove(&name).await?;
        *fresh_workspace = rt.ensure_workspace(&sb.id, sb.disk_mb).await? == WorkspaceState::Fresh;
        rt.create(&self.new_container_spec(sb).await?).await?;
        if *fresh_workspace {
            rt.seed_workspace(&sb.id, Seed::Skeleton { container: &name })
                .await?;
        }
        rt.start(&name).await?;
        Ok(())
    }
}
