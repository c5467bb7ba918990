//! Container create/start/stop/remove/inspect/list/events. Creation always applies the hardening
//! baseline (no capabilities, no-new-privileges, read-only root, bounded logs); a spec can only
//! add limits, never remove these.

use super::{map_err, DockerRuntime, INSTANCE_LABEL};
use crate::{ContainerInfo, ContainerSpec, ContainerSummary, RuntimeError, RuntimeEvent};
use bollard::container::{
    Config, CreateContainerOptions, DownloadFromContainerOptions, InspectContainerOptions,
    ListContainersOptions, StopContainerOptions,
};
use bollard::models::{HostConfig, HostConfigLogConfig, Mount, MountTypeEnum, ResourcesUlimits};
use bollard::system::EventsOptions;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::time::Duration;

/// The Engine API config for a spec: the hardening baseline plus the spec's limits, mounts and
/// labels (and `extra_labels`), attached to `network`. Public so a baseline measured against the
/// raw engine uses exactly what sandboxd sends.
pub fn container_config(
    spec: &ContainerSpec,
    network: &str,
    extra_labels: &[(&str, &str)],
) -> Config<String> {
    let mut labels = spec.labels.clone();
    for (k, v) in extra_labels {
        labels.insert(k.to_string(), v.to_string());
    }
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
        tmpfs: Some(spec.tmpfs.iter().cloned().collect()),
        mounts: Some(
            spec.mounts
                .iter()
                .map(|m| Mount {
                    target: Some(m.target.clone()),
                    source: Some(m.host.clone()),
                    typ: Some(MountTypeEnum::BIND),
                    read_only: Some(m.read_only),
                    ..Default::default()
                })
                .collect(),
        ),
        network_mode: Some(network.to_string()),
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
        user: Some(spec.user.clone()),
        env: Some(spec.env.clone()),
        entrypoint: Some(spec.entrypoint.clone()),
        cmd: Some(Vec::new()),
        working_dir: Some(spec.working_dir.clone()),
        labels: Some(labels),
        stop_timeout: Some(spec.stop_timeout_s),
        host_config: Some(host_config),
        ..Default::default()
    }
}

pub(super) async fn create(
    rt: &DockerRuntime,
    spec: &ContainerSpec,
) -> Result<String, RuntimeError> {
    let config = container_config(spec, &rt.network, &[(INSTANCE_LABEL, &rt.instance)]);
    let opts = CreateContainerOptions {
        name: spec.name.clone(),
        platform: None,
    };
    let resp = rt
        .docker
        .create_container(Some(opts), config)
        .await
        .map_err(map_err)?;
    Ok(resp.id)
}

pub(super) async fn start(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    match rt.docker.start_container::<String>(name, None).await {
        Ok(()) => Ok(()),
        // 304: already running.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}

pub(super) async fn stop(
    rt: &DockerRuntime,
    name: &str,
    grace: Duration,
) -> Result<(), RuntimeError> {
    let opts = StopContainerOptions {
        t: grace.as_secs().max(1) as i64,
    };
    match rt.docker.stop_container(name, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}

pub(super) async fn remove(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    super::teardown::stop_and_remove(&rt.docker, &rt.removals, name).await
}

pub(super) async fn inspect(
    rt: &DockerRuntime,
    name: &str,
) -> Result<Option<ContainerInfo>, RuntimeError> {
    let resp = match rt
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .map_err(map_err)
    {
        Ok(r) => r,
        Err(RuntimeError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let state = resp.state.unwrap_or_default();
    let config = resp.config.unwrap_or_default();
    let ip = resp
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|mut nets| nets.remove(&rt.network))
        .and_then(|ep| ep.ip_address)
        .and_then(|ip| ip.parse().ok());
    Ok(Some(ContainerInfo {
        id: resp.id.unwrap_or_default(),
        name: resp
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        running: state.running.unwrap_or(false),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error,
        ip,
        image: config.image.unwrap_or_default(),
        labels: config.labels.unwrap_or_default(),
    }))
}

fn label_filter(rt: &DockerRuntime) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{INSTANCE_LABEL}={}", rt.instance)],
    )])
}

pub(super) async fn list(rt: &DockerRuntime) -> Result<Vec<ContainerSummary>, RuntimeError> {
    let opts = ListContainersOptions {
        all: true,
        filters: label_filter(rt),
        ..Default::default()
    };
    let items = rt
        .docker
        .list_containers(Some(opts))
        .await
        .map_err(map_err)?;
    Ok(items
        .into_iter()
        .map(|c| ContainerSummary {
            id: c.id.unwrap_or_default(),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            running: c.state.as_deref() == Some("running"),
            labels: c.labels.unwrap_or_default(),
        })
        .collect())
}

pub(super) fn events(rt: &DockerRuntime) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
    let mut filters = label_filter(rt);
    filters.insert("type".into(), vec!["container".into()]);
    let opts = EventsOptions::<String> {
        filters,
        ..Default::default()
    };
    rt.docker
        .events(Some(opts))
        .map_err(map_err)
        .map_ok(|ev| {
            let actor = ev.actor.unwrap_or_default();
            let labels = actor.attributes.unwrap_or_default();
            RuntimeEvent {
                container: labels.get("name").cloned().unwrap_or_default(),
                action: ev.action.unwrap_or_default(),
                labels,
            }
        })
        .boxed()
}

/// Read a directory out of a (created) container as a tar archive; `None` when it is absent.
pub(super) async fn read_dir_tar(
    rt: &DockerRuntime,
    name: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, RuntimeError> {
    let opts = DownloadFromContainerOptions { path };
    let mut stream = rt.docker.download_from_container(name, Some(opts));
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk.map_err(map_err) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(RuntimeError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
        if out.len() > 256 * 1024 * 1024 {
            return Err(RuntimeError::Other(format!(
                "{path} in the image is over 256 MiB"
            )));
        }
    }
    Ok(Some(out))
}
