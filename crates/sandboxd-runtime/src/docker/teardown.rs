//! Taking containers and networks apart without racing the engine. Docker 20.10 can keep a stale
//! endpoint count on a network when a running container on it is force-removed while other
//! containers of that network are being created, started or removed; the network then refuses
//! removal ("has active endpoints") until the engine restarts. The rules here avoid that state:
//! a container is stopped (and its endpoint released as it exits) before it is removed, removals
//! on one network happen one at a time, a removal already under way is waited for rather than
//! assumed done, and a network that still refuses after a bounded wait is reported as stuck with
//! what to do, never retried forever.

use super::map_err;
use crate::RuntimeError;
use bollard::container::{RemoveContainerOptions, StopContainerOptions, WaitContainerOptions};
use bollard::network::InspectNetworkOptions;
use bollard::Docker;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a removal waits for the engine (a stop, a removal under way).
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a network that reports active endpoints is retried.
const NETWORK_RETRY_FOR: Duration = Duration::from_secs(10);

/// Stop `name` at once (SIGKILL after no grace), wait until it has exited, then remove it with
/// its anonymous volumes. Holding `serial` keeps removals on one network one at a time. A missing
/// container is not an error.
pub async fn stop_and_remove(
    docker: &Docker,
    serial: &Mutex<()>,
    name: &str,
) -> Result<(), RuntimeError> {
    let _one_at_a_time = serial.lock().await;
    // `stop` returns once the container has exited (its endpoint is released on exit).
    let stop = docker.stop_container(name, Some(StopContainerOptions { t: 0 }));
    match tokio::time::timeout(STEP_TIMEOUT, stop).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => match map_err(e) {
            RuntimeError::NotFound(_) => return Ok(()),
            // 304 (not running) and 409 (removal under way) are handled by the removal below.
            RuntimeError::Engine { status: 304, .. } | RuntimeError::Conflict(_) => {}
            RuntimeError::Engine { message, .. } if message.contains("is not running") => {}
            other => return Err(other),
        },
        Err(_) => {
            tracing::warn!(container = %name, "stop did not finish in time; removing anyway");
        }
    }
    let opts = RemoveContainerOptions {
        // Force only matters if something started it again between the two calls.
        force: true,
        v: true,
        link: false,
    };
    match docker
        .remove_container(name, Some(opts))
        .await
        .map_err(map_err)
    {
        Ok(()) | Err(RuntimeError::NotFound(_)) => Ok(()),
        Err(RuntimeError::Conflict(m)) if m.contains("already in progress") => {
            wait_removed(docker, name).await
        }
        Err(e) => Err(e),
    }
}

/// Wait until an engine-side removal under way has finished.
async fn wait_removed(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    let opts = WaitContainerOptions {
        condition: "removed",
    };
    let mut waits = docker.wait_container(name, Some(opts));
    match tokio::time::timeout(STEP_TIMEOUT, waits.next()).await {
        // Gone (404), or the wait ended (a non-zero exit code arrives as an error too).
        Ok(_) => Ok(()),
        Err(_) => Err(RuntimeError::Other(format!(
            "container {name}: the engine's removal did not finish within {}s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

/// Remove the network `name`. Endpoints of containers removed a moment ago may still be being
/// released, so "active endpoints" is retried for a bounded time; containers still attached are
/// named in the error; a network with no container that keeps refusing is reported as stuck.
pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    let deadline = tokio::time::Instant::now() + NETWORK_RETRY_FOR;
    let mut pause = Duration::from_millis(50);
    loop {
        let message = match docker.remove_network(name).await.map_err(map_err) {
            Ok(()) | Err(RuntimeError::NotFound(_)) => return Ok(()),
            Err(RuntimeError::Engine { message, .. }) | Err(RuntimeError::Conflict(message))
                if message.contains("active endpoints") =>
            {
                message
            }
            Err(e) => return Err(e),
        };
        if tokio::time::Instant::now() >= deadline {
            let attached = attached(docker, name).await;
            return Err(RuntimeError::Other(if attached.is_empty() {
                format!(
                    "network {name} still reports active endpoints ({message}) although no \
                     container is attached: a stale endpoint inside the Docker engine; only \
                     restarting the engine clears it (then run this again)"
                )
            } else {
                format!("network {name} is still used by {attached:?}")
            }));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Names of the containers the engine lists on a network.
async fn attached(docker: &Docker, name: &str) -> Vec<String> {
    match docker
        .inspect_network(name, None::<InspectNetworkOptions<String>>)
        .await
    {
        Ok(n) => n
            .containers
            .unwrap_or_default()
            .into_values()
            .filter_map(|c| c.name)
            .collect(),
        Err(_) => Vec::new(),
    }
}
