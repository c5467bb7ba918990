//! `sandboxd uninstall`: remove what one installation put on the Docker engine and the host —
//! every container labelled with its instance, its network and that network's host-guard rules —
//! and, only when asked, what sandboxd keeps in its data dir (the database and every workspace).
//! Rule: it acts only on a data dir that is sandboxd's and this installation's, never beside a
//! sandboxd that owns it (it holds the store's owner lock throughout), and it deletes only
//! sandboxd's own entries there, the state last, after everything that points into it.

use anyhow::{bail, Context, Result};
use sandboxd_engine::EngineConfig;
use sandboxd_runtime::docker::DockerOptions;
use sandboxd_runtime::{DockerRuntime, Installation, Ownership, Runtime};
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

/// Remove the installation. Refuses unless `data_dir` is a sandboxd data dir (it has a
/// database) of this installation (its instance marker, when it has one, names it), and while a
/// sandboxd owns it.
pub async fn run(u: &Uninstall) -> Result<Removed> {
    crate::serve::check_instance(&u.instance)?;
    let dir = std::fs::canonicalize(&u.data_dir)
        .with_context(|| format!("no sandboxd data dir at {}", u.data_dir.display()))?;
    let db = EngineConfig::db_path_in(&dir);
    if !db.exists() {
        bail!(
            "{} is not a sandboxd data dir (no {}); refusing to touch it",
            dir.display(),
            db.display()
        );
    }
    match std::fs::read_to_string(EngineConfig::instance_marker_in(&dir)) {
        Ok(name) if name.trim() != u.instance => bail!(
            "{} belongs to installation {:?}, not {:?}",
            dir.display(),
            name.trim(),
            u.instance
        ),
        // A data dir from before the marker existed: the lock below still proves it is idle.
        _ => {}
    }
    let _owner = OwnerLock::acquire(&db)
        .with_context(|| format!("stop the sandboxd using {} first", dir.display()))?;
    let installation = recorded_installation(&dir)?;
    let containers = remove_from_engine(&u.instance, Whose::DataDir(installation)).await?;
    // The containers are gone: nothing holds the workspaces' mounts any more.
    let workspaces = crate::workspaces::recorded(&dir);
    crate::workspaces::unmount_all(&dir)?;
    let data_dir = u.purge_data && purge(&dir, &workspaces)?;
    Ok(Removed {
        containers,
        data_dir,
    })
}

/// Delete what sandboxd keeps in `dir` — workspaces and binaries first, the state (database and
/// lock) and the generated admin token last — then `dir` itself if nothing else is in it. Returns whether `dir` is gone.
/// `remove_dir_all` never follows symlinks, so nothing outside `dir` is touched.
fn purge(dir: &Path, workspaces: &Path) -> Result<bool> {
    if !workspaces.starts_with(dir) {
        purge_workspaces(workspaces)?;
    }
    for sub in ["workspaces", "bin", "state"] {
        let path = dir.join(sub);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
        }
    }
    let token = crate::admin_token::path_in(dir);
    match std::fs::remove_file(&token) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("deleting {}", token.display())),
    }
    Ok(std::fs::remove_dir(dir).is_ok())
}

/// Whose objects [`remove_from_engine`] may remove.
#[derive(Debug, Clone)]
pub enum Whose {
    /// Every object of the instance, whichever installation made it (test clean-up).
    Any,
    /// Those of this data dir's installation (`None`: a data dir from before installation ids).
    DataDir(Option<Installation>),
}

/// The installation id `dir` recorded at its first start (`None` for a data dir from before
/// installation ids: it never minted one).
fn recorded_installation(dir: &Path) -> Result<Option<Installation>> {
    let path = EngineConfig::db_path_in(dir).with_file_name("installation");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(Some(Installation {
            id: id.trim().to_string(),
            data_dir: dir.to_path_buf(),
            established: true,
        })),
        Ok(_) => bail!(
            "{} is empty; refusing to guess whose installation this is",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Empty a workspaces dir outside the data dir (`--workspaces-dir`; unmounted already): every
/// workspace and image in it, then the dir itself unless it cannot go (a mount point). Only a
/// dir sandboxd marked as its own (see [`crate::workspaces::OWN_MARKER`]) is touched.
fn purge_workspaces(root: &Path) -> Result<()> {
    if !root.join(crate::workspaces::OWN_MARKER).is_file() {
        eprintln!(
            "sandboxd: {} is not marked as sandboxd's workspaces dir; left as it is",
            root.display()
        );
        return Ok(());
    }
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let removed = if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("deleting {}", path.display()))?;
    }
    let _ = std::fs::remove_dir(root);
    Ok(())
}

/// Remove every container of `instance` (running or not), one at a time and each stopped before
/// it is removed, then its network and host-guard rules. Returns the removed containers' names.
/// Callers make sure nothing creates containers of `instance` meanwhile (no sandboxd serves it).
///
/// For a data dir's installation, only its own (and unlabelled, pre-id) objects are touched, and
/// an instance whose network names another installation is refused before anything is removed;
/// a data dir without an id (from before ids) refuses a network that carries one.
pub async fn remove_from_engine(instance: &str, whose: Whose) -> Result<Vec<String>> {
    let (installation, check) = match whose {
        Whose::Any => (None, false),
        Whose::DataDir(i) => (i, true),
    };
    let labelled = installation.is_some();
    let rt = DockerRuntime::connect(DockerOptions {
        instance: instance.to_string(),
        host_guard: true,
        data_dir: None,
        workspaces_dir: None,
        installation,
    })
    .await
    .context("connecting to the Docker engine")?;
    match rt.network_owner().await? {
        _ if !check => {}
        None | Some(Ownership::Unlabelled) | Some(Ownership::Ours) => {}
        Some(Ownership::Foreign { id, data_dir }) => bail!(
            "instance {instance:?} on this engine belongs to installation {id} (data dir {}), \
             not to this data dir's{}; nothing was removed — run uninstall with that data dir",
            data_dir.as_deref().unwrap_or("unknown"),
            if labelled {
                ""
            } else {
                " (it has no installation id)"
            }
        ),
    }
    let mut removed = Vec::new();
    // A container whose create was in flight when its sandboxd stopped can appear late: list
    // again until a pass finds nothing (bounded).
    for _pass in 0..3 {
        let found = rt.list().await?;
        if found.is_empty() {
            rt.remove_network().await.context("removing the network")?;
            return Ok(removed);
        }
        for c in found {
            rt.remove(&c.name)
                .await
                .with_context(|| format!("removing container {}", c.name))?;
            removed.push(c.name);
        }
    }
    let names: Vec<_> = rt.list().await?.into_iter().map(|c| c.name).collect();
    bail!("containers keep appearing while uninstalling (is a sandboxd still serving {instance}?): {names:?}")
}
