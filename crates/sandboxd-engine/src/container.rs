//! How a sandbox record becomes a container spec: names, labels, mounts, limits, environment.
//! The same record always yields the same spec, so a container can be recreated at any time.

use crate::workspace::{SANDBOX_GID, SANDBOX_UID};
use sandboxd_core::{Sandbox, SandboxId};
use sandboxd_runtime::{BindMount, ContainerSpec, Limits};
use std::collections::HashMap;
use std::path::Path;

/// Label holding the sandbox id on its container.
pub const SANDBOX_LABEL: &str = "io.sandboxd.sandbox";
/// Where our init is mounted inside every sandbox.
pub const INIT_PATH: &str = "/.sandboxd/init";
pub const HOME: &str = "/home/sandbox";

/// `s-<id>` for the default installation, `s-<id>_<instance>` otherwise (`_` never occurs in
/// ids or instance names, so the two parts cannot be confused).
pub fn name(instance: &str, id: &SandboxId) -> String {
    if instance == "default" {
        format!("s-{id}")
    } else {
        format!("s-{id}_{instance}")
    }
}

pub fn spec(
    instance: &str,
    sb: &Sandbox,
    workspace: &Path,
    init_binary: &Path,
    nofile: u64,
    stop_grace_ms: u64,
) -> ContainerSpec {
    let mut env: Vec<String> = sb.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.push(format!("HOME={HOME}"));
    env.push("USER=sandbox".into());
    env.push(format!("SANDBOX_ID={}", sb.id));
    env.push(format!("SANDBOXD_STOP_GRACE_MS={stop_grace_ms}"));
    if let Some(start) = &sb.start {
        env.push(format!("SANDBOXD_START={start}"));
    }
    let r = &sb.resources;
    ContainerSpec {
        name: name(instance, &sb.id),
        hostname: sb.id.to_string(),
        image: sb.image.clone(),
        labels: HashMap::from([(SANDBOX_LABEL.to_string(), sb.id.to_string())]),
        env,
        user: format!("{SANDBOX_UID}:{SANDBOX_GID}"),
        entrypoint: vec![INIT_PATH.to_string()],
        working_dir: HOME.to_string(),
        mounts: vec![
            BindMount {
                host: workspace.display().to_string(),
                target: HOME.to_string(),
                read_only: false,
            },
            BindMount {
                host: init_binary.display().to_string(),
                target: INIT_PATH.to_string(),
                read_only: true,
            },
        ],
        // Owned by the sandbox user: Docker copies the image's directory mode onto a tmpfs
        // (so `mode=` alone does not make an image's root-owned /run writable).
        tmpfs: vec![
            ("/tmp".into(), tmpfs_opts(r.tmp_mb, "1777")),
            ("/var/tmp".into(), tmpfs_opts(128, "1777")),
            ("/run".into(), tmpfs_opts(16, "1777")),
            // Our init's own state (the start command's process group).
            ("/run/sandboxd".into(), tmpfs_opts(1, "700")),
        ],
        limits: Limits {
            memory_bytes: (r.memory_mb as i64) * 1024 * 1024,
            nano_cpus: (r.cpus * 1e9) as i64,
            pids: r.pids as i64,
            nofile: r.nofile.min(nofile) as i64,
        },
        stop_timeout_s: 10,
    }
}

fn tmpfs_opts(size_mb: u64, mode: &str) -> String {
    format!("rw,nosuid,nodev,size={size_mb}m,uid={SANDBOX_UID},gid={SANDBOX_GID},mode={mode}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_installations_apart() {
        let id = SandboxId::parse_new("abc").unwrap();
        assert_eq!(name("default", &id), "s-abc");
        assert_eq!(name("t1", &id), "s-abc_t1");
    }
}
