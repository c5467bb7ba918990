//! The network guard is verified on every reconcile sweep: the runtime checks its host guard and
//! egress rules and puts back whatever went missing (removed by hand, flushed by a firewall
//! reload). While that fails, the engine is not ready and says why.

use crate::{Engine, EngineError};

impl Engine {
    /// Check the installation's network and its guards; restore what is missing.
    pub async fn check_network(&self) {
        let problem = match self.inner.runtime.ensure_network().await {
            Ok(info) => {
                if !info.repaired.is_empty() {
                    tracing::warn!(
                        restored = ?info.repaired,
                        "network guard was missing and is restored"
                    );
                }
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "network guard cannot be verified or restored");
                Some(format!("network guard cannot be verified or restored: {e}"))
            }
        };
        *self
            .inner
            .network_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Why the network guard is not in place, when it is not.
    pub(crate) fn network_problem(&self) -> Result<(), EngineError> {
        let problem = self
            .inner
            .network_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match problem {
            Some(p) => Err(EngineError::Internal(p)),
            None => Ok(()),
        }
    }
}
