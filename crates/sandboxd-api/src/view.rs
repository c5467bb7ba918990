//! How a sandbox is shown to API clients. Env values never appear (only their names); preview
//! URLs are built from the configured scheme, domain and listener port.

use sandboxd_core::host::preview_host;
use sandboxd_core::time::rfc3339_ms;
use sandboxd_core::Sandbox;
use sandboxd_engine::ExecResult;
use serde_json::{json, Map, Value};

/// Where previews are served, for building their URLs.
#[derive(Debug, Clone)]
pub struct PreviewUrls {
    pub scheme: String,
    pub domain: String,
    /// Listener port; omitted from URLs when it is the scheme's default.
    pub port: u16,
}

impl PreviewUrls {
    pub fn url(&self, sb: &Sandbox, port: u16) -> String {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("http", 80) | ("https", 443)
        );
        let suffix = if default {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!(
            "{}://{}{}",
            self.scheme,
            preview_host(&sb.id, port, &self.domain),
            suffix
        )
    }
}

pub fn sandbox(sb: &Sandbox, urls: &PreviewUrls) -> Value {
    let previews: Map<String, Value> = sb
        .ports
        .iter()
        .map(|p| (p.to_string(), Value::String(urls.url(sb, *p))))
        .collect();
    json!({
        "id": sb.id,
        "status": sb.status,
        "image": sb.image,
        "ports": sb.ports,
        "preview_urls": previews,
        "resources": sb.resources,
        "start": sb.start,
        "env_keys": sb.env_keys(),
        "idle_policy": sb.idle_policy,
        "idle_timeout_s": sb.idle_timeout_s,
        "metadata": sb.metadata,
        "created_at": rfc3339_ms(sb.created_at_ms),
        "updated_at": rfc3339_ms(sb.updated_at_ms),
        "last_active_at": rfc3339_ms(sb.last_active_at_ms),
        "last_error": sb.last_error,
    })
}

pub fn exec(out: &ExecResult) -> Value {
    json!({
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
        "exit_code": out.exit_code,
        "truncated": out.truncated,
        "timed_out": out.timed_out,
        "duration_ms": out.duration_ms,
    })
}
