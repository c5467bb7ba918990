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
    // 4: API keys (stored hashed), the tenant owning each sandbox (NULL: admin or anonymous),
    // and the audit log of mutating API calls (issue 10).
    "ALTER TABLE sandboxes ADD COLUMN owner TEXT;
    CREATE INDEX sandboxes_owner ON sandboxes(owner);
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'tenant')),
        owner TEXT,
        created_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER,
        last_used_at_ms INTEGER
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        actor_key_id TEXT,
        actor TEXT NOT NULL,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        sandbox_id TEXT,
        status INTEGER NOT NULL,
        request_id TEXT NOT NULL
    );
    CREATE INDEX audit_sandbox ON audit(sandbox_id, seq);",
    // 5: the E2B lifetime (template, end time, what happens then) of sandboxes created through
    // the E2B API, as JSON; NULL for every other sandbox (issue 9).
    "ALTER TABLE sandboxes ADD COLUMN e2b TEXT;",
    // 6: coding-agent tasks and their adapted events (issue 12). `secrets` holds the values of
    // the task's env while it runs (to redact them from events) and is cleared when it ends.
    "CREATE TABLE tasks (
        id TEXT PRIMARY KEY NOT NULL,
        sandbox_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        adapter TEXT NOT NULL,
        prompt TEXT NOT NULL,
        command TEXT NOT NULL,
        cwd TEXT NOT NULL,
        env_keys TEXT NOT NULL,
        secrets TEXT,
        timeout_s INTEGER,
        status TEXT NOT NULL,
        reason TEXT,
        exit_code INTEGER,
        pid INTEGER NOT NULL,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        resume_seq INTEGER NOT NULL DEFAULT 0,
        skip_lines INTEGER NOT NULL DEFAULT 0,
        last_event INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        ended_at_ms INTEGER
    );
    CREATE INDEX tasks_sandbox ON tasks(sandbox_id, created_at_ms);
    CREATE INDEX tasks_status ON tasks(status);
    CREATE TABLE task_events (
        task_id TEXT NOT NULL,
        id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (task_id, id)
    ) WITHOUT ROWID;",
    // 7: the workspace size in MiB (issue 10); NULL: an unlimited plain directory, as every
    // sandbox from before it has.
    "ALTER TABLE sandboxes ADD COLUMN disk_mb INTEGER;",
    // 8: private previews (issue 10): the preview mode (rows from before it are `public`, as
    // they behaved) and the key preview tokens are signed with. Like `agent_token`, the key is
    // not part of the sandbox record: only `set_preview_key`/`preview_key` touch it.
    "ALTER TABLE sandboxes ADD COLUMN preview TEXT NOT NULL DEFAULT 'public';
    ALTER TABLE sandboxes ADD COLUMN preview_key TEXT;",
    // 9: idle seconds before the reaper freezes a sandbox (issue 11's sleep ladder); NULL: the
    // configured default, 0: never. Rows from before it take the default.
    "ALTER TABLE sandboxes ADD COLUMN freeze_after_s INTEGER;",
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
