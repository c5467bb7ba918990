//! `sandboxd uninstall`: remove what one installation put on the Docker engine and the host —
//! every container labelled with its instance, its network and that network's host-guard rules —
//! and, only when asked, its data dir (the database and every workspace). Rule: it never runs
//! beside a sandboxd that owns the data dir (it holds the store's owner lock throughout), and the
//! data dir goes last, after everything that points into it.

use anyhow::{bail, Context, Result};
use sandboxd_engine::EngineConfig;
use sandboxd_runtime::docker::DockerOptions;
use sandboxd_runtime::{DockerRuntime, Runtime};
use sandboxd_store::OwnerLock;
use std::path::{Path, PathBuf};

/// What to remove.
#[derive(Debug, Clone)]
pub struct Uninstall {
    pub instance: String,
    pub data_dir: PathBuf,
    /// Also delete the data dir (the database and every workspace).
    pub purge_data: bool,
}

/// What was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub data_dir: bool,
}

/// Remove the installation; refuses while a sandboxd uses the data dir.
pub async fn run(u: &Uninstall) -> Result<Removed> {
    crate::serve::check_instance(&u.instance)?;
    let db = EngineConfig::db_path_in(&u.data_dir);
    // A data dir that was never used has no state dir, and nothing can be running on it.
    let _owner =
        match db.parent().is_some_and(Path::exists) {
            true => Some(OwnerLock::acquire(&db).with_context(|| {
                format!("stop the sandboxd using {} first", u.data_dir.display())
            })?),
            false => None,
        };
    let containers = remove_from_engine(&u.instance).await?;
    let data_dir = u.purge_data && u.data_dir.exists();
    if data_dir {
        // Workspaces belong to uid 1000 and may hold anything; remove_dir_all never follows
        // symlinks, so nothing outside the data dir is touched.
        std::fs::remove_dir_all(&u.data_dir)
            .with_context(|| format!("deleting {}", u.data_dir.display()))?;
    }
    Ok(Removed {
        containers,
        data_dir,
    })
}

/// Remove every container of `instance` (running or not), then its network and host-guard
/// rules. Returns the removed containers' names.
pub async fn remove_from_engine(instance: &str) -> Result<Vec<String>> {
    let rt = DockerRuntime::connect(DockerOptions {
        instance: instance.to_string(),
        host_guard: true,
    })
    .await
    .context("connecting to the Docker engine")?;
    let mut removed = Vec::new();
    for c in rt.list().await? {
        rt.remove(&c.name)
            .await
            .with_context(|| format!("removing container {}", c.name))?;
        removed.push(c.name);
    }
    rt.remove_network().await.context("removing the network")?;
    let left = rt.list().await?;
    if !left.is_empty() {
        let names: Vec<_> = left.into_iter().map(|c| c.name).collect();
        bail!("containers appeared while uninstalling: {names:?}");
    }
    Ok(removed)
}
