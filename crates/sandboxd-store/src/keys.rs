//! The API key table. Rule: only a key's SHA-256 is stored, and a key is found by that hash
//! alone; a revoked key stays (for the audit trail) but is never returned by a lookup as usable.

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use sandboxd_core::KeyRole;

/// One issued key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    /// Last four characters of the key.
    pub hint: String,
    pub role: KeyRole,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
}

const KEY_COLUMNS: &str =
    "id, name, hint, role, owner, created_at_ms, revoked_at_ms, last_used_at_ms";

fn read_key(r: &Row<'_>) -> rusqlite::Result<(KeyRecord, String)> {
    let role: String = r.get(3)?;
    let owner: Option<String> = r.get(4)?;
    Ok((
        KeyRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            hint: r.get(2)?,
            role: KeyRole::Admin,
            created_at_ms: r.get(5)?,
            revoked_at_ms: r.get(6)?,
            last_used_at_ms: r.get(7)?,
        },
        format!("{role}:{}", owner.unwrap_or_default()),
    ))
}

/// Rebuild the role from its stored `role:owner` pair; anything else is a corrupt row.
fn decode((mut rec, role): (KeyRecord, String)) -> Result<KeyRecord, StoreError> {
    rec.role = match role.split_once(':') {
        Some(("admin", _)) => KeyRole::Admin,
        Some(("tenant", owner)) if !owner.is_empty() => KeyRole::Tenant(owner.to_string()),
        _ => {
            return Err(StoreError::Corrupt {
                id: rec.id,
                reason: format!("key role {role:?}"),
            })
        }
    };
    Ok(rec)
}

impl Store {
    /// Record a new key by its hash.
    pub async fn insert_key(&self, rec: &KeyRecord, hash: String) -> Result<(), StoreError> {
        let rec = rec.clone();
        self.call(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, name, hash, hint, role, owner, created_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rec.id,
                    rec.name,
                    hash,
                    rec.hint,
                    rec.role.as_str(),
                    rec.role.owner(),
                    rec.created_at_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The key with this hash, revoked or not.
    pub async fn key_by_hash(&self, hash: String) -> Result<Option<KeyRecord>, StoreError> {
        self.call(move |c| {
            let raw = c
                .query_row(
                    &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?1"),
                    params![hash],
                    read_key,
                )
                .optional()?;
            raw.map(decode).transpose()
        })
        .await
    }

    /// Every key, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, id"
            ))?;
            let rows = stmt.query_map([], read_key)?;
            rows.map(|r| decode(r?)).collect()
        })
        .await
    }

    /// Mark a key revoked (idempotent); `false` when there is no such key.
    pub async fn revoke_key(&self, id: String, at_ms: i64) -> Result<bool, StoreError> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE api_keys SET revoked_at_ms = COALESCE(revoked_at_ms, ?2) WHERE id = ?1",
                params![id, at_ms],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// Record when a key was last used.
    pub async fn touch_key(&self, id: String, at_ms: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE api_keys SET last_used_at_ms = MAX(COALESCE(last_used_at_ms, 0), ?2) \
                 WHERE id = ?1",
                params![id, at_ms],
            )?;
            Ok(())
        })
        .await
    }
}
