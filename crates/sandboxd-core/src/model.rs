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
    /// Workspace size in MiB, enforced by the kernel; `None`: an unlimited plain directory
    /// (sandboxes from before quotas, or created with quotas off).
    pub disk_mb: Option<u64>,
    pub start: Option<String>,
    pub idle_policy: IdlePolicy,
    pub idle_timeout_s: Option<u64>,
    /// Idle seconds before the reaper freezes it (`Some(0)`: never; `None`: the configured
    /// default).
    pub freeze_after_s: Option<u64>,
    pub egress: Egress,
    /// Who may see its previews (the signing key is not part of the record).
    pub preview: crate::Preview,
    pub metadata: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub last_active_at_ms: i64,
    pub last_error: Option<String>,
    /// The tenant that created it (`None`: created by an admin or an anonymous loopback caller).
    pub owner: Option<String>,
    /// The E2B end of life (sandboxes created through the E2B API, or given a timeout by it).
    pub e2b: Option<E2bLifetime>,
}

/// What happens to a sandbox when its E2B end time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnEnd {
    /// Deleted, as E2B kills it.
    Kill,
    /// Stopped with its workspace kept (E2B's `autoPause`).
    Pause,
}

impl OnEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            OnEnd::Kill => "kill",
            OnEnd::Pause => "pause",
        }
    }
}

/// A sandbox's E2B lifetime: it ends at `end_at_ms` (moved by the E2B timeout and connect
/// calls), then `on_end` happens; `template_id` is the template it was created from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct E2bLifetime {
    pub template_id: String,
    pub end_at_ms: i64,
    pub on_end: OnEnd,
}

impl Sandbox {
    /// Names of the environment variables, for views that must not leak values.
    pub fn env_keys(&self) -> Vec<&str> {
        self.env.keys().map(String::as_str).collect()
    }
}
