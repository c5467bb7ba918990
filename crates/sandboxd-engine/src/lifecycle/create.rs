//! Creating a sandbox. Order: validate (done by the caller) → check the id and the image → row
//! `creating` → workspace → container → seed → start → row `running`. Any failure rolls back
//! exactly what this call added, and restores a tombstone it replaced.

use crate::activity::ActivitySource;
use crate::{container, workspace, Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxSpec, Status, ValidationError};

/// Where images keep the skeleton of a new home directory.
const SKEL_DIR: &str = "/etc/sandboxd/skel";

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
            start: spec.start,
            idle_policy: spec.idle_policy,
            idle_timeout_s: spec.idle_timeout_s,
            metadata: spec.metadata,
            created_at_ms: now,
            updated_at_ms: now,
            last_active_at_ms: now,
            last_error: None,
        };
        self.inner.store.put(&sb).await?;
        let dir = workspace::path(&self.inner.cfg.workspaces_dir(), id.as_str());
        let mut fresh_workspace = false;
        let result = self.provision(&sb, &dir, &mut fresh_workspace).await;
        match result {
            Ok(()) => {
                sb.status = Status::Running;
                sb.updated_at_ms = self.now_ms();
                self.inner.store.put(&sb).await?;
                self.inner
                    .activity
                    .touch(&id, sb.updated_at_ms, ActivitySource::Create);
                let name = container::name(&self.inner.cfg.instance, &id);
                // Best effort: if this fails, the reconciler's start event publishes the route.
                let info = self.inner.runtime.inspect(&name).await.ok().flatten();
                self.publish_route(&id, info.as_ref(), true);
                Ok(sb)
            }
            Err(e) => {
                tracing::warn!(%id, error = %e, "create failed; rolling back");
                let name = container::name(&self.inner.cfg.instance, &id);
                if let Err(rm) = self.inner.runtime.remove(&name).await {
                    tracing::error!(%id, error = %rm, "rollback: container removal failed");
                }
                if fresh_workspace {
                    if let Err(rm) = workspace::remove(&dir) {
                        tracing::error!(%id, error = %rm, "rollback: workspace removal failed");
                    }
                }
                match previous {
                    Some(tombstone) => self.inner.store.put(&tombstone).await?,
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

    async fn provision(
        &self,
        sb: &Sandbox,
        dir: &std::path::Path,
        fresh_workspace: &mut bool,
    ) -> Result<(), EngineError> {
        let name = container::name(&self.inner.cfg.instance, &sb.id);
        // A container left by a crash under this name would block the create.
        self.inner.runtime.remove(&name).await?;
        *fresh_workspace = workspace::create(dir)
            .map_err(|e| EngineError::Internal(format!("workspace {}: {e}", dir.display())))?;
        self.create_container(sb).await?;
        if *fresh_workspace {
            let skel = self.inner.runtime.read_dir_tar(&name, SKEL_DIR).await?;
            workspace::seed(dir, skel.as_deref())
                .map_err(|e| EngineError::Internal(format!("seeding workspace: {e}")))?;
        }
        self.inner.runtime.start(&name).await?;
        Ok(())
    }
}
