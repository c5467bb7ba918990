//! Rule: the bench leaves nothing behind, whether it finished, failed or was interrupted — the
//! child sandboxd is stopped first (so it cannot recreate anything), then every container with
//! the bench instance's labels (sandboxd's and the raw ones; one at a time, each stopped before
//! it is removed — see `sandboxd_runtime::docker::teardown`), both networks with the host-guard
//! rules, the workspaces' loop mounts and the temp dir are removed — and then it checks that each is really gone and says
//! what, if anything, is left.

use super::raw::BENCH_LABEL;
use super::Session;
use bollard::container::ListContainersOptions;
use bollard::network::InspectNetworkOptions;
use sandboxd_runtime::docker::teardown;
use sandboxd_testkit as testkit;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct CleanupReport {
    /// Everything removed and verified gone.
    pub ok: bool,
    /// How the child sandboxd ended.
    pub child: String,
    pub containers_left: Vec<String>,
    pub networks_left: Vec<String>,
    /// iptables INPUT rules still naming sandboxd's bridge.
    pub host_guard_rules_left: usize,
    pub data_dir: String,
    pub data_dir_left: bool,
    pub errors: Vec<String>,
}

pub async fn run(s: &mut Session) -> CleanupReport {
    let mut errors = Vec::new();
    let child = match s.child.as_mut() {
        Some(c) => c.terminate().await,
        None => "never started".to_string(),
    };
    let sandboxd_net = format!("sandboxd-{}", s.instance);
    let bridge = bridge_of(s, &sandboxd_net).await;
    if let Err(e) = testkit::remove_instance(&s.instance).await {
        errors.push(format!("removing instance {}: {e:#}", s.instance));
    }
    // Size-limited workspaces are loop mounts inside the temp dir: with the containers gone
    // nothing holds them, and the dir cannot go while they are mounted.
    if let Err(e) = sandboxd::workspaces::unmount_all(&s.dir.join("data")) {
        errors.push(format!(
            "unmounting workspaces in {}: {e:#}",
            s.dir.display()
        ));
    }
    // The raw baseline's containers, like sandboxd's: one at a time, each stopped first.
    let serial = tokio::sync::Mutex::new(());
    for name in containers(s, BENCH_LABEL).await {
        if let Err(e) = teardown::stop_and_remove(&s.docker, &serial, &name).await {
            errors.push(format!("removing {name}: {e}"));
        }
    }
    if let Err(e) = teardown::remove_network(&s.docker, &s.raw_network).await {
        errors.push(format!("removing network {}: {e}", s.raw_network));
    }
    if s.dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&s.dir) {
            errors.push(format!("removing {}: {e}", s.dir.display()));
        }
    }

    let mut containers_left = containers(s, "io.sandboxd.instance").await;
    containers_left.extend(containers(s, BENCH_LABEL).await);
    let mut networks_left = Vec::new();
    for net in [sandboxd_net, s.raw_network.clone()] {
        let found = s
            .docker
            .inspect_network(&net, None::<InspectNetworkOptions<String>>)
            .await;
        if found.is_ok() {
            networks_left.push(net);
        }
    }
    let host_guard_rules_left = bridge.map(|b| guard_rules(&b)).unwrap_or(0);
    let data_dir_left = s.dir.exists();
    CleanupReport {
        ok: containers_left.is_empty()
            && networks_left.is_empty()
            && host_guard_rules_left == 0
            && !data_dir_left,
        child,
        containers_left,
        networks_left,
        host_guard_rules_left,
        data_dir: s.dir.display().to_string(),
        data_dir_left,
        errors,
    }
}

/// Names of containers carrying `label=<bench instance>`.
async fn containers(s: &Session, label: &str) -> Vec<String> {
    let opts = ListContainersOptions {
        all: true,
        filters: HashMap::from([("label".to_string(), vec![format!("{label}={}", s.instance)])]),
        ..Default::default()
    };
    match s.docker.list_containers(Some(opts)).await {
        Ok(list) => list
            .into_iter()
            .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
            .map(|n| n.trim_start_matches('/').to_string())
            .collect(),
        Err(e) => vec![format!("(cannot list containers: {e})")],
    }
}

/// The Linux bridge behind sandboxd's network (named by sandboxd; the host guard matches it).
async fn bridge_of(s: &Session, network: &str) -> Option<String> {
    let info = s
        .docker
        .inspect_network(network, None::<InspectNetworkOptions<String>>)
        .await
        .ok()?;
    info.options?.get("com.docker.network.bridge.name").cloned()
}

/// How many INPUT rules still name `bridge` (0 when iptables cannot be read).
fn guard_rules(bridge: &str) -> usize {
    let out = std::process::Command::new("iptables")
        // The host guard (in INPUT) and the egress chain with its jump (in DOCKER-USER).
        .args(["-w", "-S"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .any(|w| w == bridge || w == format!("SANDBOXD-{bridge}"))
            })
            .count(),
        _ => 0,
    }
}
