//! How sandboxd's sandboxes look through the E2B API: templates are names for images (a
//! configured map; `base` is the default image unless mapped), `paused` is our `stopped` (an
//! errored sandbox counts as paused, one being created as running), and the `domain` is where
//! `<port>-<sandboxID>.<domain>` preview hosts answer.

use super::ENVD_VERSION;
use crate::error::ApiError;
use crate::wire::{E2bSandbox, E2bSandboxDetail};
use crate::ApiState;
use sandboxd_core::time::rfc3339_ms;
use sandboxd_core::{Sandbox, Status, ValidationError};
use std::collections::BTreeMap;

/// The E2B API's settings.
#[derive(Debug, Clone, Default)]
pub struct E2bSettings {
    /// Template name → image.
    pub templates: BTreeMap<String, String>,
    /// The `domain` answers carry, e.g. `preview.localhost:18080`.
    pub domain: String,
    /// The default image (`base` when not mapped).
    pub default_image: String,
}

impl E2bSettings {
    /// The image a template stands for; an unknown template is a 400.
    pub fn image_of(&self, template: &str) -> Result<String, ApiError> {
        match self.templates.get(template) {
            Some(image) => Ok(image.clone()),
            None if template == "base" => Ok(self.default_image.clone()),
            None => Err(ValidationError::new(
                "templateID",
                format!("unknown template {template:?} (the server maps templates with --e2b-template NAME=IMAGE)"),
            )
            .into()),
        }
    }

    /// The template a sandbox was created from, or the first one naming its image, or the
    /// image itself.
    pub fn template_of(&self, sb: &Sandbox) -> String {
        if let Some(l) = &sb.e2b {
            return l.template_id.clone();
        }
        if let Some((name, _)) = self.templates.iter().find(|(_, i)| **i == sb.image) {
            return name.clone();
        }
        if sb.image == self.default_image {
            return "base".into();
        }
        sb.image.clone()
    }
}

/// `running` or `paused`. A frozen sandbox is `running` to E2B clients: it thaws on first use.
pub fn state(status: Status) -> &'static str {
    match status {
        Status::Running | Status::Frozen | Status::Creating => "running",
        _ => "paused",
    }
}

/// A created or connected sandbox, with its agent's current token.
pub async fn sandbox(st: &ApiState, sb: &Sandbox) -> Result<E2bSandbox, ApiError> {
    let token = st.engine.agent_token(&sb.id).await?;
    Ok(E2bSandbox {
        template_id: st.e2b.template_of(sb),
        sandbox_id: sb.id.as_str().to_string(),
        client_id: "sandboxd".into(),
        envd_version: ENVD_VERSION.into(),
        envd_access_token: token.map(|t| t.expose().to_string()).unwrap_or_default(),
        domain: st.e2b.domain.clone(),
    })
}

/// A sandbox's details.
pub fn detail(st: &ApiState, sb: &Sandbox) -> E2bSandboxDetail {
    let cfg = st.engine.config();
    let end_at_ms = match &sb.e2b {
        Some(l) => l.end_at_ms,
        None => {
            let idle = sb
                .idle_timeout_s
                .map(|s| s as i64 * 1000)
                .unwrap_or(cfg.idle_timeout.as_millis() as i64);
            sb.last_active_at_ms + idle
        }
    };
    E2bSandboxDetail {
        template_id: st.e2b.template_of(sb),
        sandbox_id: sb.id.as_str().to_string(),
        client_id: "sandboxd".into(),
        started_at: rfc3339_ms(sb.created_at_ms),
        end_at: rfc3339_ms(end_at_ms),
        envd_version: ENVD_VERSION.into(),
        cpu_count: sb.resources.cpus.ceil().max(1.0) as u32,
        memory_mb: sb.resources.memory_mb,
        disk_size_mb: 0,
        state: state(sb.status).into(),
        metadata: sb.metadata.clone(),
        domain: st.e2b.domain.clone(),
    }
}
