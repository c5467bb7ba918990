//! Rule: as PID 1, the init publishes the process group id of the start
//! command it last launched in [`START_PGID_FILE`], so `record-listeners`
//! can tell the start command's processes from the ones a user started.
//!
//! The file holds the id in decimal and a newline. It is rewritten (through
//! a temporary file and a rename, so a reader never sees it half-written)
//! every time the command is (re)started; its directory is created with mode
//! 0700 if missing. `/run` is a tmpfs, so the file never outlives the
//! container's run. Publishing is best effort: the first failure is logged,
//! later ones are not, and none affects the start command.

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::log::log;

pub const START_PGID_FILE: &str = "/run/sandboxd/start.pgid";

/// Writes the start command's process group id to one file.
#[derive(Debug)]
pub struct Publisher {
    path: PathBuf,
    failed_before: bool,
}

impl Publisher {
    pub fn new(path: PathBuf) -> Publisher {
        Publisher {
            path,
            failed_before: false,
        }
    }

    /// Records `pgid`; logs only the first failure.
    pub fn publish(&mut self, pgid: i32) {
        if let Err(err) = write(&self.path, pgid) {
            if !self.failed_before {
                let path = self.path.display();
                log!("cannot write {path} (further failures not logged): {err}");
                self.failed_before = true;
            }
        }
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

/// The published process group id; `None` if nothing was published.
pub fn read(path: &Path) -> io::Result<Option<i32>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    match text.trim().parse::<i32>() {
        Ok(pgid) if pgid > 1 => Ok(Some(pgid)),
        _ => Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("{text:?} is not a process group id"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sandboxd-pgid-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn publishes_and_reads_back_the_latest_group() {
        let base = scratch("ok");
        fs::create_dir(&base).expect("mkdir");
        let path = base.join("sandboxd/start.pgid");
        assert_eq!(read(&path).expect("absent is fine"), None);
        let mut publisher = Publisher::new(path.clone());
        publisher.publish(41);
        publisher.publish(4242);
        assert_eq!(read(&path).expect("read"), Some(4242));
        assert_eq!(fs::read_to_string(&path).expect("text"), "4242\n");
        let mode = fs::metadata(base.join("sandboxd"))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(!publisher.failed_before);
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn failures_are_remembered_not_fatal() {
        let base = scratch("fail");
        // Only the last directory level is created, so this cannot work.
        let mut publisher = Publisher::new(base.join("a/b/start.pgid"));
        publisher.publish(7);
        publisher.publish(8);
        assert!(publisher.failed_before);
        assert!(!base.exists());
    }

    #[test]
    fn rejects_garbage() {
        let base = scratch("bad");
        fs::create_dir(&base).expect("mkdir");
        for text in ["", "abc", "1", "-5", "12 13"] {
            let path = base.join("start.pgid");
            fs::write(&path, text).expect("write");
            assert!(read(&path).is_err(), "accepted {text:?}");
        }
        fs::remove_dir_all(&base).expect("cleanup");
    }
}
