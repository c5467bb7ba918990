//! How a sandbox record becomes a container spec: name, identity, home, our binaries, scratch
//! filesystems, limits, environment. The same record always yields the same spec, so a container
//! can be recreated at any time. The spec says what the sandbox is; the runtime decides how.

use sandboxd_core::{Sandbox, SandboxId};
use sandboxd_runtime::{ContainerSpec, Identity, Limits, OurBinary, Scratch, INIT_PATH};

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

pub fn spec(instance: &str, sb: &Sandbox, nofile: u64, stop_grace_ms: u64) -> ContainerSpec {
    let mut env: Vec<String> = sb.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.push(format!("HOME={HOME}"));
    env.push("USER=sandbox".into());
    env.push(format!("SANDBOX_ID={}", sb.id));
    env.push(format!("SANDBOXD_STOP_GRACE_MS={stop_grace_ms}"));
    if let Some(start) = &sb.start {
        env.push(format!("SANDBOXD_START={start}"));
    }
    let r = &sb.resources;
    let scratch = |path, size_mb, mode| Scratch {
        path,
        size_mb,
        mode,
        owner: Identity::SANDBOX,
    };
    ContainerSpec {
        name: name(instance, &sb.id),
        sandbox: sb.id.clone(),
        hostname: sb.id.to_string(),
        image: sb.image.clone(),
        env,
        identity: Identity::SANDBOX,
        entrypoint: vec![INIT_PATH.to_string()],
        working_dir: HOME.to_string(),
        home: HOME.to_string(),
        binaries: vec![OurBinary::Init],
        scratch: vec![
            scratch("/tmp", r.tmp_mb, 0o1777),
            scratch("/var/tmp", 128, 0o1777),
            scratch("/run", 16, 0o1777),
            // Our init's own state (the start command's process group).
            scratch("/run/sandboxd", 1, 0o700),
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
