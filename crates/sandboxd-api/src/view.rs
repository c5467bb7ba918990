//! How engine values become wire types. Env values never appear (only their names); preview
//! URLs are built from the configured scheme, domain and listener port.

use crate::wire::{
    ActivityBody, ActivitySourceName, AgentSessions, DiskView, ExecOutput, Lease, LiveView,
    LogLineView, Logs, SandboxView,
};
use sandboxd_core::host::preview_host;
use sandboxd_core::time::rfc3339_ms;
use sandboxd_core::{Sandbox, SandboxId};
use sandboxd_engine::{ActivitySource, ActivityView, ExecResult, LiveState, SessionKind};

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

pub fn sandbox(sb: &Sandbox, urls: &PreviewUrls) -> SandboxView {
    SandboxView {
        id: sb.id.clone(),
        status: sb.status,
        image: sb.image.clone(),
        ports: sb.ports.clone(),
        preview_urls: sb
            .ports
            .iter()
            .map(|p| (p.to_string(), urls.url(sb, *p)))
            .collect(),
        resources: sb.resources,
        disk: sb.disk_mb.map(|limit_mb| DiskView {
            limit_mb,
            used_mb: None,
        }),
        start: sb.start.clone(),
        env_keys: sb.env_keys().into_iter().map(str::to_string).collect(),
        idle_policy: sb.idle_policy,
        idle_timeout_s: sb.idle_timeout_s,
        freeze_after_s: sb.freeze_after_s,
        egress: sb.egress.clone(),
        preview: sb.preview,
        metadata: sb.metadata.clone(),
        created_at: rfc3339_ms(sb.created_at_ms),
        updated_at: rfc3339_ms(sb.updated_at_ms),
        last_active_at: rfc3339_ms(sb.last_active_at_ms),
        last_error: sb.last_error.clone(),
    }
}

/// One sandbox as [`Engine::describe`](sandboxd_engine::Engine::describe) saw it: with its
/// workspace usage.
pub fn described(d: &sandboxd_engine::Description, urls: &PreviewUrls) -> SandboxView {
    let mut view = sandbox(&d.sandbox, urls);
    if let Some(disk) = &mut view.disk {
        disk.used_mb = d.disk_used_mb;
    }
    view
}

pub fn live(state: LiveState) -> LiveView {
    let none = LiveView {
        container: None,
        running: None,
        state: None,
        exit_code: None,
        oom_killed: None,
        error: None,
    };
    match state {
        LiveState::Container(c) => LiveView {
            container: Some(Some(c.name)),
            running: Some(c.running),
            state: Some(c.state),
            exit_code: Some(c.exit_code),
            oom_killed: Some(c.oom_killed),
            ..none
        },
        LiveState::Absent => LiveView {
            container: Some(None),
            running: Some(false),
            state: Some("absent".to_string()),
            ..none
        },
        LiveState::Unknown(e) => LiveView {
            error: Some(e),
            ..none
        },
    }
}

/// Takes the result by value: its output moves into the response without a copy.
pub fn exec(out: ExecResult) -> ExecOutput {
    let stdout = crate::wire::OutputBytes::new(out.stdout);
    let stderr = crate::wire::OutputBytes::new(out.stderr);
    ExecOutput {
        stdout_encoding: stdout.encoding(),
        stderr_encoding: stderr.encoding(),
        stdout,
        stderr,
        exit_code: out.exit_code,
        truncated: out.truncated,
        timed_out: out.timed_out,
        duration_ms: out.duration_ms,
    }
}

pub fn lease(id: SandboxId, until_ms: i64) -> Lease {
    Lease {
        id,
        lease_until: rfc3339_ms(until_ms),
        lease_until_unix: until_ms / 1000,
    }
}

/// `lines`: (stream, text) pairs, oldest first.
pub fn logs(id: SandboxId, lines: impl IntoIterator<Item = (String, String)>) -> Logs {
    Logs {
        id,
        lines: lines
            .into_iter()
            .map(|(stream, text)| LogLineView { stream, text })
            .collect(),
    }
}

fn source(s: ActivitySource) -> ActivitySourceName {
    match s {
        ActivitySource::Create => ActivitySourceName::Create,
        ActivitySource::Start => ActivitySourceName::Start,
        ActivitySource::Wake => ActivitySourceName::Wake,
        ActivitySource::Exec => ActivitySourceName::Exec,
        ActivitySource::Keepalive => ActivitySourceName::Keepalive,
        ActivitySource::Request => ActivitySourceName::Request,
        ActivitySource::Agent => ActivitySourceName::Agent,
    }
}

fn sessions(by_kind: &std::collections::BTreeMap<SessionKind, u32>) -> AgentSessions {
    let n = |k| by_kind.get(&k).copied().unwrap_or(0);
    AgentSessions {
        process_output: n(SessionKind::ProcessOutput),
        terminal: n(SessionKind::Terminal),
        watch: n(SessionKind::Watch),
        transfer: n(SessionKind::Transfer),
        task: n(SessionKind::Task),
    }
}

pub fn activity(id: SandboxId, v: ActivityView) -> ActivityBody {
    let r = &v.report;
    ActivityBody {
        id,
        status: v.status,
        idle_policy: v.idle_policy,
        idle_timeout_s: v.idle_timeout_ms / 1000,
        freeze_after_s: v.freeze_after_ms / 1000,
        last_active_at: rfc3339_ms(r.last_active_ms),
        last_source: r.last_source.map(source),
        execs_in_flight: r.execs_in_flight,
        open_connections: r.open_connections,
        sessions: sessions(&r.sessions),
        lease_until: r.lease_until_ms.map(rfc3339_ms),
        held_by: v.held_by,
        sleeps_at: v.sleeps_at_ms.map(rfc3339_ms),
        next_rung: v.next_rung.map(str::to_string),
        next_rung_at: v.next_rung_at_ms.map(rfc3339_ms),
        e2b_end_at: v.e2b_end_at_ms.map(rfc3339_ms),
        on_end: v.on_end.map(str::to_string),
    }
}
