//! Size-limited workspaces: the kernel enforces the size. A workspace of N MiB is a sparse file
//! `<workspaces>/<id>.img` holding an ext4 filesystem (no reserved blocks, root owned by the
//! sandbox user), loop-mounted `nodev,nosuid` at the workspace directory the container
//! bind-mounts. A write past the size fails with ENOSPC inside that sandbox only; the host's
//! filesystem (and sandboxd's store on it) only ever holds the blocks the sandbox really used.
//! Everything here blocks: callers run it on the blocking pool.

use crate::{DiskUsage, Identity};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const MIB: u64 = 1024 * 1024;

/// The image file of the workspace directory `dir` (ids never contain a dot).
/// Held while a workspace's mount state is checked and changed: two paths that both find a
/// workspace unmounted (a start and a reconcile sweep) must not both mount it, which would stack
/// two mounts of one image on the directory. Process-wide and held for one mount(8) at most.
static MOUNTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn mount_lock() -> std::sync::MutexGuard<'static, ()> {
    // A panic while holding it leaves nothing inconsistent (the kernel's mount table is the
    // state): recover the guard.
    MOUNTS.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn image_path(dir: &Path) -> PathBuf {
    dir.with_extension("img")
}

/// Make a new size-limited workspace at `dir` (which must not exist): image, filesystem,
/// mount. A failure leaves neither image nor directory nor mount behind.
pub(crate) fn create(dir: &Path, size_mb: u64) -> io::Result<()> {
    let img = image_path(dir);
    let mut made_image = false;
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&img)?;
        made_image = true;
        file.set_len(size_mb * MIB)?;
        drop(file);
        mkfs(&img)?;
        std::fs::create_dir(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))?;
        {
            let _held = mount_lock();
            mount(&img, dir)?;
        }
        // Now the root of the new filesystem: private to the sandbox user, and without the
        // `lost+found` mkfs made (it would show in the sandbox's home; fsck remakes it).
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))?;
        let _ = std::fs::remove_dir(dir.join("lost+found"));
        Ok(())
    })();
    if result.is_err() {
        if is_mount_point(dir).unwrap_or(false) && unmount(dir).is_err() {
            let _ = lazy_unmount(dir);
        }
        let _ = std::fs::remove_dir(dir);
        if made_image {
            let _ = std::fs::remove_file(&img);
        }
    }
    result
}

/// Mount the workspace's image at `dir` unless it is mounted already (after a reboot or a
/// release the mount is gone; the image and its files are not). `dir` is made if missing.
pub(crate) fn mount_if_needed(dir: &Path) -> io::Result<()> {
    let img = image_path(dir);
    let _held = mount_lock();
    if is_mount_point(dir)? {
        return Ok(());
    }
    if let Err(e) = std::fs::create_dir(dir) {
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    mount(&img, dir)
}

/// Whether `dir` is a workspace with an image (size-limited).
pub(crate) fn has_image(dir: &Path) -> bool {
    image_path(dir).is_file()
}

/// Whether something is mounted at `dir` (its device differs from its parent's). A missing
/// `dir` is not a mount point.
pub(crate) fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let me = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let parent = dir.parent().unwrap_or(Path::new("/"));
    Ok(me.dev() != std::fs::metadata(parent)?.dev())
}

/// Unmount `dir`. Not mounted is success; EBUSY comes back as an error for the caller to retry.
pub(crate) fn unmount(dir: &Path) -> io::Result<()> {
    umount2(dir, 0)
}

/// Detach the mount now; the kernel finishes the unmount when the last user lets go.
pub(crate) fn lazy_unmount(dir: &Path) -> io::Result<()> {
    umount2(dir, libc::MNT_DETACH)
}

/// Unmount every mount stacked on `dir` (one, unless something mounted it twice), so the
/// directory is plain again when this returns `Ok`.
fn umount2(dir: &Path, flags: libc::c_int) -> io::Result<()> {
    let _held = mount_lock();
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    for _layer in 0..MAX_STACKED {
        if !is_mount_point(dir)? {
            return Ok(());
        }
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        if unsafe { libc::umount2(c.as_ptr(), flags) } != 0 {
            let e = io::Error::last_os_error();
            // EINVAL: someone else unmounted it in between.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    if is_mount_point(dir)? {
        return Err(io::Error::other(format!(
            "{} still has mounts after {MAX_STACKED} unmounts",
            dir.display()
        )));
    }
    Ok(())
}

/// Most mounts [`umount2`] takes off one directory.
const MAX_STACKED: usize = 8;

/// The filesystem's own numbers for a mounted workspace.
pub(crate) fn usage(dir: &Path) -> io::Result<DiskUsage> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value that the call overwrites.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid path and `st` a valid out-pointer, both outliving the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    let blocks = st.f_blocks as u64;
    let free = st.f_bfree as u64;
    Ok(DiskUsage {
        size_mb: blocks * frsize / MIB,
        used_mb: (blocks.saturating_sub(free) * frsize).div_ceil(MIB),
    })
}

