//! Rule: as PID 1, the init publishes the process group id of the start
//! command it last launched, so `record-listeners` can tell the start
//! command's processes from the ones a user started.
//!
//! The file is [`START_PGID_FILE`], or, when that cannot be written,
//! `/tmp/.sandboxd-UID/start.pgid` (see [`locations`]); readers take the
//! first of the two that exists. Both live on tmpfs mounts, so the file never
//! outlives the container's run. It holds the id in decimal and a newline
//! and is rewritten (through a temporary file and a rename, so a reader
//! never sees it half-written) every time the command is (re)started. Its
//! directory is created with mode 0700 if missing and is only used, for
//! writing or reading, if it is a real directory owned by the caller's
//! effective uid that no one else may write. Publishing is best effort: the
//! first failure is logged, later ones are not, and none affects the start
//! command.

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::log::log;
use crate::sys;

pub const START_PGID_FILE: &str = "/run/sandboxd/start.pgid";

/// Where the file may be, best first. The fallback exists because `mode=`
/// of a tmpfs is not always honoured: runc 1.1 gives the mount the mode of
/// the image's directory, and `/run` is 0755 root in most images.
pub fn locations() -> Vec<PathBuf> {
    let uid = sys::effective_uid();
    let fallback = format!("/tmp/.sandboxd-{uid}/start.pgid");
    vec![PathBuf::from(START_PGID_FILE), PathBuf::from(fallback)]
}

/// Writes the start command's process group id to the first usable file.
#[derive(Debug)]
pub struct Publisher {
    paths: Vec<PathBuf>,
    logged: bool,
}

impl Publisher {
    pub fn new(paths: Vec<PathBuf>) -> Publisher {
        Publisher {
            paths,
            logged: false,
        }
    }

    /// Records `pgid`; logs only the first trouble.
    pub fn publish(&mut self, pgid: i32) {
        let Some(trouble) = self.try_publish(pgid) else {
            return;
        };
        if !self.logged {
            log!("{trouble} (further trouble not logged)");
            self.logged = true;
        }
    }

    /// Writes the first usable file; describes any failure on the way.
    fn try_publish(&self, pgid: i32) -> Option<String> {
        let mut errors = Vec::new();
        for path in &self.paths {
            match write(path, pgid) {
                Ok(()) if errors.is_empty() => return None,
                Ok(()) => {
                    let errors = errors.join("; ");
                    return Some(format!("{errors}; published at {}", path.display()));
                }
                Err(err) => errors.push(format!("cannot write {}: {err}", path.display())),
            }
        }
        let errors = errors.join("; ");
        Some(format!("{errors} (start command group not published)"))
    }
}

fn write(path: &Path, pgid: i32) -> io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(ErrorKind::InvalidInput, "not a file path"));
    };
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(err) if err.kind() != ErrorKind::AlreadyExists => return Err(err),
        _ => {}
    }
    check_private(dir)?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(format!("{pgid}\n").as_bytes())?;
    drop(file);
    fs::rename(&tmp, path)
}

/// `dir` is a directory (not a symlink) of ours that only we may write.
fn check_private(dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    let ours = meta.uid() == sys::effective_uid();
    if meta.is_dir() && ours && meta.mode() & 0o022 == 0 {
        return Ok(());
    }
    let why = format!("{} is not a private directory of ours", dir.display());
    Err(io::Error::new(ErrorKind::PermissionDenied, why))
}

/// The published process group id from the first of `paths` that exists;
/// `None` if none does.
pub fn read(paths: &[PathBuf]) -> io::Result<Option<i32>> {
    for path in paths {
        let dir = path.parent().unwrap_or(Path::new("/"));
        match check_private(dir) {
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
            Ok(()) => {}
        }
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        return match text.trim().parse::<i32>() {
            Ok(pgid) if pgid > 1 => Ok(Some(pgid)),
            _ => Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("{}: {text:?} is not a process group id", path.display()),
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sandboxd-pgid-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn publishes_and_reads_back_the_latest_group() {
        let base = scratch("ok");
        let paths = vec![base.join("sandboxd/start.pgid")];
        assert_eq!(read(&paths).expect("absent is fine"), None);
        let mut publisher = Publisher::new(paths.clone());
        publisher.publish(41);
        publisher.publish(4242);
        assert_eq!(read(&paths).expect("read"), Some(4242));
        assert_eq!(fs::read_to_string(&paths[0]).expect("text"), "4242\n");
        let dir = fs::metadata(base.join("sandboxd")).expect("dir");
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        assert!(!publisher.logged);
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn falls_back_when_the_first_location_is_unusable() {
        let base = scratch("fallback");
        // Only the last directory level is created, so the first fails.
        let paths = vec![base.join("a/b/start.pgid"), base.join("c/start.pgid")];
        let mut publisher = Publisher::new(paths.clone());
        publisher.publish(7);
        assert!(publisher.logged);
        assert_eq!(read(&paths).expect("read"), Some(7));
        // A readable file in the first location wins.
        fs::create_dir_all(base.join("a/b")).expect("mkdir");
        fs::set_permissions(base.join("a/b"), fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(&paths[0], "9\n").expect("write");
        assert_eq!(read(&paths).expect("read"), Some(9));
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn failures_are_remembered_not_fatal() {
        let base = scratch("fail");
        let mut publisher = Publisher::new(vec![base.join("a/b/start.pgid")]);
        publisher.publish(7);
        publisher.publish(8);
        assert!(publisher.logged);
        assert!(!base.join("a").exists());
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn refuses_shared_directories_and_garbage() {
        let base = scratch("bad");
        let shared = base.join("shared");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
        fs::write(shared.join("start.pgid"), "5\n").expect("write");
        assert!(read(&[shared.join("start.pgid")]).is_err());
        assert!(write(&shared.join("start.pgid"), 5).is_err());
        let link = base.join("link");
        std::os::unix::fs::symlink(&base, &link).expect("symlink");
        assert!(write(&link.join("start.pgid"), 5).is_err());
        let path = base.join("start.pgid");
        for text in ["", "abc", "1", "-5", "12 13"] {
            fs::write(&path, text).expect("write");
            assert!(
                read(std::slice::from_ref(&path)).is_err(),
                "accepted {text:?}"
            );
        }
        fs::remove_dir_all(&base).expect("cleanup");
    }
}
