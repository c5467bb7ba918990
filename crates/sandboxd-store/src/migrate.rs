//! Numbered schema migrations. `PRAGMA user_version` records the last one applied; each runs once,
//! in order, inside a transaction. Never edit a published migration: add the next number.

use crate::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the sandboxes table.
    "CREATE TABLE sandboxes (
        id TEXT PRIMARY KEY NOT NULL,
        status TEXT NOT NULL,
        image TEXT NOT NULL,
        ports TEXT NOT NULL,
        env TEXT NOT NULL,
        resources TEXT NOT NULL,
        start_cmd TEXT,
        idle_policy TEXT NOT NULL,
        idle_timeout_s INTEGER,
        metadata TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        last_active_at_ms INTEGER NOT NULL,
        last_error TEXT
    );
    CREATE INDEX sandboxes_status ON sandboxes(status);",
    // 2: per-sandbox egress policy (rows from before it are `open`, as they behaved).
    "ALTER TABLE sandboxes ADD COLUMN egress TEXT NOT NULL DEFAULT 'open';",
    // 3: the access token of the sandbox's agent, rotated with every container (issue 8). Not
    // part of the sandbox record: only `set_agent_token`/`agent_token` read or write it.
    "ALTER TABLE sandboxes ADD COLUMN agent_token TEXT;",
];

pub(crate) fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let number = i as i64 + 1;
        if number <= current {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", number)?;
        tx.commit()?;
        tracing::info!(migration = number, "applied store migration");
    }
    Ok(())
}

/// The schema version this build writes.
#[cfg(test)]
pub(crate) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
