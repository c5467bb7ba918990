//! The typed spec in Docker's words. Every container gets the hardening baseline (no
//! capabilities, no-new-privileges, read-only root, bounded logs) whatever the spec says; the
//! workspace and our binaries become bind mounts of host paths, scratch filesystems become tmpfs
//! mounts owned by their owner (Docker copies the image's directory mode onto a tmpfs, so `mode=`
//! alone would not make an image's root-owned `/run` writable), limits become cgroup limits and a
//! `nofile` ulimit. The network identity is ours too: a MAC derived from the container name (the
//! egress rules match it, see `firewall/egress.rs`) and IPv6 switched off inside the sandbox (so
//! no IPv6 path, link-local ones to neighbours on the bridge included, needs guarding; a sandbox
//! without `CAP_NET_ADMIN` cannot switch it back on).

use crate::{ContainerSpec, OurBinary, Scratch};
use bollard::container::Config;
use bollard::models::{HostConfig, HostConfigLogConfig, Mount, MountTypeEnum, ResourcesUlimits};
use std::collections::HashMap;
use std::path::PathBuf;

/// Where a container's workspace and our binaries are on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    pub workspace: PathBuf,
    pub init: PathBuf,
    pub agent: PathBuf,
}

impl HostPaths {
    fn binary(&self, b: OurBinary) -> &PathBuf {
        match b {
            OurBinary::Init => &self.init,
            OurBinary::Agent => &self.agent,
        }
    }
}

/// The Engine API config for a spec, attached to `network` and carrying exactly `labels`.
/// Public so a baseline measured against the raw engine uses exactly what sandboxd sends.
pub fn container_config(
    spec: &ContainerSpec,
    host: &HostPaths,
    network: &str,
    labels: HashMap<String, String>,
) -> Config<String> {
    let bind = |source: &PathBuf, target: &str, read_only: bool| Mount {
        target: Some(target.to_string()),
        source: Some(source.display().to_string()),
        typ: Some(MountTypeEnum::BIND),
        read_only: Some(read_only),
        ..Default::default()
    };
    let mut mounts = vec![bind(&host.workspace, &spec.home, false)];
    mounts.extend(
        spec.binaries
            .iter()
            .map(|b| bind(host.binary(*b), b.path(), true)),
    );
    let host_config = HostConfig {
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges:true".into()]),
        readonly_rootfs: Some(true),
        privileged: Some(false),
        memory: Some(spec.limits.memory_bytes),
        memory_swap: Some(spec.limits.memory_bytes),
        nano_cpus: Some(spec.limits.nano_cpus),
        pids_limit: Some(spec.limits.pids),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(spec.limits.nofile),
            hard: Some(spec.limits.nofile),
        }]),
        tmpfs: Some(
            spec.scratch
                .iter()
                .map(|s| (s.path.to_string(), tmpfs_options(s)))
                .collect(),
        ),
        mounts: Some(mounts),
        network_mode: Some(network.to_string()),
        sysctls: ipv6_off(),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".into()),
            config: Some(HashMap::from([
                ("max-size".to_string(), "5m".to_string()),
                ("max-file".to_string(), "2".to_string()),
            ])),
        }),
        ..Default::default()
    };
    Config {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        user: Some(spec.identity.user_spec()),
        env: Some(spec.env.clone()),
        entrypoint: Some(spec.entrypoint.clone()),
        cmd: Some(Vec::new()),
        working_dir: Some(spec.working_dir.clone()),
        labels: Some(labels),
        mac_address: Some(super::mac_for(&spec.name)),
        stop_timeout: Some(spec.stop_timeout_s),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// The sysctls that disable IPv6 in the container's network namespace; none on a host whose
/// kernel has no IPv6 at all (the engine would fail to set them, and there is nothing to close).
fn ipv6_off() -> Option<HashMap<String, String>> {
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return None;
    }
    Some(HashMap::from([
        (
            "net.ipv6.conf.all.disable_ipv6".to_string(),
            "1".to_string(),
        ),
        (
            "net.ipv6.conf.default.disable_ipv6".to_string(),
            "1".to_string(),
        ),
    ]))
}

fn tmpfs_options(s: &Scratch) -> String {
    format!(
        "rw,nosuid,nodev,size={}m,uid={},gid={},mode={:o}",
        s.size_mb, s.owner.uid, s.owner.gid, s.mode
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;

    #[test]
    fn scratch_becomes_owned_tmpfs_options() {
        let s = Scratch {
            path: "/run/sandboxd",
            size_mb: 1,
            mode: 0o700,
            owner: Identity::SANDBOX,
        };
        assert_eq!(
            tmpfs_options(&s),
            "rw,nosuid,nodev,size=1m,uid=1000,gid=1000,mode=700"
        );
        let t = Scratch { mode: 0o1777, ..s };
        assert!(tmpfs_options(&t).ends_with("mode=1777"));
    }
}
