//! Private previews, as the engine keeps them. Rule: the proxy learns a sandbox's preview mode
//! and key from memory ([`Engine::preview_gate`]: one map read, no store read, no lock shared
//! with lifecycle work), and that memory is kept true by the one place that changes either:
//! create installs a fresh key before the sandbox can run, rotation replaces it under the
//! sandbox's lock, delete forgets it. Entries missing after a restart are filled from the store
//! on first use ([`Engine::load_preview_gate`]); a filler never overwrites a newer entry. A
//! private sandbox whose key cannot be known refuses every token (fails closed).

use crate::{Engine, EngineError};
use sandboxd_core::preview::{self, MAX_TTL_S};
use sandboxd_core::{Preview, PreviewKey, SandboxId, PREVIEW_KEY_BYTES};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, RwLock};

/// What the proxy must check before it serves (or wakes) a sandbox's preview.
#[derive(Debug, Clone)]
pub enum PreviewGate {
    Public,
    /// Only with a token signed by this key (`None`: no key known, so nothing is accepted).
    Private(Option<Arc<PreviewKey>>),
}

/// The preview gates of live sandboxes, by id.
#[derive(Default)]
pub(crate) struct PreviewGates {
    map: RwLock<HashMap<SandboxId, PreviewGate>>,
}

impl PreviewGates {
    fn get(&self, id: &SandboxId) -> Option<PreviewGate> {
        // The map holds plain data: a panic elsewhere cannot leave it inconsistent.
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(id).cloned()
    }

    fn set(&self, id: &SandboxId, gate: PreviewGate) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.insert(id.clone(), gate);
    }

    fn fill(&self, id: &SandboxId, gate: PreviewGate) -> PreviewGate {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.entry(id.clone()).or_insert(gate).clone()
    }

    fn forget(&self, id: &SandboxId) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }
}

fn gate(mode: Preview, key: Option<PreviewKey>) -> PreviewGate {
    match mode {
        Preview::Public => PreviewGate::Public,
        Preview::Private => PreviewGate::Private(key.map(Arc::new)),
    }
}

/// A new random preview key.
pub fn new_preview_key() -> std::io::Result<PreviewKey> {
    let mut bytes = [0u8; PREVIEW_KEY_BYTES];
    // /dev/urandom never blocks once the kernel's pool is initialised (see `new_agent_token`).
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(PreviewKey::from_random(bytes))
}

/// A minted preview token.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: String,
    pub port: u16,
    pub expires_at_ms: i64,
}

impl Engine {
    /// The gate of `id` as memory knows it; `None`: not known yet (see
    /// [`Engine::load_preview_gate`]) or no such live sandbox.
    pub fn preview_gate(&self, id: &SandboxId) -> Option<PreviewGate> {
        self.inner.previews.get(id)
    }

    /// Read the gate of `id` from the store and remember it; `None` when there is no live
    /// sandbox of that id (nothing is remembered then, so random names cannot grow the map).
    pub async fn load_preview_gate(
        &self,
        id: &SandboxId,
    ) -> Result<Option<PreviewGate>, EngineError> {
        let Some(sb) = self.inner.store.get(id).await? else {
            return Ok(None);
        };
        if !sb.status.is_live() {
            return Ok(None);
        }
        let key = match sb.preview {
            Preview::Public => None,
            Preview::Private => self.inner.store.preview_key(id).await?,
        };
        Ok(Some(self.inner.previews.fill(id, gate(sb.preview, key))))
    }

    /// Give a sandbox being created its preview key, in the store and in memory, before it can
    /// run. Caller holds the lock.
    pub(crate) async fn install_preview_key(
        &self,
        id: &SandboxId,
        mode: Preview,
    ) -> Result<(), EngineError> {
        let key = new_preview_key()
            .map_err(|e| EngineError::Internal(format!("preview key: /dev/urandom: {e}")))?;
        self.inner.store.set_preview_key(id, &key).await?;
        self.inner.previews.set(id, gate(mode, Some(key)));
        Ok(())
    }

    /// Forget a sandbox's gate (it was deleted, or its create rolled back).
    pub(crate) fn forget_preview(&self, id: &SandboxId) {
        self.inner.previews.forget(id);
    }

    /// Replace the sandbox's preview key: every token minted before stops working at once.
    pub async fn rotate_preview_key(&self, id: &SandboxId) -> Result<(), EngineError> {
        let _g = self.inner.locks.lock(id).await;
        let sb = self.get_live(id).await?;
        self.install_preview_key(id, sb.preview).await
    }

    /// A token for `port` of a live sandbox, valid for `ttl_s` seconds (1 to 7 days' worth).
    /// A sandbox from before preview keys existed gets its key now.
    pub async fn mint_preview_token(
        &self,
        id: &SandboxId,
        port: u16,
        ttl_s: u64,
    ) -> Result<MintedToken, EngineError> {
        let ttl_s = ttl_s.clamp(1, MAX_TTL_S);
        let sb = self.get_live(id).await?;
        let key =
            match self.inner.store.preview_key(id).await? {
                Some(key) => key,
                None => {
                    let _g = self.inner.locks.lock(id).await;
                    match self.inner.store.preview_key(id).await? {
                        Some(key) => key,
                        None => {
                            self.install_preview_key(id, sb.preview).await?;
                            self.inner.store.preview_key(id).await?.ok_or_else(|| {
                                EngineError::Internal("preview key vanished".into())
                            })?
                        }
                    }
                }
            };
        let expires_s = self.now_ms() / 1000 + ttl_s as i64;
        Ok(MintedToken {
            token: preview::mint(&key, id, port, expires_s),
            port,
            expires_at_ms: expires_s * 1000,
        })
    }
}
