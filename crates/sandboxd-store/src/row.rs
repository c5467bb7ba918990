//! Mapping between a [`Sandbox`] and its SQLite row. Structured fields are stored as JSON text;
//! decoding a row that does not parse is an error naming the row, never a silent default.

use crate::StoreError;
use rusqlite::{params, Connection, Row};
use sandboxd_core::{Egress, IdlePolicy, Preview, Sandbox, SandboxId, Status};

pub(crate) const COLUMNS: &str =
    "id, status, image, ports, env, resources, start_cmd, idle_policy, \
     idle_timeout_s, metadata, created_at_ms, updated_at_ms, last_active_at_ms, last_error, egress, owner, e2b, disk_mb, preview, freeze_after_s";

pub(crate) struct RawRow {
    id: String,
    status: String,
    image: String,
    ports: String,
    env: String,
    resources: String,
    start_cmd: Option<String>,
    idle_policy: String,
    idle_timeout_s: Option<i64>,
    metadata: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    last_active_at_ms: i64,
    last_error: Option<String>,
    egress: String,
    owner: Option<String>,
    e2b: Option<String>,
    disk_mb: Option<i64>,
    preview: String,
    freeze_after_s: Option<i64>,
}

impl RawRow {
    pub(crate) fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            status: r.get(1)?,
            image: r.get(2)?,
            ports: r.get(3)?,
            env: r.get(4)?,
            resources: r.get(5)?,
            start_cmd: r.get(6)?,
            idle_policy: r.get(7)?,
            idle_timeout_s: r.get(8)?,
            metadata: r.get(9)?,
            created_at_ms: r.get(10)?,
            updated_at_ms: r.get(11)?,
            last_active_at_ms: r.get(12)?,
            last_error: r.get(13)?,
            egress: r.get(14)?,
            owner: r.get(15)?,
            e2b: r.get(16)?,
            disk_mb: r.get(17)?,
            preview: r.get(18)?,
            freeze_after_s: r.get(19)?,
        })
    }

    /// Encode a row. A tombstone keeps the names of its environment variables, never their
    /// values (they may be secrets, and a tombstone is kept forever).
    pub(crate) fn encode(s: &Sandbox) -> Self {
        // Serializing plain maps, vectors and a struct of numbers into JSON cannot fail.
        let json = |v: serde_json::Value| v.to_string();
        Self {
            id: s.id.as_str().to_string(),
            status: s.status.as_str().to_string(),
            image: s.image.clone(),
            ports: json(serde_json::json!(s.ports)),
            env: json(serde_json::json!(stored_env(s))),
            resources: json(serde_json::json!(s.resources)),
            start_cmd: s.start.clone(),
            idle_policy: s.idle_policy.as_str().to_string(),
            idle_timeout_s: s.idle_timeout_s.map(|t| t as i64),
            metadata: json(serde_json::json!(s.metadata)),
            created_at_ms: s.created_at_ms,
            updated_at_ms: s.updated_at_ms,
            last_active_at_ms: s.last_active_at_ms,
            last_error: s.last_error.clone(),
            egress: s.egress.to_text(),
            owner: s.owner.clone(),
            e2b: s.e2b.as_ref().map(|l| json(serde_json::json!(l))),
            disk_mb: s.disk_mb.map(|mb| mb as i64),
            preview: s.preview.as_str().to_string(),
            freeze_after_s: s.freeze_after_s.map(|t| t as i64),
        }
    }

    pub(crate) fn decode(self) -> Result<Sandbox, StoreError> {
        let id = self.id.clone();
        let bad = |reason: String| StoreError::Corrupt {
            id: id.clone(),
            reason,
        };
        let status: Status = self.status.parse().map_err(bad)?;
        let idle_policy = IdlePolicy::parse(&self.idle_policy)
            .ok_or_else(|| bad(format!("idle_policy {:?}", self.idle_policy)))?;
        let egress =
            Egress::parse(&self.egress).ok_or_else(|| bad(format!("egress {:?}", self.egress)))?;
        let preview = Preview::parse(&self.preview)
            .ok_or_else(|| bad(format!("preview {:?}", self.preview)))?;
        Ok(Sandbox {
            id: SandboxId::from_trusted(self.id.clone()),
            status,
            image: self.image,
            ports: serde_json::from_str(&self.ports).map_err(|e| bad(format!("ports: {e}")))?,
            env: serde_json::from_str(&self.env).map_err(|e| bad(format!("env: {e}")))?,
            resources: serde_json::from_str(&self.resources)
                .map_err(|e| bad(format!("resources: {e}")))?,
            disk_mb: self.disk_mb.map(|mb| mb.max(0) as u64),
            start: self.start_cmd,
            idle_policy,
            idle_timeout_s: self.idle_timeout_s.map(|t| t.max(0) as u64),
            freeze_after_s: self.freeze_after_s.map(|t| t.max(0) as u64),
            egress,
            preview,
            metadata: serde_json::from_str(&self.metadata)
                .map_err(|e| bad(format!("metadata: {e}")))?,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            last_active_at_ms: self.last_active_at_ms,
            last_error: self.last_error,
            owner: self.owner,
            e2b: self
                .e2b
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| bad(format!("e2b: {e}")))?,
        })
    }

    /// Insert the row, or update every record column of an existing one. The agent token and
    /// preview key columns are not part of the record: an update keeps them, except that a
    /// tombstone drops them (a deleted sandbox has no agent and no previews, and a tombstone is
    /// kept forever).
    pub(crate) fn upsert(&self, c: &Connection) -> rusqlite::Result<usize> {
        let updates: Vec<String> = COLUMNS
            .split(',')
            .map(str::trim)
            .filter(|column| *column != "id")
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        c.execute(
            &format!(
                "INSERT INTO sandboxes ({COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?17, ?18, ?19, ?20, ?21) \
                 ON CONFLICT(id) DO UPDATE SET {}, agent_token = CASE \
                 WHEN excluded.status = ?16 THEN NULL ELSE sandboxes.agent_token END, \
                 preview_key = CASE \
                 WHEN excluded.status = ?16 THEN NULL ELSE sandboxes.preview_key END",
                updates.join(", ")
            ),
            params![
                self.id,
                self.status,
                self.image,
                self.ports,
                self.env,
                self.resources,
                self.start_cmd,
                self.idle_policy,
                self.idle_timeout_s,
                self.metadata,
                self.created_at_ms,
                self.updated_at_ms,
                self.last_active_at_ms,
                self.last_error,
                self.egress,
                Status::Deleted.as_str(),
                self.owner,
                self.e2b,
                self.disk_mb,
                self.preview,
                self.freeze_after_s,
            ],
        )
    }
}

/// The environment as stored: values blanked for a tombstone.
fn stored_env(s: &Sandbox) -> std::collections::BTreeMap<&str, &str> {
    let deleted = s.status == Status::Deleted;
    s.env
        .iter()
        .map(|(k, v)| (k.as_str(), if deleted { "" } else { v.as_str() }))
        .collect()
}
