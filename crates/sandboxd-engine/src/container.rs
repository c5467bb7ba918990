//! How a sandbox record becomes a container spec: name, identity, home, our binaries, scratch
//! filesystems, limits, environment. The same record always yields the same spec, so a container
//! can be recreated at any time. The spec says what the sandbox is; the runtime decides how.

mod naming;

pub use naming::{name, NameKey};

use sandboxd_core::{AgentToken, Sandbox};
use sandboxd_runtime::{ContainerSpec, Identity, Limits, OurBinary, Scratch, INIT_PATH};

pub const HOME: &str = "/home/sandbox";

/// The spec of a record, for a container called `name` (see [`name`]), whose agent accepts
/// `agent_token` (none: the agent refuses everything but its health check).
pub fn spec(
    name: String,
    sb: &Sandbox,
    nofile: u64,
    stop_grace_ms: u64,
    agent_token: Option<&AgentToken>,
) -> ContainerSpec {
    let mut env: Vec<String> = sb.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    env.push(format!("HOME={HOME}"));
    env.push("USER=sandbox".into());
    env.push(format!("SANDBOX_ID={}", sb.id));
    env.push(format!("SANDBOXD_STOP_GRACE_MS={stop_grace_ms}"));
    if let Some(start) = &sb.start {
        env.push(format!("SANDBOXD_START={start}"));
    }
    if let Some(token) = agent_token {
        // The init removes it from every environment it hands on (see sandboxd-init).
        env.push(format!("SANDBOXD_AGENT_TOKEN={}", token.expose()));
    }
    let r = &sb.resources;
    let scratch = |path, size_mb, mode| Scratch {
        path,
        size_mb,
        mode,
        owner: Identity::SANDBOX,
    };
    ContainerSpec {
        // The engine's DNS answers a container's hostname to every container on the network,
        // so it is the opaque name too, never the id (which `SANDBOX_ID` carries).
        hostname: name.clone(),
        name,
        sandbox: sb.id.clone(),
        image: sb.image.clone(),
        env,
        identity: Identity::SANDBOX,
        entrypoint: vec![INIT_PATH.to_string()],
        working_dir: HOME.to_string(),
        home: HOME.to_string(),
        binaries: OurBinary::ALL.to_vec(),
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
        egress: sb.egress.clone(),
    }
}
