//! The host reaches a started sandbox at its own MAC. Rule: after every start, the host's
//! neighbour (ARP) entry for the container's IP on our bridge is dropped, so the next packet
//! resolves it afresh.
//!
//! Why: Docker hands a freed IP to the next container on the network, while each of our
//! containers has a MAC of its own (derived from its name, for the egress chain). While another
//! sandbox keeps the bridge up, the host's entry for a reused IP still names the previous
//! container's MAC and stays "reachable" for up to ~30 s, so every connection to the new
//! container (the agent's readiness probe, the proxy) goes nowhere until the entry expires.
//! Seen as: a create right after another sandbox was removed waits out the wake timeout.

use std::net::IpAddr;
use tokio::process::Command;

/// Drop the host's neighbour entry for `ip` on `bridge`. Best effort: no entry, no `ip` binary
/// or no privilege (a non-root development run) only cost the stale window described above.
pub(super) async fn forget(bridge: &str, ip: IpAddr) {
    let out = Command::new("ip")
        .args(["neigh", "del", &ip.to_string(), "dev", bridge])
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => tracing::debug!(%ip, bridge, "dropped a neighbour entry"),
        // "No such file or directory": nothing cached for this IP, the usual case.
        Ok(o) => tracing::trace!(
            %ip,
            bridge,
            stderr = %String::from_utf8_lossy(&o.stderr).trim(),
            "no neighbour entry dropped"
        ),
        Err(e) => tracing::debug!(error = %e, "ip neigh del could not run"),
    }
}
