//! The SQLite store: the one source of truth for every sandbox's desired state. One connection in
//! WAL mode is the single writer; calls run on the blocking pool so the async runtime never waits
//! on disk. The schema only moves forward through numbered migrations. A database file has one
//! owner process: opening it takes an exclusive lock on `<file>.lock`, held until the last clone
//! of the store is dropped, so a second sandboxd on the same data dir is refused, not let race.

mod audit;
mod keys;
mod migrate;
mod preview;
mod row;
mod tasks;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, AUDIT_RETENTION};
pub use keys::KeyRecord;
pub use tasks::{TaskEventRow, TaskProgress, TaskRow, TASK_EVENT_RETENTION};

use rusqlite::{params, Connection, OptionalExtension};
use sandboxd_core::{AgentToken, Sandbox, SandboxId};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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
    #[error("no stored sandbox {id}")]
    NotFound { id: String },
    #[error("store lock poisoned")]
    Poisoned,
    #[error("{path} is in use by another sandboxd process; stop it or choose another --data-dir")]
    InUse { path: String },
    #[error("locking {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
}

/// The exclusive owner lock of a database file, held until dropped. `Store::open` takes it; tools
/// that must not run beside a sandboxd on the same data dir (uninstall) take it too.
#[derive(Debug)]
pub struct OwnerLock {
    _file: std::fs::File,
}

impl OwnerLock {
    /// Take the lock for the database at `db` (its directory must exist), or fail with
    /// [`StoreError::InUse`] when another process holds it.
    pub fn acquire(db: &Path) -> Result<Self, StoreError> {
        Ok(OwnerLock {
            _file: lock_owner(db)?,
        })
    }
}

/// Take the exclusive owner lock next to the database file (`flock`, so it is released by the
/// kernel if the process dies).
fn lock_owner(db: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let shown = path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| StoreError::Lock {
            path: shown.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: db.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Lock {
            path: shown,
            source,
        }),
    }
}

/// The database holds env values: create it owner-only (SQLite gives its `-wal` and `-shm`
/// files the database's mode) and tighten the files of an older, world-readable install.
fn private_files(db: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(db)?;
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Which rows `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub include_deleted: bool,
    /// Only rows whose metadata has all these key/value pairs.
    pub metadata: Vec<(String, String)>,
    /// Only rows created by this tenant.
    pub owner: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The owner lock of a file-backed store: released when the last clone drops and no
    /// call is still running on the blocking pool (each call holds it too).
    owner: Option<Arc<std::fs::File>>,
}

impl Store {
    /// Open (creating if needed) the database file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let owner = lock_owner(path)?;
        private_files(path).map_err(|source| StoreError::Lock {
            path: path.display().to_string(),
            source,
        })?;
        let conn = Connection::open(path)?;
        Self::init(conn, Some(Arc::new(owner)))
    }

    /// A private in-memory store, for unit tests of code that needs one.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(mut conn: Connection, owner: Option<Arc<std::fs::File>>) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged write (a delete, a stop) survives power loss, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Freed pages (a tombstone's old env values) are overwritten, not left in the file.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate::run(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            owner,
        })
    }

    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let owner = self.owner.clone();
        tokio::task::spawn_blocking(move || {
            // A call whose caller was cancelled still runs to the end: it keeps the lock until then.
            let _owner = owner;
            // Declared after the lock so it drops first: the database is closed before the
            // owner lock is released, even when this was the last handle.
            let conn = conn;
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
                "SELECT {} FROM sandboxes WHERE (?1 IS NULL OR owner = ?1) \
                 ORDER BY created_at_ms DESC, id DESC",
                row::COLUMNS
            ))?;
            let rows = stmt.query_map(params![filter.owner], row::RawRow::read)?;
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

    /// Store the agent token of the sandbox's newest container (`put` keeps it; tombstones drop it).
    pub async fn set_agent_token(
        &self,
        id: &SandboxId,
        token: &AgentToken,
    ) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        let token = token.expose().to_string();
        self.call(move |c| {
            let changed = c.execute(
                "UPDATE sandboxes SET agent_token = ?2 WHERE id = ?1",
                params![id, token],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound { id });
            }
            Ok(())
        })
        .await
    }

    /// The agent token of the sandbox's newest container, if any (none: no such sandbox, a
    /// tombstone, or no container since tokens were introduced).
    pub async fn agent_token(&self, id: &SandboxId) -> Result<Option<AgentToken>, StoreError> {
        let id = id.as_str().to_string();
        self.call(move |c| {
            let stored: Option<Option<String>> = c
                .query_row(
                    "SELECT agent_token FROM sandboxes WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            let corrupt = || StoreError::Corrupt {
                id: id.clone(),
                reason: "agent_token is not a token".into(),
            };
            let parse = |text: String| AgentToken::parse(&text).ok_or_else(corrupt);
            stored.flatten().map(parse).transpose()
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
