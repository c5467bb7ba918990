//! E2B lifetimes. Rule: a sandbox with an [`E2bLifetime`] ends at its stored `end_at_ms`; the
//! timeout route sets that time (it may shorten it), connect only ever moves it later, and the
//! reaper pass [`Engine::reap_ended`] — on the idle reaper's tick, in tokio time — then deletes
//! the sandbox (`kill`; the workspace is purged only when configured) or stops it with its
//! workspace kept (`pause`). Every change and every end re-reads the row under the sandbox's
//! lock, so an end never races a connect that just extended it. A sandbox paused by its end and
//! started again by anything else (a preview request, an exec, a start) gets a fresh
//! [`RENEWED_LIFETIME_MS`], as E2B's auto-resume does, instead of being paused again at once.
//! The idle reaper is independent: it may stop a sandbox earlier; the end still applies to a
//! stopped one (`kill` deletes it).

use crate::{Engine, EngineError};
use sandboxd_core::{E2bLifetime, OnEnd, Sandbox, SandboxId, Status};
use sandboxd_metrics::Op;
use sandboxd_store::ListFilter;

/// The lifetime a paused-at-its-end sandbox gets when something starts it again (E2B's default
/// timeout).
pub const RENEWED_LIFETIME_MS: i64 = 300_000;

/// Give a sandbox that its end paused a fresh lifetime from `now` (it is being started).
pub(crate) fn renew_paused(sb: &mut Sandbox, now: i64) {
    if let Some(l) = sb.e2b.as_mut() {
        if l.on_end == OnEnd::Pause && l.end_at_ms <= now {
            l.end_at_ms = now + RENEWED_LIFETIME_MS;
        }
    }
}

/// How [`Engine::set_e2b_end`] moves the end time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndChange {
    /// To exactly this time (E2B's set_timeout); gives a sandbox without a lifetime one
    /// (`kill`).
    Set,
    /// Later only (E2B's connect); a sandbox without a lifetime keeps none.
    Extend,
}

impl Engine {
    /// Move the E2B end time of a live sandbox to `end_at_ms` (see [`EndChange`]).
    /// `template_id` names the template of a lifetime this creates.
    pub async fn set_e2b_end(
        &self,
        id: &SandboxId,
        end_at_ms: i64,
        change: EndChange,
        template_id: &str,
    ) -> Result<Sandbox, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let mut sb = self.get_live(id).await?;
        let next = match (&sb.e2b, change) {
            (Some(l), EndChange::Extend) if l.end_at_ms >= end_at_ms => return Ok(sb),
            (None, EndChange::Extend) => return Ok(sb),
            (Some(l), _) => E2bLifetime {
                end_at_ms,
                ..l.clone()
            },
            (None, EndChange::Set) => E2bLifetime {
                template_id: template_id.to_string(),
                end_at_ms,
                on_end: OnEnd::Kill,
            },
        };
        sb.e2b = Some(next);
        sb.updated_at_ms = self.now_ms();
        self.inner.store.put(&sb).await?;
        Ok(sb)
    }

    /// End every sandbox whose E2B end time has passed; returns how many were ended.
    pub async fn reap_ended(&self) -> Result<usize, EngineError> {
        let now = self.now_ms();
        let mut ended = 0;
        for sb in self.inner.store.list(ListFilter::default()).await? {
            if due(&sb, now).is_none() {
                continue;
            }
            match self.end_one(&sb.id).await {
                Ok(true) => ended += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(id = %sb.id, error = %e, "ending a sandbox failed"),
            }
        }
        Ok(ended)
    }

    /// End `id` if, under its lock, it is still due. Returns whether it was ended.
    async fn end_one(&self, id: &SandboxId) -> Result<bool, EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let Some(sb) = self.inner.store.get(id).await? else {
            return Ok(false);
        };
        match due(&sb, self.now_ms()) {
            None => Ok(false),
            Some(OnEnd::Kill) => {
                tracing::info!(%id, "E2B end time reached: killing the sandbox");
                let purge = self.inner.cfg.e2b_purge_on_kill;
                let r = self.delete_locked(id, purge).await;
                self.observe(Op::Delete, &r);
                r.map(|()| true)
            }
            Some(OnEnd::Pause) => {
                tracing::info!(%id, "E2B end time reached: pausing the sandbox");
                let r = self.stop_locked(sb).await;
                self.observe(Op::Stop, &r);
                r.map(|_| true)
            }
        }
    }
}

/// What is due for `sb` at `now`: nothing for a tombstone, a sandbox without a lifetime or one
/// whose end is ahead, and no pause for one that is not running.
fn due(sb: &Sandbox, now: i64) -> Option<OnEnd> {
    let l = sb.e2b.as_ref()?;
    if !sb.status.is_live() || l.end_at_ms > now {
        return None;
    }
    match l.on_end {
        OnEnd::Kill => Some(OnEnd::Kill),
        OnEnd::Pause if matches!(sb.status, Status::Running | Status::Frozen) => Some(OnEnd::Pause),
        OnEnd::Pause => None,
    }
}
