//! The E2B REST API's bodies, in E2B's own camelCase spelling (its public OpenAPI `NewSandbox`,
//! `Sandbox`, `SandboxDetail`/`ListedSandbox`, `Error`). Request types ignore fields sandboxd
//! does not implement (network, mcp, volume mounts…), as E2B's server ignores unknown ones.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// `POST /sandboxes` and `POST /v2/sandboxes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = E2bNewSandbox)]
pub struct E2bNewSandbox {
    /// A template name from the server's `--e2b-template` map, or `base` (the default image).
    #[serde(rename = "templateID")]
    pub template_id: String,
    /// Seconds until the sandbox ends (default 300).
    pub timeout: Option<i64>,
    /// At the end, pause (stop, workspace kept) instead of kill.
    pub auto_pause: Option<bool>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Environment of every process in the sandbox.
    pub env_vars: Option<BTreeMap<String, String>>,
}

/// `POST /sandboxes/{sandboxID}/connect` (v1 and v2) and `/resume`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = E2bConnect)]
pub struct E2bConnect {
    /// Seconds from now the sandbox should at least live (default 300); never shortens it.
    pub timeout: Option<i64>,
}

/// `POST /sandboxes/{sandboxID}/timeout`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = E2bTimeout)]
pub struct E2bTimeout {
    /// Seconds from now until the end (may shorten it).
    pub timeout: Option<i64>,
}

/// A created or connected sandbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = E2bSandbox)]
pub struct E2bSandbox {
    #[serde(rename = "templateID")]
    pub template_id: String,
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// The envd protocol level the in-sandbox agent implements.
    pub envd_version: String,
    /// The agent's token: send it as `X-Access-Token` to port 49983 through the preview listener.
    pub envd_access_token: String,
    /// Domain of `<port>-<sandboxID>.<domain>` hosts (with the preview port when not 80/443).
    pub domain: String,
}

/// One sandbox in `GET /sandboxes/{sandboxID}` and in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = E2bSandboxDetail)]
pub struct E2bSandboxDetail {
    #[serde(rename = "templateID")]
    pub template_id: String,
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    #[schema(format = DateTime)]
    pub started_at: String,
    /// When the sandbox ends (E2B timeout); for a sandbox created through sandboxd's own API,
    /// when the idle reaper would stop it if nothing used it from its last activity.
    #[schema(format = DateTime)]
    pub end_at: String,
    pub envd_version: String,
    pub cpu_count: u32,
    #[serde(rename = "memoryMB")]
    pub memory_mb: u64,
    /// sandboxd puts no quota on workspaces: 0.
    #[serde(rename = "diskSizeMB")]
    pub disk_size_mb: u64,
    /// `running` or `paused` (stopped).
    pub state: String,
    pub metadata: BTreeMap<String, String>,
    pub domain: String,
}

/// `GET /v2/sandboxes` (and `GET /sandboxes` with `X-API-KEY`) query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct E2bListParams {
    /// URL-encoded `k=v&k2=v2` whose keys and values are URL-encoded again.
    pub metadata: Option<String>,
    /// Comma-separated `running`, `paused` (default both).
    pub state: Option<String>,
    /// `asc` or `desc` (default) by start time.
    pub order: Option<String>,
    /// RFC 3339: only sandboxes started after this.
    pub started_after: Option<String>,
    /// Only sandboxes of this template.
    pub template: Option<String>,
    /// At most this many (1–100, default 100); more pages via `X-Next-Token`.
    pub limit: Option<u32>,
    /// The `X-Next-Token` of the previous page.
    pub next_token: Option<String>,
}

/// E2B's error body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = E2bError)]
pub struct E2bError {
    /// The HTTP status.
    pub code: u16,
    pub message: String,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = E2bHealth)]
pub struct E2bHealth {
    pub message: String,
}

/// A page of E2B's list: a bare array.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(transparent)]
pub struct E2bSandboxList(pub Vec<E2bSandboxDetail>);
