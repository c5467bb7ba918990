//! Rule: every container the engine creates for a sandbox gets a fresh agent access token —
//! 32 bytes from the kernel's CSPRNG — stored in SQLite before the container exists (store
//! first, then runtime) and handed to the container as `SANDBOXD_AGENT_TOKEN`, which the init
//! takes out of the environment and passes to the agent on its stdin. A re-created container
//! therefore never accepts the previous container's token. The token is never logged and never
//! in the public sandbox JSON; [`Engine::agent_endpoint`] is how sandboxd itself reaches the
//! agent.

use std::io::Read;
use std::net::SocketAddr;

use sandboxd_core::{AgentToken, Sandbox, SandboxId, AGENT_TOKEN_BYTES};
use sandboxd_runtime::{ContainerSpec, AGENT_PORT};

use crate::{container, Engine, EngineError};

/// Where sandboxd reaches a running sandbox's agent, and the token it must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEndpoint {
    pub addr: SocketAddr,
    pub token: AgentToken,
}

impl AgentEndpoint {
    /// The agent client's view of this endpoint.
    pub fn client_endpoint(&self) -> sandboxd_agent_client::Endpoint {
        sandboxd_agent_client::Endpoint {
            addr: self.addr,
            token: self.token.expose().to_string(),
        }
    }
}

/// A new random token.
pub fn new_agent_token() -> std::io::Result<AgentToken> {
    let mut bytes = [0u8; AGENT_TOKEN_BYTES];
    // /dev/urandom never blocks once the kernel's pool is initialised (long before a container
    // engine runs), so this tiny read is fine on an async worker.
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(AgentToken::from_random(bytes))
}

impl Engine {
    /// The agent of a running sandbox whose address is published (the same route the preview
    /// proxy uses) and whose container has a stored token; `None` otherwise (stopped, being
    /// created or woken, or a container from before tokens existed).
    pub async fn agent_endpoint(
        &self,
        id: &SandboxId,
    ) -> Result<Option<AgentEndpoint>, EngineError> {
        let Some(route) = self.inner.activity.route(id) else {
            return Ok(None);
        };
        let Some(token) = self.inner.store.agent_token(id).await? else {
            return Ok(None);
        };
        Ok(Some(AgentEndpoint {
            addr: SocketAddr::new(route.ip, AGENT_PORT),
            token,
        }))
    }

    /// The stored token of `id`'s current container, without waking or resolving anything (the
    /// preview proxy checks requests for the agent port against it); `None` when there is none.
    pub async fn agent_token(&self, id: &SandboxId) -> Result<Option<AgentToken>, EngineError> {
        Ok(self.inner.store.agent_token(id).await?)
    }

    /// The spec of a new container for a record, with a new agent token that is stored first.
    pub(crate) async fn new_container_spec(
        &self,
        sb: &Sandbox,
    ) -> Result<ContainerSpec, EngineError> {
        let token = new_agent_token()
            .map_err(|e| EngineError::Internal(format!("reading random bytes: {e}")))?;
        self.inner.store.set_agent_token(&sb.id, &token).await?;
        let cfg = &self.inner.cfg;
        let init_grace_ms = cfg.stop_grace.as_millis().saturating_sub(500).max(500) as u64;
        Ok(container::spec(
            self.container_name(&sb.id),
            sb,
            cfg.limits.default.nofile,
            init_grace_ms,
            Some(&token),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = new_agent_token().expect("urandom");
        let b = new_agent_token().expect("urandom");
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
    }
}
