//! The installation's sandbox network: a bridge with inter-container traffic disabled, so
//! sandboxes cannot reach each other while the host can reach every one of them. Its bridge has a
//! fixed name so the host guard and the egress chain can match it. [`sync`] checks both against
//! what they should be and puts back what is missing; it runs at start, after every container
//! create and removal, and on every reconcile sweep (through `ensure_network`).

use super::firewall::{self, egress};
use super::{map_err, DockerRuntime, EGRESS_LABEL, INSTANCE_LABEL};
use crate::{NetworkInfo, RuntimeError};
use bollard::container::ListContainersOptions;
use bollard::network::{CreateNetworkOptions, InspectNetworkOptions, ListNetworksOptions};
use sandboxd_core::Egress;
use std::collections::HashMap;

/// Linux interface names hold at most 15 bytes: `sbx-` plus a hash of the instance name.
pub(super) fn bridge_name(instance: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in instance.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("sbx-{:010x}", h & 0xff_ffff_ffff)
}

pub(super) async fn ensure(rt: &DockerRuntime) -> Result<NetworkInfo, RuntimeError> {
    super::owner::claim(rt).await?;
    if let Some(info) = inspect(rt).await? {
        return guard(rt, info).await;
    }
    let opts = CreateNetworkOptions {
        name: rt.network.clone(),
        check_duplicate: true,
        driver: "bridge".to_string(),
        internal: false,
        attachable: false,
        ingress: false,
        enable_ipv6: false,
        options: HashMap::from([
            (
                "com.docker.network.bridge.enable_icc".to_string(),
                "false".to_string(),
            ),
            (
                "com.docker.network.bridge.name".to_string(),
                rt.bridge.clone(),
            ),
        ]),
        labels: {
            let mut labels = super::owner::labels(rt);
            labels.insert(INSTANCE_LABEL.to_string(), rt.instance.clone());
            labels
        },
        ..Default::default()
    };
    match rt.docker.create_network(opts).await.map_err(map_err) {
        Ok(_) | Err(RuntimeError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    let info = inspect(rt).await?.ok_or_else(|| {
        RuntimeError::Other(format!("network {} vanished after create", rt.network))
    })?;
    guard(rt, info).await
}

async fn guard(rt: &DockerRuntime, mut info: NetworkInfo) -> Result<NetworkInfo, RuntimeError> {
    if rt.host_guard {
        info.repaired = sync(rt).await?;
        info.host_guard = true;
    }
    Ok(info)
}

/// Check the host guard and the egress chain against what they should be now (this
/// installation's containers and their policies, the other Docker networks, the host's
/// resolvers) and rewrite what differs. Returns what was missing or out of date. Serialized: a
/// create's sync after its container exists always sees it.
pub(super) async fn sync(rt: &DockerRuntime) -> Result<Vec<String>, RuntimeError> {
    if !rt.host_guard {
        return Ok(Vec::new());
    }
    let _g = rt.firewall.lock().await;
    let desired = desired(rt).await?;
    let bridge = rt.bridge.clone();
    let denied_before = rt.denied_before.clone();
    let fixed = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let mut fixed = Vec::new();
        if !firewall::intact(&bridge)? {
            firewall::install(&bridge)?;
            fixed.push("host guard".to_string());
        }
        let rules = egress::rules(&desired);
        if !egress::intact(&bridge, &rules)? {
            let counted = egress::denied(&bridge).unwrap_or(0);
            denied_before.fetch_add(counted, std::sync::atomic::Ordering::Relaxed);
            egress::install(&bridge, &rules)?;
            fixed.push("egress rules".to_string());
        }
        Ok(fixed)
    })
    .await
    .map_err(|e| RuntimeError::Other(format!("firewall task failed: {e}")))?;
    fixed.map_err(RuntimeError::Other)
}

/// Denied egress packets since this runtime started: what the chain counts now plus what the
/// chains it replaced had counted.
pub(super) async fn egress_denied(rt: &DockerRuntime) -> Result<u64, RuntimeError> {
    if !rt.host_guard {
        return Ok(0);
    }
    let _g = rt.firewall.lock().await;
    let bridge = rt.bridge.clone();
    let now = tokio::task::spawn_blocking(move || egress::denied(&bridge))
        .await
        .map_err(|e| RuntimeError::Other(format!("firewall task failed: {e}")))?
        .map_err(RuntimeError::Other)?;
    Ok(now + rt.denied_before.load(std::sync::atomic::Ordering::Relaxed))
}

