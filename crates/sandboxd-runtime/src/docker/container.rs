//! Container create/start/stop/remove/inspect/list. Creation always goes through
//! [`super::container_config`] (the hardening baseline) and labels the container with this
//! installation and its sandbox; inspect translates Docker's state into [`ContainerState`].

use super::{map_err, DockerRuntime, EGRESS_LABEL, INSTANCE_LABEL, SANDBOX_LABEL};
use crate::{ContainerSpec, ContainerState, ContainerSummary, RuntimeError};
use bollard::container::{
    CreateContainerOptions, DownloadFromContainerOptions, InspectContainerOptions,
    ListContainersOptions, StopContainerOptions,
};
use bollard::models::{ContainerState as DockerState, ContainerStateStatusEnum};
use futures_util::stream::StreamExt;
use sandboxd_core::SandboxId;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

pub(super) async fn create(rt: &DockerRuntime, spec: &ContainerSpec) -> Result<(), RuntimeError> {
    let mut labels = super::owner::labels(rt);
    labels.insert(SANDBOX_LABEL.to_string(), spec.sandbox.to_string());
    labels.insert(INSTANCE_LABEL.to_string(), rt.instance.clone());
    labels.insert(EGRESS_LABEL.to_string(), spec.egress.to_text());
    let host = rt.host_paths(&spec.sandbox)?;
    let config = super::container_config(spec, &host, &rt.network, labels);
    let opts = CreateContainerOptions {
        name: spec.name.clone(),
        platform: None,
    };
    rt.docker
        .create_container(Some(opts), config)
        .await
        .map_err(map_err)?;
    // Its egress rules exist before it first runs.
    super::network::sync(rt).await?;
    Ok(())
}

pub(super) async fn start(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    match rt.docker.start_container::<String>(name, None).await {
        Ok(()) => {
            // Its IP may be a removed container's, still cached at that one's MAC.
            if let Ok(ContainerState::Running { addr: Some(ip) }) = inspect(rt, name).await {
                super::neighbor::forget(&rt.bridge, ip).await;
            }
            Ok(())
        }
        // 304: already running.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}

/// Stop with `grace` before the kill. A paused container is thawed first: a frozen process
/// cannot act on SIGTERM, so the grace would be spent waiting for nothing (and whether the
/// engine thaws it itself depends on its version and the stop signal).
pub(super) async fn stop(
    rt: &DockerRuntime,
    name: &str,
    grace: Duration,
) -> Result<(), RuntimeError> {
    match unpause(rt, name).await {
        // Not running (409 "is not running"): the stop below says what that means.
        Ok(()) | Err(RuntimeError::Conflict(_)) | Err(RuntimeError::Engine { .. }) => {}
        Err(e) => return Err(e),
    }
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

/// Freeze (Docker's pause: the cgroup freezer). Already paused is success.
pub(super) async fn pause(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    match rt.docker.pause_container(name).await.map_err(map_err) {
        Err(e) if engine_says(&e, "already paused") => Ok(()),
        other => other,
    }
}

/// Thaw. A container that is not paused is success (it may still be stopped: callers inspect).
pub(super) async fn unpause(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    match rt.docker.unpause_container(name).await.map_err(map_err) {
        Err(e) if engine_says(&e, "is not paused") => Ok(()),
        other => other,
    }
}

/// Whether the engine refused with `words` in its message (Docker 20.10 answers "is not
/// paused" with a 500, later versions with a 409).
fn engine_says(e: &RuntimeError, words: &str) -> bool {
    match e {
        RuntimeError::Conflict(m) | RuntimeError::Engine { message: m, .. } => m.contains(words),
        _ => false,
    }
}

pub(super) async fn remove(rt: &DockerRuntime, name: &str) -> Result<(), RuntimeError> {
    // Its egress rule (matched by a MAC only this name gets) is dropped by the next sync.
    super::teardown::stop_and_remove(&rt.docker, &rt.removals, name).await
}

pub(super) async fn inspect(
    rt: &DockerRuntime,
    name: &str,
) -> Result<ContainerState, RuntimeError> {
    let resp = match rt
        .docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await
        .map_err(map_err)
    {
        Ok(r) => r,
        Err(RuntimeError::NotFound(_)) => return Ok(ContainerState::Absent),
        Err(e) => return Err(e),
    };
    let addr = resp
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|mut nets| nets.remove(&rt.network))
        .and_then(|ep| ep.ip_address)
        .and_then(|ip| ip.parse().ok());
    Ok(state_of(resp.state.unwrap_or_default(), addr))
}

/// Docker's state in our words. A paused container is `Paused` (Docker also reports
/// `running: true` for it); a running or restarting one runs; `dead` (a failed removal) counts
/// as exited.
fn state_of(state: DockerState, addr: Option<IpAddr>) -> ContainerState {
    use ContainerStateStatusEnum as S;
    if state.paused.unwrap_or(false) || state.status == Some(S::PAUSED) {
        return ContainerState::Paused { addr };
    }
    if state.running.unwrap_or(false) {
        return ContainerState::Running { addr };
    }
    match state.status {
        Some(S::RUNNING | S::RESTARTING) => ContainerState::Running { addr },
        Some(S::CREATED) => ContainerState::Created,
        Some(S::REMOVING) => ContainerState::Removing,
        _ => ContainerState::Exited {
            code: state.exit_code,
            oom: state.oom_killed.unwrap_or(false),
            error: state.error,
        },
    }
}

pub(super) fn label_filter(rt: &DockerRuntime) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{INSTANCE_LABEL}={}", rt.instance)],
    )])
}

