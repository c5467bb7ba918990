//! Creation input and its validation. Everything a caller sends is checked here, before any state
//! exists anywhere: a request that passes [`CreateRequest::validate`] can only fail later for
//! reasons outside the caller's input (engine, host capacity).

use crate::model::{IdlePolicy, Resources};
use crate::{Egress, Preview};
use crate::{SandboxId, ValidationError};
use serde::Deserialize;
use std::collections::BTreeMap;

mod rules;

pub use rules::{validate_command, validate_env, MIN_DISK_MB};

/// Most ports one sandbox may advertise.
pub const MAX_PORTS: usize = 32;

/// What `POST /sandbox` and `POST /v1/sandboxes` accept. Unknown fields are refused so that a typo
/// is an error, not a silently ignored setting. Every field is optional; an empty body creates a
/// sandbox from the configured defaults.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CreateSandbox))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Optional; a deleted id may be re-created and reattaches its kept workspace.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
    )]
    pub id: Option<String>,
    /// Image reference (default: the configured image).
    pub image: Option<String>,
    /// Ports the app serves, each 1–65535 and given a preview URL.
    // Signed so that 0 and 70000 get a clear message instead of a type error.
    #[cfg_attr(feature = "openapi", schema(max_items = 32))]
    pub ports: Option<Vec<i64>>,
    /// Stored, passed to the container, never returned.
    pub env: Option<BTreeMap<String, String>>,
    /// Shell command our init runs at every start and restarts on exit.
    pub start: Option<String>,
    pub resources: Option<ResourceRequest>,
    /// Size of the workspace (the home) in MiB, enforced by the kernel: writes past it fail
    /// with ENOSPC inside this sandbox only (default: the configured one; refused when the
    /// host runs without disk quotas).
    #[cfg_attr(feature = "openapi", schema(minimum = 64))]
    pub disk_mb: Option<u64>,
    pub idle_policy: Option<IdlePolicy>,
    /// Idle time before the reaper stops the sandbox (default: the configured idle timeout).
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 604800))]
    pub idle_timeout_s: Option<u64>,
    /// Idle time before the reaper freezes the sandbox (processes paused, memory kept; any
    /// request, exec or API call thaws it in milliseconds). `0` never freezes it. Default: the
    /// configured `--freeze-after`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub freeze_after_s: Option<u64>,
    /// `open` (default): the internet only; `none`: no outbound connections;
    /// `{"allow": [CIDR, …]}`: DNS and those IPv4 ranges. Private, link-local (metadata), CGNAT
    /// and multicast ranges and the host stay closed whatever this says.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::EgressSchema>))]
    pub egress: Option<Egress>,
    /// `public`: anyone with the URL; `private`: only with a preview token
    /// (`POST /v1/sandboxes/{id}/preview-tokens`). Default: the configured one.
    pub preview: Option<Preview>,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Reference-compatible shorthand, stored in `metadata`.
    pub external_user_id: Option<String>,
    /// Reference-compatible shorthand, stored in `metadata`.
    pub external_project_id: Option<String>,
}

/// Per-sandbox overrides of the configured defaults.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    #[cfg_attr(feature = "openapi", schema(minimum = 64))]
    pub memory_mb: Option<u64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01))]
    pub cpus: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 16))]
    pub pids: Option<u64>,
}

/// Configured defaults and the maxima a request may ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub default: Resources,
    pub max_memory_mb: u64,
    pub max_cpus: f64,
    pub max_pids: u64,
    pub default_image: String,
    /// Workspace size of a sandbox created without `disk_mb`; `None`: an unlimited plain
    /// directory.
    pub default_disk_mb: Option<u64>,
    /// Largest `disk_mb` a request may ask for; 0: disk quotas are off on this host.
    pub max_disk_mb: u64,
    /// The preview mode of sandboxes created without one.
    pub default_preview: Preview,
}

/// A validated creation request: every field has its final value.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxSpec {
    /// Whether the id was chosen by the caller (re-creating a tombstoned id is allowed then).
    pub id_chosen: bool,
    pub id: SandboxId,
    pub image: String,
    pub ports: Vec<u16>,
    pub env: BTreeMap<String, String>,
    pub start: Option<String>,
    pub resources: Resources,
    /// Workspace size in MiB; `None`: an unlimited plain directory.
    pub disk_mb: Option<u64>,
    pub idle_policy: IdlePolicy,
    pub idle_timeout_s: Option<u64>,
    pub freeze_after_s: Option<u64>,
    pub egress: Egress,
    pub preview: Preview,
    pub metadata: BTreeMap<String, String>,
    /// The creating tenant; never taken from the request body (the API sets it from the key).
    pub owner: Option<String>,
    /// Set by the E2B create route only.
    pub e2b: Option<crate::E2bLifetime>,
}

impl CreateRequest {
    pub fn validate(self, limits: &Limits) -> Result<SandboxSpec, ValidationError> {
        let (id, id_chosen) = match self.id.as_deref() {
            Some(raw) => (SandboxId::parse_new(raw)?, true),
            None => (SandboxId::generate(), false),
        };
        let image = match self.image {
            Some(image) => rules::validate_image(&image)?,
            None => limits.default_image.clone(),
        };
        let ports = rules::validate_ports(self.ports.unwrap_or_default())?;
        let env = self.env.unwrap_or_default();
        validate_env(&env, "env")?;
        if let Some(start) = &self.start {
            rules::validate_start(start)?;
        }
        let resources = rules::resolve_resources(self.resources.unwrap_or_default(), limits)?;
        let disk_mb = rules::resolve_disk(self.disk_mb, limits)?;
        if let Some(t) = self.idle_timeout_s {
            if !(10..=7 * 24 * 3600).contains(&t) {
                return Err(ValidationError::new(
                    "idle_timeout_s",
                    "must be between 10 and 604800 seconds",
                ));
            }
        }
        if let Some(t) = self.freeze_after_s {
            if t > 7 * 24 * 3600 {
                return Err(ValidationError::new(
                    "freeze_after_s",
                    "must be between 0 (never freeze) and 604800 seconds",
                ));
            }
        }
        let mut metadata = self.metadata.unwrap_or_default();
        if let Some(v) = self.external_user_id {
            metadata.insert("external_user_id".into(), v);
        }
        if let Some(v) = self.external_project_id {
            metadata.insert("external_project_id".into(), v);
        }
        rules::validate_metadata(&metadata)?;
        Ok(SandboxSpec {
            id_chosen,
            id,
            image,
            ports,
            env,
            start: self.start.filter(|s| !s.trim().is_empty()),
            resources,
            disk_mb,
            idle_policy: self.idle_policy.unwrap_or_default(),
            idle_timeout_s: self.idle_timeout_s,
            freeze_after_s: self.freeze_after_s,
            egress: self.egress.unwrap_or_default().validate()?,
            preview: self.preview.unwrap_or(limits.default_preview),
            metadata,
            owner: None,
            e2b: None,
        })
    }
}

#[cfg(test)]
mod tests;
