//! Workspaces on the Docker host: `<workspaces-dir>/<id>` (default `<data>/workspaces`),
//! bind-mounted at the sandbox's home, owned by the sandbox user (uid 1000). A workspace is
//! created and seeded once, survives stop, restart, reboot and DELETE, and is removed only by
//! purge. A size-limited one is an image loop-mounted at that directory ([`disk`]): mounted
//! before every container start (a reboot loses the mount, not the image), unmounted on delete
//! and purge after the container is gone. Seeding never follows links out of the workspace.
//! All disk work runs on the blocking pool.

mod disk;

use super::{blocking, container, DockerRuntime};
use crate::{DiskUsage, Identity, RuntimeError, Seed, WorkspaceState, SKELETON_DIR};
use sandboxd_core::SandboxId;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use disk::{image_path, probe};

/// Attempts at unmounting a busy workspace before detaching it lazily.
const UNMOUNT_ATTEMPTS: u32 = 6;

const SANDBOX_UID: u32 = Identity::SANDBOX.uid;
const SANDBOX_GID: u32 = Identity::SANDBOX.gid;

pub(super) fn path(root: &Path, id: &SandboxId) -> PathBuf {
    root.join(id.as_str())
}

pub(super) async fn ensure(
    rt: &DockerRuntime,
    id: &SandboxId,
    disk_mb: Option<u64>,
) -> Result<WorkspaceState, RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    let what = format!("workspace {}", dir.display());
    let fresh = blocking(what, move || ensure_dir(&dir, disk_mb)).await?;
    Ok(if fresh {
        WorkspaceState::Fresh
    } else {
        WorkspaceState::Existing
    })
}

/// Mount a size-limited workspace that is not mounted (plain ones need nothing).
pub(super) async fn mount(rt: &DockerRuntime, id: &SandboxId) -> Result<(), RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    let what = format!("mounting workspace {}", dir.display());
    blocking(what, move || {
        if disk::has_image(&dir) {
            disk::mount_if_needed(&dir)?;
        }
        Ok(())
    })
    .await
}

/// Unmount a size-limited workspace (its image stays).
pub(super) async fn release(rt: &DockerRuntime, id: &SandboxId) -> Result<(), RuntimeError> {
    unmount_patiently(path(&rt.storage()?.workspaces, id)).await
}

pub(super) async fn usage(
    rt: &DockerRuntime,
    id: &SandboxId,
) -> Result<Option<DiskUsage>, RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    blocking("reading workspace usage".into(), move || {
        if !disk::has_image(&dir) || !disk::is_mount_point(&dir)? {
            return Ok(None);
        }
        disk::usage(&dir).map(Some)
    })
    .await
}

/// Unmount `dir`, retrying while it is busy (a container being torn down still holds it),
/// then detaching it lazily as the last resort.
pub(crate) async fn unmount_patiently(dir: PathBuf) -> Result<(), RuntimeError> {
    let what = format!("unmounting workspace {}", dir.display());
    let mut delay = Duration::from_millis(50);
    for _ in 0..UNMOUNT_ATTEMPTS {
        let d = dir.clone();
        match blocking(what.clone(), move || {
            Ok(disk::unmount(&d).map_err(|e| e.raw_os_error()))
        })
        .await?
        {
            Ok(()) => return Ok(()),
            Err(Some(libc::EBUSY)) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(code) => {
                return Err(RuntimeError::Storage(format!(
                    "{what}: {}",
                    code.map(io::Error::from_raw_os_error)
                        .map_or_else(|| "failed".to_string(), |e| e.to_string())
                )))
            }
        }
    }
    tracing::warn!(dir = %dir.display(), "workspace still busy; detaching it lazily");
    blocking(what, move || disk::lazy_unmount(&dir)).await
}

pub(super) async fn seed(
    rt: &DockerRuntime,
    id: &SandboxId,
    from: Seed<'_>,
) -> Result<(), RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    let skel = match from {
        Seed::Skeleton { container } => {
            container::read_dir_tar(rt, container, SKELETON_DIR).await?
        }
        Seed::Empty => None,
    };
    blocking("seeding workspace".into(), move || {
        fill(&dir, skel.as_deref())
    })
    .await
}

