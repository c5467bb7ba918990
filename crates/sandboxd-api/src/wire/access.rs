//! Wire types of the key and audit routes. A key's secret appears in exactly one of them
//! ([`CreatedKey`], the answer to its creation); listings carry a four-character hint only.

use sandboxd_engine::{AuditRecord, KeyRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/keys`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// A label for people (e.g. `ci` or `team-a laptop`), 1-100 characters.
    pub name: String,
    /// `tenant` (default: sees only its own sandboxes) or `admin` (sees everything).
    pub role: Option<String>,
    /// The tenant a `tenant` key acts as (required for tenants; 1-64 of a-z A-Z 0-9 - _ .).
    pub owner: Option<String>,
}

/// One key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// `admin` or `tenant`.
    pub role: String,
    /// The tenant of a tenant key.
    pub owner: Option<String>,
    /// Last four characters of the key.
    pub hint: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// Recorded at most once a minute.
    pub last_used_at_ms: Option<i64>,
}

impl From<&KeyRecord> for KeyView {
    fn from(k: &KeyRecord) -> Self {
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            role: k.role.as_str().to_string(),
            owner: k.role.owner().map(str::to_string),
            hint: k.hint.clone(),
            created_at_ms: k.created_at_ms,
            revoked_at_ms: k.revoked_at_ms,
            last_used_at_ms: k.last_used_at_ms,
        }
    }
}

/// A new key: `key` is shown this once and never again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedKey {
    /// `e2b_` + 40 hex. Send as `Authorization: Bearer <key>` or `X-API-KEY: <key>`.
    pub key: String,
    #[serde(flatten)]
    pub info: KeyView,
}

/// `GET /v1/keys`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// `GET /v1/audit` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only calls naming this sandbox.
    pub sandbox: Option<String>,
    /// Only calls at or after this time (unix milliseconds).
    pub since: Option<i64>,
    /// Page size, 1-1000 (default 100).
    pub limit: Option<u32>,
    /// Only calls older than this cursor (`next_before` of the previous page).
    pub before: Option<i64>,
}

/// One recorded call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditView {
    /// Sequence number (newer calls have larger ones).
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Key name, `admin-token`, `loopback` (no token, loopback API) or `anonymous` (refused
    /// before a caller was known).
    pub actor: String,
    pub actor_key_id: Option<String>,
    pub method: String,
    /// Route template (`/v1/sandboxes/{id}/exec`), or the path when no route matched.
    pub route: String,
    pub sandbox_id: Option<String>,
    /// HTTP status of the answer.
    pub status: u16,
    pub request_id: String,
}

impl From<&AuditRecord> for AuditView {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.entry;
        AuditView {
            seq: r.seq,
            at_ms: e.at_ms,
            actor: e.actor.clone(),
            actor_key_id: e.actor_key_id.clone(),
            method: e.method.clone(),
            route: e.route.clone(),
            sandbox_id: e.sandbox_id.clone(),
            status: e.status,
            request_id: e.request_id.clone(),
        }
    }
}

/// `GET /v1/audit`: newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}
