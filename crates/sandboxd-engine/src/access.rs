//! API keys and the audit log, as the API sees them. Rule: a key's secret exists only in the
//! answer to the call that issued it; everything after that works from its hash. The engine only
//! stores and finds; deciding who may do what is the API's job.

use crate::{Engine, EngineError};
use sandboxd_core::{hash_secret, ApiKey, KeyRole, API_KEY_BYTES};
use sandboxd_store::{AuditEntry, AuditQuery, AuditRecord, KeyRecord};
use std::io::Read;

fn random<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    // /dev/urandom never blocks once the kernel's pool is initialised; the read is tiny.
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// A new random key (for the API, and for the admin token file).
pub fn new_api_key() -> std::io::Result<ApiKey> {
    Ok(ApiKey::from_random(random::<API_KEY_BYTES>()?))
}

impl Engine {
    /// Issue a key; the returned secret is the only copy there will ever be.
    pub async fn issue_key(
        &self,
        name: String,
        role: KeyRole,
    ) -> Result<(KeyRecord, ApiKey), EngineError> {
        let io = |e: std::io::Error| EngineError::Internal(format!("reading /dev/urandom: {e}"));
        let key = new_api_key().map_err(io)?;
        let id: String = random::<8>()
            .map_err(io)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let rec = KeyRecord {
            id: format!("key_{id}"),
            name,
            hint: key.hint(),
            role,
            created_at_ms: self.now_ms(),
            revoked_at_ms: None,
            last_used_at_ms: None,
        };
        self.inner.store.insert_key(&rec, key.hash()).await?;
        Ok((rec, key))
    }

    /// The key whose secret this is (revoked ones included: the caller refuses them).
    pub async fn key_for_secret(&self, secret: &str) -> Result<Option<KeyRecord>, EngineError> {
        Ok(self.inner.store.key_by_hash(hash_secret(secret)).await?)
    }

    pub async fn keys(&self) -> Result<Vec<KeyRecord>, EngineError> {
        Ok(self.inner.store.list_keys().await?)
    }

    /// Revoke a key; `false` when there is no such key.
    pub async fn revoke_key(&self, id: &str) -> Result<bool, EngineError> {
        Ok(self
            .inner
            .store
            .revoke_key(id.to_string(), self.now_ms())
            .await?)
    }

    /// Record that a key was used now.
    pub async fn touch_key(&self, id: &str) -> Result<(), EngineError> {
        Ok(self
            .inner
            .store
            .touch_key(id.to_string(), self.now_ms())
            .await?)
    }

    /// Append audit rows (one transaction).
    pub async fn record_audit(&self, batch: Vec<AuditEntry>) -> Result<(), EngineError> {
        Ok(self.inner.store.append_audit(batch).await?)
    }

    /// Audit rows, newest first.
    pub async fn audit(&self, query: AuditQuery) -> Result<Vec<AuditRecord>, EngineError> {
        Ok(self.inner.store.audit(query).await?)
    }
}
