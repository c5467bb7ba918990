//! The installation check on Docker: the instance's network names its owner (labels from
//! [`crate::Installation`]). At start-up a network of another installation is refused; an
//! unlabelled one (made before installation ids) is adopted only by a data dir that served the
//! instance before, and relabelled (removed, then recreated by the caller) when no container of
//! the instance exists, since Docker cannot change a network's labels in place. Containers of
//! another installation are invisible to `list` and `events`.

use super::{map_err, DockerRuntime};
use crate::{Installation, Ownership, RuntimeError};
use bollard::network::InspectNetworkOptions;
use std::collections::HashMap;

/// Check who owns the instance's network before using it. Returns `Ok` when it is absent, ours,
/// or an unlabelled one we adopt (removed when it can be relabelled).
pub(super) async fn claim(rt: &DockerRuntime) -> Result<(), RuntimeError> {
    let Some(me) = &rt.installation else {
        return Ok(());
    };
    let labels = match rt
        .docker
        .inspect_network(&rt.network, None::<InspectNetworkOptions<String>>)
        .await
        .map_err(map_err)
    {
        Ok(n) => n.labels,
        Err(RuntimeError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    match me.ownership(labels.as_ref()) {
        Ownership::Ours => Ok(()),
        owner @ Ownership::Foreign { .. } => {
            Err(RuntimeError::Conflict(me.refusal(&rt.instance, &owner)))
        }
        owner @ Ownership::Unlabelled if !me.established => {
            Err(RuntimeError::Conflict(me.refusal(&rt.instance, &owner)))
        }
        Ownership::Unlabelled => {
            if super::container::list_all(rt).await?.is_empty() {
                tracing::info!(network = %rt.network, "adopting the unlabelled network: recreating it with our installation label");
                super::network::remove(rt).await
            } else {
                tracing::info!(network = %rt.network, "adopting the unlabelled network; it gets our label once no container uses it");
                Ok(())
            }
        }
    }
}

/// Who owns the instance's network, as seen by `me` (`None` when there is no network). Tools
/// that act on an installation from outside a running sandboxd (uninstall) check it first.
pub(super) async fn network_owner(
    rt: &DockerRuntime,
    me: &Installation,
) -> Result<Option<Ownership>, RuntimeError> {
    match rt
        .docker
        .inspect_network(&rt.network, None::<InspectNetworkOptions<String>>)
        .await
        .map_err(map_err)
    {
        Ok(n) => Ok(Some(me.ownership(n.labels.as_ref()))),
        Err(RuntimeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Labels to put on the network and on containers, beside the instance label.
pub(super) fn labels(rt: &DockerRuntime) -> HashMap<String, String> {
    rt.installation
        .as_ref()
        .map(Installation::labels)
        .unwrap_or_default()
}

/// A container labelled with another installation's id: never listed, reconciled or removed.
pub(super) fn is_foreign(
    me: Option<&Installation>,
    labels: Option<&HashMap<String, String>>,
) -> bool {
    match me {
        Some(me) => matches!(me.ownership(labels), Ownership::Foreign { .. }),
        None => false,
    }
}
