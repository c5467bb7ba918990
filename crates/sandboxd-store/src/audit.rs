//! The audit log of mutating API calls. Rule: rows are only appended (in batches, one
//! transaction each) and pruned oldest-first so that at most [`AUDIT_RETENTION`] remain; reads
//! are newest first, paged by the row sequence number.

use crate::{Store, StoreError};
use rusqlite::params;

/// How many audit rows are kept.
pub const AUDIT_RETENTION: i64 = 100_000;

/// One call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// The key that made the call, if any.
    pub actor_key_id: Option<String>,
    /// The key's name, `admin-token`, `loopback` or `anonymous`.
    pub actor: String,
    pub method: String,
    /// The route template (`/v1/sandboxes/{id}/exec`) or, without one, the path.
    pub route: String,
    pub sandbox_id: Option<String>,
    pub status: u16,
    pub request_id: String,
}

/// A recorded call and its sequence number (the paging cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
}

/// Which rows [`Store::audit`] returns.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub sandbox_id: Option<String>,
    pub since_ms: Option<i64>,
    /// Only rows older than this sequence number (the previous page's last `seq`).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

impl Store {
    /// Append a batch in one transaction, then prune beyond the retention.
    pub async fn append_audit(&self, batch: Vec<AuditEntry>) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO audit (at_ms, actor_key_id, actor, method, route, sandbox_id, \
                     status, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for e in &batch {
                    stmt.execute(params![
                        e.at_ms,
                        e.actor_key_id,
                        e.actor,
                        e.method,
                        e.route,
                        e.sandbox_id,
                        e.status,
                        e.request_id
                    ])?;
                }
            }
            tx.execute(
                "DELETE FROM audit WHERE seq <= (SELECT MAX(seq) FROM audit) - ?1",
                params![AUDIT_RETENTION],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Recorded calls, newest first.
    pub async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at_ms, actor_key_id, actor, method, route, sandbox_id, status, \
                 request_id FROM audit WHERE (?1 IS NULL OR sandbox_id = ?1) \
                 AND (?2 IS NULL OR at_ms >= ?2) AND (?3 IS NULL OR seq < ?3) \
                 ORDER BY seq DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![q.sandbox_id, q.since_ms, q.before_seq, q.limit],
                |r| {
                    Ok(AuditRecord {
                        seq: r.get(0)?,
                        entry: AuditEntry {
                            at_ms: r.get(1)?,
                            actor_key_id: r.get(2)?,
                            actor: r.get(3)?,
                            method: r.get(4)?,
                            route: r.get(5)?,
                            sandbox_id: r.get(6)?,
                            status: r.get(7)?,
                            request_id: r.get(8)?,
                        },
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
