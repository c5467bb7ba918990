//! The SQLite store: the one source of truth for every sandbox's desired state. One connection in
//! WAL mode is the single writer; calls run on the blocking pool so the async runtime never waits
//! on disk. The schema only moves forward through numbered migrations.

mod migrate;
mod row;

use rusqlite::{params, Connection, OptionalExtension};
use sandboxd_core::{Sandbox, SandboxId};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Failures of store operations.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored row {id} is corrupt: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("store task failed: {0}")]
    Join(String),
    #[error("store lock poisoned")]
    Poisoned,
}

/// Which rows `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub include_deleted: bool,
    /// Only rows whose metadata has all these key/value pairs.
    pub metadata: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Open (creating if needed) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A private in-memory store, for unit tests of code that needs one.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate::run(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Join(e.to_string()))?
    }

    /// Cheap liveness check for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    pub async fn get(&self, id: &SandboxId) -> Result<Option<Sandbox>, StoreError> {
        let id = id.as_str().to_string();
        self.call(move |c| {
            let raw = c
                .query_row(
                    &format!("SELECT {} FROM sandboxes WHERE id = ?1", row::COLUMNS),
                    params![id],
                    row::RawRow::read,
                )
                .optional()?;
            raw.map(row::RawRow::decode).transpose()
        })
        .await
    }

    /// Insert or replace the whole row.
    pub async fn put(&self, sandbox: &Sandbox) -> Result<(), StoreError> {
        let raw = row::RawRow::encode(sandbox);
        self.call(move |c| {
            raw.upsert(c)?;
            Ok(())
        })
        .await
    }

    /// Remove a row entirely (only for rolling back a create that never existed for anyone).
    pub async fn remove(&self, id: &SandboxId) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        self.call(move |c| {
            c.execute("DELETE FROM sandboxes WHERE id = ?1", params![id])?;
            Ok(())
        })
        .await
    }

    /// Rows, newest first.
    pub async fn list(&self, filter: ListFilter) -> Result<Vec<Sandbox>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {} FROM sandboxes ORDER BY created_at_ms DESC, id DESC",
                row::COLUMNS
            ))?;
            let rows = stmt.query_map([], row::RawRow::read)?;
            let mut out = Vec::new();
            for raw in rows {
                let s = raw?.decode()?;
                if !filter.include_deleted && !s.status.is_live() {
                    continue;
                }
                if filter
                    .metadata
                    .iter()
                    .all(|(k, v)| s.metadata.get(k) == Some(v))
                {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Record the latest activity time without rewriting the row.
    pub async fn touch(&self, id: &SandboxId, at_ms: i64) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        self.call(move |c| {
            c.execute(
                "UPDATE sandboxes SET last_active_at_ms = MAX(last_active_at_ms, ?2) WHERE id = ?1",
                params![id, at_ms],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
