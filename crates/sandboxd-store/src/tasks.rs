//! Coding-agent tasks and their adapted events. Rule: a task's events and its resume point (where
//! its collector picks the agent's output up again) are written in one transaction, so after a
//! crash the stored events and the point they were read up to always agree; event ids count up
//! from 1 per task and are never reused; at most [`TASK_EVENT_RETENTION`] events are kept per
//! task (oldest dropped first). A task's secrets (its env values, kept only to redact them from
//! events) are cleared when it ends.

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};

/// How many events are kept per task.
pub const TASK_EVENT_RETENTION: u64 = 10_000;

/// One stored task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    pub sandbox_id: String,
    /// `claude-code`, `opencode`, `codex`, `aider` or `command`.
    pub agent: String,
    /// Which output adapter reads the process (`claude-stream-json`, `lines`).
    pub adapter: String,
    pub prompt: String,
    pub command: Vec<String>,
    pub cwd: String,
    /// Names of the env variables given (values are never returned).
    pub env_keys: Vec<String>,
    /// Values to redact from events while the task runs (empty once it ended).
    pub secrets: Vec<String>,
    pub timeout_s: Option<u64>,
    /// `running`, `succeeded`, `failed`, `cancelled`.
    pub status: String,
    pub reason: Option<String>,
    pub exit_code: Option<i64>,
    pub pid: u32,
    pub cancel_requested: bool,
    pub progress: TaskProgress,
    /// Id of the newest event (0: none yet).
    pub last_event: u64,
    pub created_at_ms: i64,
    pub ended_at_ms: Option<i64>,
}

/// Where the collector resumes the process's output: replay after agent seq `resume_seq`, and
/// drop the first `skip_lines` whole lines (already turned into events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskProgress {
    pub resume_seq: u64,
    pub skip_lines: u64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEventRow {
    pub id: u64,
    pub kind: String,
    /// JSON text.
    pub data: String,
}

const COLUMNS: &str = "id, sandbox_id, agent, adapter, prompt, command, cwd, env_keys, secrets, \
    timeout_s, status, reason, exit_code, pid, cancel_requested, resume_seq, skip_lines, \
    last_event, created_at_ms, ended_at_ms";

fn json_list(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn read(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        sandbox_id: r.get(1)?,
        agent: r.get(2)?,
        adapter: r.get(3)?,
        prompt: r.get(4)?,
        command: json_list(r.get(5)?),
        cwd: r.get(6)?,
        env_keys: json_list(r.get(7)?),
        secrets: json_list(r.get(8)?),
        timeout_s: r.get::<_, Option<i64>>(9)?.map(|t| t as u64),
        status: r.get(10)?,
        reason: r.get(11)?,
        exit_code: r.get(12)?,
        pid: r.get::<_, i64>(13)? as u32,
        cancel_requested: r.get::<_, i64>(14)? != 0,
        progress: TaskProgress {
            resume_seq: r.get::<_, i64>(15)? as u64,
            skip_lines: r.get::<_, i64>(16)? as u64,
        },
        last_event: r.get::<_, i64>(17)? as u64,
        created_at_ms: r.get(18)?,
        ended_at_ms: r.get(19)?,
    })
}

fn to_json(list: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

impl Store {
    pub async fn insert_task(&self, t: &TaskRow) -> Result<(), StoreError> {
        let t = t.clone();
        self.call(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO tasks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                     ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
                ),
                params![
                    t.id,
                    t.sandbox_id,
                    t.agent,
                    t.adapter,
                    t.prompt,
                    to_json(&t.command),
                    t.cwd,
                    to_json(&t.env_keys),
                    (!t.secrets.is_empty()).then(|| to_json(&t.secrets)),
                    t.timeout_s.map(|s| s as i64),
                    t.status,
                    t.reason,
                    t.exit_code,
                    i64::from(t.pid),
                    t.cancel_requested as i64,
                    t.progress.resume_seq as i64,
                    t.progress.skip_lines as i64,
                    t.last_event as i64,
                    t.created_at_ms,
                    t.ended_at_ms,
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let id = id.to_string();
        self.call(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1");
            Ok(c.query_row(&sql, params![id], read).optional()?)
        })
        .await
    }

    /// The tasks of one sandbox (`Some`), or every running task (`None`), newest first.
    pub async fn tasks(&self, sandbox_id: Option<&str>) -> Result<Vec<TaskRow>, StoreError> {
        let sandbox_id = sandbox_id.map(str::to_string);
        self.call(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM tasks WHERE (?1 IS NULL AND status = 'running') \
                 OR sandbox_id = ?1 ORDER BY created_at_ms DESC, id DESC"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params![sandbox_id], read)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Append events (kind, JSON data) and move the resume point, in one transaction; old
    /// events beyond the retention are dropped. Returns the id of the newest event.
    pub async fn append_task_events(
        &self,
        task_id: &str,
        events: Vec<(String, String)>,
        progress: TaskProgress,
    ) -> Result<u64, StoreError> {
        let task_id = task_id.to_string();
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut last: i64 = tx.query_row(
                "SELECT last_event FROM tasks WHERE id = ?1",
                params![task_id],
                |r| r.get(0),
            )?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO task_events (task_id, id, kind, data) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (kind, data) in &events {
                    last += 1;
                    stmt.execute(params![task_id, last, kind, data])?;
                }
            }
            tx.execute(
                "UPDATE tasks SET last_event = ?2, resume_seq = ?3, skip_lines = ?4 WHERE id = ?1",
                params![
                    task_id,
                    last,
                    progress.resume_seq as i64,
                    progress.skip_lines as i64
                ],
            )?;
            tx.execute(
                "DELETE FROM task_events WHERE task_id = ?1 AND id <= ?2",
                params![task_id, last - TASK_EVENT_RETENTION as i64],
            )?;
            tx.commit()?;
            Ok(last as u64)
        })
        .await
    }

    /// Events with an id above `after`, oldest first, at most `limit`.
    pub async fn task_events(
        &self,
        task_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TaskEventRow>, StoreError> {
        let task_id = task_id.to_string();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, data FROM task_events WHERE task_id = ?1 AND id > ?2 \
                 ORDER BY id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![task_id, after as i64, limit], |r| {
                Ok(TaskEventRow {
                    id: r.get::<_, i64>(0)? as u64,
                    kind: r.get(1)?,
                    data: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Record that a cancel was asked for (the end then counts as `cancelled`).
    pub async fn request_task_cancel(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.call(move |c| {
            c.execute(
                "UPDATE tasks SET cancel_requested = 1 WHERE id = ?1",
                params![id],
            )?;
            Ok(())
        })
        .await
    }

    /// End a running task (and forget its secrets); `false` when it had already ended.
    pub async fn finish_task(
        &self,
        id: &str,
        status: &str,
        reason: Option<String>,
        exit_code: Option<i64>,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let (id, status) = (id.to_string(), status.to_string());
        self.call(move |c| {
            let n = c.execute(
                "UPDATE tasks SET status = ?2, reason = ?3, exit_code = ?4, ended_at_ms = ?5, \
                 secrets = NULL WHERE id = ?1 AND status = 'running'",
                params![id, status, reason, exit_code, at_ms],
            )?;
            Ok(n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