/// Every container with the instance label, whoever's installation it is.
pub(super) async fn list_all(
    rt: &DockerRuntime,
) -> Result<Vec<bollard::models::ContainerSummary>, RuntimeError> {
    let opts = ListContainersOptions {
        all: true,
        filters: label_filter(rt),
        ..Default::default()
    };
    rt.docker.list_containers(Some(opts)).await.map_err(map_err)
}

pub(super) async fn list(rt: &DockerRuntime) -> Result<Vec<ContainerSummary>, RuntimeError> {
    let items = list_all(rt).await?;
    Ok(items
        .into_iter()
        .filter(|c| !super::owner::is_foreign(rt.installation.as_ref(), c.labels.as_ref()))
        .map(|c| ContainerSummary {
            sandbox: sandbox_of(c.labels.as_ref()),
            name: c
                .names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
        })
        .collect())
}

/// The sandbox a container's labels name, when they name a valid one.
pub(super) fn sandbox_of(labels: Option<&HashMap<String, String>>) -> Option<SandboxId> {
    labels?
        .get(SANDBOX_LABEL)
        .and_then(|v| SandboxId::parse_lookup(v).ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(status: ContainerStateStatusEnum, running: bool) -> DockerState {
        DockerState {
            status: Some(status),
            running: Some(running),
            exit_code: Some(137),
            oom_killed: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn docker_states_map_to_ours() {
        use ContainerStateStatusEnum as S;
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(
            state_of(docker(S::RUNNING, true), Some(ip)),
            ContainerState::Running { addr: Some(ip) }
        );
        let paused = state_of(docker(S::PAUSED, true), Some(ip));
        assert_eq!(paused, ContainerState::Paused { addr: Some(ip) });
        assert!(
            !paused.is_running(),
            "traffic must not go to a frozen container"
        );
        assert_eq!(paused.addr(), None);
        assert_eq!(
            state_of(docker(S::CREATED, false), None),
            ContainerState::Created
        );
        assert_eq!(
            state_of(docker(S::REMOVING, false), None),
            ContainerState::Removing
        );
        let exited = state_of(docker(S::EXITED, false), None);
        assert_eq!(
            exited,
            ContainerState::Exited {
                code: Some(137),
                oom: true,
                error: None
            }
        );
        assert_eq!(
            exited.exit_reason(),
            "container exited with exit code 137 (killed: out of memory)"
        );
        assert!(matches!(
            state_of(docker(S::DEAD, false), None),
            ContainerState::Exited { .. }
        ));
    }
}