/// Check that this host can make size-limited workspaces: root, loop devices, mkfs.ext4 and
/// mount, by making, mounting and removing a minimal one under `root`.
pub(crate) fn probe(root: &Path) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "loop-mounting workspace images needs root",
        ));
    }
    let dir = root.join(".quota-probe");
    // A probe left by a crash.
    if unmount(&dir).is_err() {
        lazy_unmount(&dir)?;
    }
    let _ = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_file(image_path(&dir));
    create(&dir, sandboxd_core::spec::MIN_DISK_MB)?;
    let removed = unmount(&dir).or_else(|_| lazy_unmount(&dir));
    let _ = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_file(image_path(&dir));
    removed
}

fn mkfs(img: &Path) -> io::Result<()> {
    let owner = format!(
        "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner={}:{}",
        Identity::SANDBOX.uid,
        Identity::SANDBOX.gid
    );
    // -m 0: no blocks reserved for root (the sandbox user gets the whole size). The image is
    // sparse and reads back zeros, so the lazy inits skip nothing that matters (`noinit_itable`
    // at mount keeps the kernel from writing the tables out, which would allocate them).
    let mut cmd = Command::new(tool("mkfs.ext4"));
    cmd.args(["-q", "-F", "-m", "0", "-E", &owner]).arg(img);
    run(cmd, "mkfs.ext4")
}

fn mount(img: &Path, dir: &Path) -> io::Result<()> {
    // Not noexec: users run code from their workspace. `loop` asks mount for a free loop
    // device that is released when the filesystem is unmounted.
    let mut cmd = Command::new(tool("mount"));
    cmd.args(["-t", "ext4", "-o", "loop,nodev,nosuid,noinit_itable"])
        .arg(img)
        .arg(dir);
    run(cmd, "mount")
}

fn run(mut cmd: Command, what: &str) -> io::Result<()> {
    let out = cmd
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("{what}: {e} (is it installed?)")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// A system tool: from PATH, else the sbin directories (a service's PATH may lack them).
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs root and loop devices (as sandboxd with quotas does); skipped otherwise.
    #[test]
    fn a_workspace_image_is_made_mounted_measured_and_released() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: not root");
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ws");
        let t = std::time::Instant::now();
        create(&dir, 10 * 1024).unwrap();
        eprintln!("10 GiB workspace: mkfs + mount took {:?}", t.elapsed());
        assert!(is_mount_point(&dir).unwrap());
        assert!(!dir.join("lost+found").exists());
        // Sparse: the image holds only what the filesystem wrote.
        let on_disk = std::fs::metadata(image_path(&dir)).unwrap().blocks() * 512;
        assert!(on_disk < 64 * MIB, "image uses {on_disk} bytes");
        let before = usage(&dir).unwrap();
        assert!((9_900..=10_240).contains(&before.size_mb), "{before:?}");
        std::fs::write(dir.join("f"), vec![1u8; 8 * MIB as usize]).unwrap();
        // SAFETY: sync has no preconditions.
        unsafe { libc::sync() };
        let after = usage(&dir).unwrap();
        assert!(
            after.used_mb >= before.used_mb + 8,
            "{before:?} → {after:?}"
        );
        unmount(&dir).unwrap();
        assert!(!is_mount_point(&dir).unwrap());
        assert!(!dir.join("f").exists());
        mount_if_needed(&dir).unwrap();
        mount_if_needed(&dir).unwrap();
        assert_eq!(
            std::fs::read(dir.join("f")).unwrap().len(),
            8 * MIB as usize
        );
        unmount(&dir).unwrap();
    }

    #[test]
    fn a_failed_create_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        // A workspace dir that exists already makes the mkdir step fail after mkfs.
        let dir = root.path().join("ws");
        std::fs::create_dir(&dir).unwrap();
        assert!(create(&dir, 64).is_err());
        assert!(!image_path(&dir).exists());
        assert!(!is_mount_point(&dir).unwrap());
    }
}
