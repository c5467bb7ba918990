//! Every status change of a sandbox goes through here, and here only: [`Engine::set_status`]
//! for a row the engine loaded under the sandbox's lock, [`Engine::replace_row`] for the rows a
//! create writes over what was there (nothing, or a tombstone) and its rollback. Both refuse a
//! change [`Status::can_become`] does not allow, so the state machine in `sandboxd-core` is the
//! one written down and the one enforced.

use crate::{Engine, EngineError};
use sandboxd_core::{Sandbox, SandboxId, Status};

/// Whether a row in `from` (`None`: no row) may become `to`.
fn check(id: &SandboxId, from: Option<Status>, to: Status) -> Result<(), EngineError> {
    let allowed = match from {
        None => to == Status::Creating,
        Some(from) => from.can_become(to),
    };
    if allowed {
        return Ok(());
    }
    let from = from.map_or("nothing".to_string(), |s| s.to_string());
    tracing::error!(%id, %from, %to, "refused status change");
    Err(EngineError::Internal(format!(
        "sandbox {id}: status {from} cannot become {to}"
    )))
}

impl Engine {
    /// Move a sandbox (as loaded, with whatever else the caller changed) to `to` and record it.
    /// The caller holds the sandbox's lock.
    pub(crate) async fn set_status(&self, sb: &mut Sandbox, to: Status) -> Result<(), EngineError> {
        check(&sb.id, Some(sb.status), to)?;
        sb.status = to;
        sb.updated_at_ms = self.now_ms();
        self.inner.store.put(sb).await?;
        Ok(())
    }

    /// Write `row` over a row whose status was `from` (`None`: no row). The caller holds the
    /// sandbox's lock.
    pub(crate) async fn replace_row(
        &self,
        from: Option<Status>,
        row: &Sandbox,
    ) -> Result<(), EngineError> {
        check(&row.id, from, row.status)?;
        self.inner.store.put(row).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_creating_starts_a_row_and_tombstones_only_come_back_by_create() {
        let id = SandboxId::parse_new("a").unwrap();
        assert!(check(&id, None, Status::Creating).is_ok());
        assert!(check(&id, None, Status::Running).is_err());
        assert!(check(&id, Some(Status::Deleted), Status::Creating).is_ok());
        assert!(check(&id, Some(Status::Deleted), Status::Running).is_err());
        assert!(check(&id, Some(Status::Creating), Status::Deleted).is_ok());
        assert!(check(&id, Some(Status::Error), Status::Stopped).is_err());
    }
}
