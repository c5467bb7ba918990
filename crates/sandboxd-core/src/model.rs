//! The sandbox record: what the store keeps as desired state and what the API shows. Env values
//! live here but are never serialized into a view (see [`Sandbox::env_keys`]).

pub use crate::egress::Egress;
use crate::{SandboxId, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether the idle reaper may stop a sandbox.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IdlePolicy {
    #[default]
    Sleep,
    AlwaysOn,
}

impl IdlePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            IdlePolicy::Sleep => "sleep",
            IdlePolicy::AlwaysOn => "always_on",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sleep" => Some(IdlePolicy::Sleep),
            "always_on" => Some(IdlePolicy::AlwaysOn),
            _ => None,
        }
    }
}

/// Limits applied to one sandbox's container.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Memory limit in MiB (swap is not granted on top).
    pub memory_mb: u64,
    /// CPU limit in cores (fractions allowed).
    pub cpus: f64,
    /// Maximum number of processes and threads.
    pub pids: u64,
    /// Open-file limit (soft = hard).
    pub nofile: u64,
    /// Size of the `/tmp` tmpfs in MiB.
    pub tmp_mb: u64,
}

/// One sandbox as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sandbox {
    pub id: SandboxId,
    pub status: Status,
    pub image: String,
    pub ports: Vec<u16>,
    pub env: BTreeMap<String, String>,
    pub resources: Resources,
    pub start: Option<String>,
    pub idle_policy: IdlePolicy,
    pub idle_timeout_s: Option<u64>,
    pub egress: Egress,
    pub metadata: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_active_at_ms: i64,
    pub last_error: Option<String>,
    /// The tenant that created it (`None`: created by an admin or an anonymous loopback caller).
    pub owner: Option<String>,
}

impl Sandbox {
    /// Names of the environment variables, for views that must not leak values.
    pub fn env_keys(&self) -> Vec<&str> {
        self.env.keys().map(String::as_str).collect()
    }
}
