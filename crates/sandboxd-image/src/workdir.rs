//! Scratch directories for rootfs builds. The rule it owns: a build dir is deleted only after
//! everything mounted below it is unmounted, and never while a mount remains — on success, on
//! error, when the build future is dropped, and (for dirs left by dead processes) at the start
//! of the next build — so cleanup can never delete through a mount into the host.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

const PREFIX: &str = "sandboxd-build-";

/// A scratch dir named after our pid, cleaned up on `remove` or drop.
pub(crate) struct BuildDir {
    path: PathBuf,
    done: bool,
}

impl BuildDir {
    /// Create `parent/sandboxd-build-<pid>-<nanos>`, first sweeping dirs of dead builds.
    pub(crate) fn create(parent: &Path) -> Result<Self> {
        sweep_stale(parent);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("{PREFIX}{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        let path = std::fs::canonicalize(&path)?;
        Ok(BuildDir { path, done: false })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Mount a fresh procfs on `target` (inside this dir).
    pub(crate) async fn mount_proc(&self, target: &Path) -> Result<()> {
        let status = tokio::process::Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(target)
            .status()
            .await?;
        if !status.success() {
            bail!("mount -t proc proc {} failed ({status})", target.display());
        }
        Ok(())
    }

    /// Unmount everything below this dir (deepest first).
    pub(crate) async fn unmount_all(&self) -> Result<()> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || unmount_under(&path)).await?
    }

    /// Unmount everything below this dir, then delete `sub` (inside it) to start over.
    pub(crate) async fn clear(&self, sub: &Path) -> Result<()> {
        if !sub.starts_with(&self.path) {
            bail!("{} is not inside {}", sub.display(), self.path.display());
        }
        let path = self.path.clone();
        let sub = sub.to_path_buf();
        tokio::task::spawn_blocking(move || {
            unmount_under(&path)?;
            cleanup(&sub)
        })
        .await?
    }

    /// Unmount and delete the dir.
    pub(crate) async fn remove(mut self) -> Result<()> {
        self.done = true;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || cleanup(&path)).await?
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = cleanup(&self.path) {
                eprintln!(
                    "warning: could not clean up build dir {}: {e:#}",
                    self.path.display()
                );
            }
        }
    }
}

fn cleanup(path: &Path) -> Result<()> {
    unmount_under(path)?;
    if !mounts_under(path)?.is_empty() {
        bail!("mounts remain below {}; not deleting it", path.display());
    }
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("deleting {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn unmount_under(path: &Path) -> Result<()> {
    let mut mounts = mounts_under(path)?;
    mounts.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
    for m in mounts {
        let ok = Command::new("umount")
            .arg(&m)
            .status()
            .is_ok_and(|s| s.success())
            || Command::new("umount")
                .arg("-l")
                .arg(&m)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            bail!("cannot unmount {}", m.display());
        }
    }
    Ok(())
}

/// Mount points at or below `path`, from /proc/self/mountinfo.
fn mounts_under(path: &Path) -> Result<Vec<PathBuf>> {
    let info =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    Ok(parse_mount_points(&info)
        .into_iter()
        .filter(|m| m.starts_with(path))
        .collect())
}

/// The mount point column (5th) of mountinfo text, with `\040`-style escapes decoded.
fn parse_mount_points(info: &str) -> Vec<PathBuf> {
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_octal(m)))
        .collect()
}

fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Clean up `parent/sandboxd-build-<pid>-*` dirs whose process is gone (killed builds).
fn sweep_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            if let Err(e) = std::fs::canonicalize(entry.path())
                .map_err(anyhow::Error::from)
                .and_then(|p| cleanup(&p))
            {
                eprintln!("warning: could not clean up stale build dir {name}: {e:#}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_escapes() {
        let info = "22 1 8:1 / / rw - ext4 /dev/vda rw\n\
                    90 22 0:5 / /var/tmp/sandboxd-build-1-2/rootfs/proc rw - proc proc rw\n\
                    91 22 0:6 / /mnt/with\\040space rw - tmpfs x rw\n";
        let points = parse_mount_points(info);
        assert_eq!(
            points[1],
            PathBuf::from("/var/tmp/sandboxd-build-1-2/rootfs/proc")
        );
        assert_eq!(points[2], PathBuf::from("/mnt/with space"));
        let under: Vec<_> = points
            .iter()
            .filter(|m| m.starts_with("/var/tmp/sandboxd-build-1-2"))
            .collect();
        assert_eq!(under.len(), 1);
    }

    #[test]
    fn build_dir_is_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let dir = BuildDir::create(parent.path()).unwrap();
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("f"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