pub(super) async fn remove(rt: &DockerRuntime, id: &SandboxId) -> Result<(), RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    unmount_patiently(dir.clone()).await?;
    blocking("removing workspace".into(), move || {
        remove_dir(&dir)?;
        match std::fs::remove_file(image_path(&dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    })
    .await
}

/// Unmount every size-limited workspace under `root` (uninstall, test teardown: after their
/// containers are gone), detaching busy ones lazily. Returns how many were mounted. Blocks.
pub fn unmount_all(root: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for entry in entries {
        let img = entry?.path();
        if img.extension().is_none_or(|e| e != "img") {
            continue;
        }
        let dir = img.with_extension("");
        if disk::is_mount_point(&dir)? {
            n += 1;
            if disk::unmount(&dir).is_err() {
                disk::lazy_unmount(&dir)?;
            }
        }
    }
    Ok(n)
}

/// Make the workspace if it is missing (size-limited when `disk_mb`), mount it if it has an
/// image; `Ok(true)` when this call made it.
fn ensure_dir(dir: &Path, disk_mb: Option<u64>) -> io::Result<bool> {
    if disk::has_image(dir) {
        // Kept (or left by a crash right after mkfs): never remade, its files are the user's.
        disk::mount_if_needed(dir)?;
        return Ok(false);
    }
    match disk_mb {
        Some(mb) if std::fs::symlink_metadata(dir).is_err() => disk::create(dir, mb).map(|()| true),
        // A plain directory, new or kept (sandboxes from before quotas stay unlimited).
        _ => create(dir),
    }
}

/// Create the workspace directory; `Ok(true)` when it did not exist before.
fn create(dir: &Path) -> io::Result<bool> {
    match std::fs::create_dir(dir) {
        Ok(()) => {
            let setup = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))
                .and_then(|()| chown(dir));
            if let Err(e) = setup {
                // Half-made: remove it, or a retry would take it for an existing workspace.
                let _ = std::fs::remove_dir(dir);
                return Err(e);
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Fill a new workspace: from the image's skeleton tar if it has one, then make sure
/// `~/workspace` exists; everything ends up owned by the sandbox user.
fn fill(dir: &Path, skel_tar: Option<&[u8]>) -> io::Result<()> {
    if let Some(tar_bytes) = skel_tar {
        // Unpack into a staging directory first: tar's unpack refuses entries that would land
        // outside it (`..`, absolute paths, links). The archive's single top entry is the
        // skeleton directory itself; its children move into the workspace.
        // Inside the workspace: a size-limited one is its own filesystem, and the moves below
        // must stay on one filesystem.
        let staging = dir.join(".sandboxd-seeding");
        remove_dir(&staging)?;
        std::fs::create_dir(&staging)?;
        let result = (|| {
            let mut archive = tar::Archive::new(tar_bytes);
            archive.set_preserve_permissions(true);
            archive.unpack(&staging)?;
            for top in std::fs::read_dir(&staging)? {
                let top = top?;
                if !top.file_type()?.is_dir() {
                    continue;
                }
                for child in std::fs::read_dir(top.path())? {
                    let child = child?;
                    let target = dir.join(child.file_name());
                    if std::fs::symlink_metadata(&target).is_err() {
                        std::fs::rename(child.path(), target)?;
                    }
                }
            }
            Ok::<(), io::Error>(())
        })();
        remove_dir(&staging)?;
        result?;
    }
    let ws = dir.join("workspace");
    if !ws.exists() {
        std::fs::create_dir(&ws)?;
    }
    chown_tree(dir)
}

fn chown(p: &Path) -> io::Result<()> {
    match std::os::unix::fs::lchown(p, Some(SANDBOX_UID), Some(SANDBOX_GID)) {
        Ok(()) => Ok(()),
        // Not running as root: the sandbox user may not be able to write, but that is a
        // deployment choice the operator made; say so once in the logs, not fail every create.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            tracing::warn!(path = %p.display(), "cannot chown workspace (not root)");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn chown_tree(dir: &Path) -> io::Result<()> {
    chown(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            chown_tree(&entry.path())?;
        } else {
            chown(&entry.path())?;
        }
    }
    Ok(())
}

/// Remove a workspace entirely (purge, or rollback of a failed create).
fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
