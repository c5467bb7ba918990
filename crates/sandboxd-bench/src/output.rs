//! Rule: one report, two renderings — the Markdown printed to stdout and the JSON written with
//! `--json` carry the same figures, the machine they were taken on, the exact command, and the
//! verified cleanup result, so a table can always be traced back to its run.

use super::cleanup::CleanupReport;
use super::report::{self, Figure};
use super::{Plan, Session};
use bollard::Docker;
use serde::Serialize;

/// The machine the numbers come from.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub cores: usize,
    pub cpu: String,
    pub mem_total_mib: u64,
    pub kernel: String,
    pub docker: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub date: String,
    pub command: String,
    pub sandboxd_version: &'static str,
    pub plan: Plan,
    pub host: Host,
    pub instance: String,
    pub image: String,
    /// The temp dir (data dir of the child, raw homes, the child's log); removed at the end.
    pub data_dir: String,
    pub raw_network: String,
    pub figures: Vec<Figure>,
    pub targets_met: usize,
    pub targets_missed: usize,
    pub cleanup: CleanupReport,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
}

impl Report {
    pub(crate) fn new(
        s: &Session,
        plan: Plan,
        host: Host,
        image: String,
        cleanup: CleanupReport,
        error: Option<anyhow::Error>,
    ) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let targets_met = s.figures.iter().filter(|f| f.met == Some(true)).count();
        let targets_missed = s.figures.iter().filter(|f| f.met == Some(false)).count();
        Report {
            version: 1,
            date: sandboxd_core::time::rfc3339_ms(now),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            sandboxd_version: env!("CARGO_PKG_VERSION"),
            plan,
            host,
            instance: s.instance.clone(),
            image,
            data_dir: s.dir.display().to_string(),
            raw_network: s.raw_network.clone(),
            figures: s.figures.clone(),
            targets_met,
            targets_missed,
            cleanup,
            error: error.map(|e| format!("{e:#}")),
        }
    }
}

/// Read what describes this machine (best effort: unknown parts stay empty).
pub async fn host(docker: &Docker) -> Host {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_mib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib / 1024)
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let docker = docker
        .version()
        .await
        .ok()
        .and_then(|v| v.version)
        .unwrap_or_default();
    Host {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        mem_total_mib,
        kernel,
        docker,
    }
}

/// The whole Markdown document.
pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let h = &r.host;
    out.push_str(&format!(
        "## sandboxd bench — {}\n\n`{}` ({} mode)\n\nHost: {} cores ({}), {} MiB RAM, kernel {}, \
         Docker {}; sandboxd {}; image `{}`. Lifecycle figures n = {}, exec and WebSocket n = {}; \
         HTTP load {} round(s) of {} ms per side and concurrency.\n\n",
        r.date,
        r.command,
        if r.plan.quick { "quick" } else { "full" },
        h.cores,
        h.cpu,
        h.mem_total_mib,
        h.kernel,
        h.docker,
        r.sandboxd_version,
        r.image,
        r.plan.n,
        r.plan.n_fast,
        r.plan.load_rounds,
        r.plan.load_round_ms,
    ));
    out.push_str(
        "Times in ms, memory in MiB (lower is better); ratio = sandboxd ÷ raw at the same \
         percentile; n = samples taken (failures in parentheses).\n\n",
    );
    out.push_str(&report::tables(&r.figures));
    out.push_str(&format!(
        "### Targets: {} met, {} missed\n\n",
        r.targets_met, r.targets_missed
    ));
    out.push_str(&report::targets(&r.figures));
    out.push('\n');
    if let Some(e) = &r.error {
        out.push_str(&format!("**The run stopped early:** {e}\n\n"));
    }
    out.push_str(&cleanup_line(&r.cleanup));
    out
}

fn cleanup_line(c: &CleanupReport) -> String {
    if c.ok {
        return format!(
            "Cleanup verified: no container, network, host-guard rule or directory ({}) left \
             behind; the child sandboxd {}.\n",
            c.data_dir, c.child
        );
    }
    let mut out = format!("**Cleanup incomplete** (child sandboxd {}):\n", c.child);
    for name in &c.containers_left {
        out.push_str(&format!("- container left: {name}\n"));
    }
    for name in &c.networks_left {
        out.push_str(&format!("- network left: {name}\n"));
    }
    if c.host_guard_rules_left > 0 {
        out.push_str(&format!(
            "- {} host-guard iptables rule(s) left\n",
            c.host_guard_rules_left
        ));
    }
    if c.data_dir_left {
        out.push_str(&format!("- directory left: {}\n", c.data_dir));
    }
    for e in &c.errors {
        out.push_str(&format!("- error: {e}\n"));
    }
    out
}
