//! The installation's sandbox network: a bridge with inter-container traffic disabled, so
//! sandboxes cannot reach each other while the host can reach every one of them. Its bridge has a
//! fixed name so the host guard can match it.

use super::{firewall, map_err, DockerRuntime, INSTANCE_LABEL};
use crate::{NetworkInfo, RuntimeError};
use bollard::network::{CreateNetworkOptions, InspectNetworkOptions};
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
        return guard(rt, info);
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
    guard(rt, info)
}

fn guard(rt: &DockerRuntime, mut info: NetworkInfo) -> Result<NetworkInfo, RuntimeError> {
    if rt.host_guard {
        firewall::install(&rt.bridge).map_err(RuntimeError::Other)?;
        info.host_guard = true;
    }
    Ok(info)
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
    }))
}

pub(super) async fn remove(rt: &DockerRuntime) -> Result<(), RuntimeError> {
    let guard = if rt.host_guard {
        firewall::uninstall(&rt.bridge).map_err(RuntimeError::Other)
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