async fn desired(rt: &DockerRuntime) -> Result<egress::Desired, RuntimeError> {
    let networks = rt
        .docker
        .list_networks(None::<ListNetworksOptions<String>>)
        .await
        .map_err(map_err)?;
    let mut other_subnets: Vec<String> = networks
        .into_iter()
        .filter(|n| n.name.as_deref() != Some(rt.network.as_str()))
        .filter_map(|n| n.ipam.and_then(|i| i.config))
        .flatten()
        .filter_map(|c| c.subnet)
        .filter(|s| s.parse::<Ipv4Net>().is_ok())
        .collect();
    other_subnets.sort();
    other_subnets.dedup();
    let opts = ListContainersOptions {
        all: true,
        filters: super::container::label_filter(rt),
        ..Default::default()
    };
    let containers = rt
        .docker
        .list_containers(Some(opts))
        .await
        .map_err(map_err)?;
    let mut sandboxes: Vec<egress::SandboxRule> = containers
        .into_iter()
        .filter_map(|c| {
            let name = c.names?.into_iter().next()?;
            let policy = c
                .labels
                .as_ref()
                .and_then(|l| l.get(EGRESS_LABEL))
                .map(|v| Egress::parse(v).unwrap_or(Egress::None))
                .unwrap_or(Egress::Open);
            Some(egress::SandboxRule {
                mac: egress::mac_for(name.trim_start_matches('/')),
                egress: policy,
            })
        })
        .collect();
    let names: std::collections::BTreeSet<String> = sandboxes
        .iter()
        .flat_map(|s| s.egress.domains().map(str::to_string))
        .collect();
    if !names.is_empty() {
        let resolved = firewall::names::resolve_all(names).await;
        for s in &mut sandboxes {
            s.egress = firewall::names::expand(std::mem::take(&mut s.egress), &resolved);
        }
    }
    sandboxes.sort_by(|a, b| a.mac.cmp(&b.mac));
    let resolvers = std::fs::read_to_string("/etc/resolv.conf")
        .map(|t| egress::resolvers(&t))
        .unwrap_or_default();
    Ok(egress::Desired {
        other_subnets,
        resolvers,
        sandboxes,
    })
}

/// An IPv4 subnet in CIDR notation (only parsed to tell IPv4 from IPv6 subnets).
struct Ipv4Net;

impl std::str::FromStr for Ipv4Net {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, len) = s.split_once('/').ok_or(())?;
        addr.parse::<std::net::Ipv4Addr>().map_err(|_| ())?;
        match len.parse::<u8>() {
            Ok(0..=32) => Ok(Ipv4Net),
            _ => Err(()),
        }
    }
}

async fn inspect(rt: &DockerRuntime) -> Result<Option<NetworkInfo>, RuntimeError> {
    let resp = match rt
        .docker
        .inspect_network(&rt.network, None::<InspectNetworkOptions<String>>)
        .await
        .map_err(map_err)
    {
        Ok(r) => r,
        Err(RuntimeError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let gateway = resp
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().find_map(|c| c.gateway))
        .and_then(|g| g.parse().ok());
    Ok(Some(NetworkInfo {
        name: rt.network.clone(),
        id: resp.id.unwrap_or_default(),
        gateway,
        host_guard: false,
        repaired: Vec::new(),
    }))
}

pub(super) async fn remove(rt: &DockerRuntime) -> Result<(), RuntimeError> {
    let guard = if rt.host_guard {
        firewall::uninstall(&rt.bridge)
            .and_then(|()| egress::uninstall(&rt.bridge))
            .map_err(RuntimeError::Other)
    } else {
        Ok(())
    };
    super::teardown::remove_network(&rt.docker, &rt.network).await?;
    guard
}

#[cfg(test)]
mod tests {
    #[test]
    fn bridge_names_fit_linux_limits_and_are_stable() {
        let a = super::bridge_name("default");
        assert_eq!(a.len(), 14);
        assert_eq!(a, super::bridge_name("default"));
        assert_ne!(a, super::bridge_name("test-1"));
    }
}
