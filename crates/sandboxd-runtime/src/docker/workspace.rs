//! Workspaces on the Docker host: `<data>/workspaces/<id>`, bind-mounted at the sandbox's home,
//! owned by the sandbox user (uid 1000). A workspace is created and seeded once, survives stop,
//! restart, reboot and DELETE, and is removed only by purge. Seeding never follows links out of
//! the workspace. All disk work runs on the blocking pool.

use super::{blocking, container, DockerRuntime};
use crate::{Identity, RuntimeError, Seed, WorkspaceState, SKELETON_DIR};
use sandboxd_core::SandboxId;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const SANDBOX_UID: u32 = Identity::SANDBOX.uid;
const SANDBOX_GID: u32 = Identity::SANDBOX.gid;

pub(super) fn path(root: &Path, id: &SandboxId) -> PathBuf {
    root.join(id.as_str())
}

pub(super) async fn ensure(
    rt: &DockerRuntime,
    id: &SandboxId,
) -> Result<WorkspaceState, RuntimeError> {
    let dir = path(&rt.storage()?.workspaces, id);
    let what = format!("workspace {}", dir.display());
    let fresh = blocking(what, move || create(&dir)).await?;
    Ok(if fresh {
        WorkspaceState::Fresh
    } else {
        WorkspaceState::Existing
    })
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
    blocking("removing workspace".into(), move || remove_dir(&dir)).await
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
        let staging = dir.with_extension("seeding");
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
mod tests {
    use super::*;

    #[test]
    fn create_is_idempotent_and_seed_makes_workspace_dir() {
        let root = tempfile::tempdir().unwrap();
        let dir = path(root.path(), &SandboxId::parse_new("abc").unwrap());
        assert!(create(&dir).unwrap());
        assert!(!create(&dir).unwrap());
        fill(&dir, None).unwrap();
        assert!(dir.join("workspace").is_dir());
        remove_dir(&dir).unwrap();
        assert!(!dir.exists());
        remove_dir(&dir).unwrap();
    }

    #[test]
    fn seed_unpacks_a_skeleton_archive() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        let body = b"export PS1=x\n";
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, "skel/.bashrc", &body[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap();
        let root = tempfile::tempdir().unwrap();
        let dir = path(root.path(), &SandboxId::parse_new("abc").unwrap());
        create(&dir).unwrap();
        fill(&dir, Some(&bytes)).unwrap();
        assert_eq!(std::fs::read(dir.join(".bashrc")).unwrap(), body);
        assert!(dir.join("workspace").is_dir());
    }
}
