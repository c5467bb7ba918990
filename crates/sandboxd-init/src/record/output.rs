//! Rule: the relaunch file is replaced atomically: readers see the old list
//! or the new one, never a mix, and nothing is ever written through a
//! symlink.
//!
//! The bytes go to a fresh temporary file in the same directory, created
//! with `O_CREAT|O_EXCL` and mode 0600 (the list holds environments, which
//! may hold secrets), flushed to disk, then renamed over the final path;
//! a rename replaces a symlink there rather than following it. The
//! directory itself is created with mode 0700 if missing (one level only).
//! On failure the temporary file is removed and the old list stays.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Temporary names tried before giving up (leftovers of crashed runs).
const TMP_ATTEMPTS: u32 = 100;

/// Atomically makes `path` hold exactly `bytes`.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(format!("{shown} is not a file path"));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(err) if err.kind() != ErrorKind::AlreadyExists => {
            return Err(format!("cannot create {}: {err}", dir.display()));
        }
        _ => {}
    }
    let (tmp, file) = create_tmp(dir, &name.to_string_lossy())
        .map_err(|err| format!("cannot create a temporary file in {}: {err}", dir.display()))?;
    let written = fill(file, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(err) = written {
        let _ = fs::remove_file(&tmp);
        return Err(format!("cannot write {shown}: {err}"));
    }
    // Persist the rename too; not all filesystems support syncing a directory.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Creates `.NAME.PID.N.tmp` in `dir` for the first N that is free.
fn create_tmp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last_err = io::Error::new(ErrorKind::AlreadyExists, "no free temporary name");
    for n in 0..TMP_ATTEMPTS {
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        let opened = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp);
        match opened {
            Ok(file) => return Ok((tmp, file)),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => last_err = err,
            Err(err) => return Err(err),
        }
    }
    Err(last_err)
}

fn fill(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sandboxd-out-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).expect("mkdir");
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn creates_the_directory_and_replaces_the_file() {
        let base = scratch("new");
        let path = base.join(".sandboxd/relaunch.json");
        replace(&path, b"[1]").expect("first write");
        replace(&path, b"[]\n").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"[]\n");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&base.join(".sandboxd")), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(names(&base.join(".sandboxd")), ["relaunch.json"]);
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn replaces_a_symlink_instead_of_following_it() {
        let base = scratch("link");
        let target = base.join("precious");
        fs::write(&target, "keep").expect("target");
        let path = base.join("relaunch.json");
        symlink(&target, &path).expect("symlink");
        replace(&path, b"[]").expect("write");
        assert_eq!(fs::read_to_string(&target).expect("target"), "keep");
        assert!(!fs::symlink_metadata(&path)
            .expect("stat")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&path).expect("read"), b"[]");
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn skips_leftover_temporary_files_and_never_writes_through_them() {
        let base = scratch("tmp");
        let path = base.join("relaunch.json");
        let first = base.join(format!(".relaunch.json.{}.0.tmp", std::process::id()));
        let target = base.join("precious");
        fs::write(&target, "keep").expect("target");
        symlink(&target, &first).expect("planted symlink");
        replace(&path, b"[]").expect("write");
        assert_eq!(fs::read_to_string(&target).expect("target"), "keep");
        assert_eq!(fs::read(&path).expect("read"), b"[]");
        fs::remove_dir_all(&base).expect("cleanup");
    }

    #[test]
    fn reports_failures_and_leaves_nothing_behind() {
        let base = scratch("fail");
        let err = replace(&base.join("a/b/relaunch.json"), b"[]").expect_err("no parent");
        assert!(err.contains("cannot create"), "{err}");
        // A directory at the final path makes the rename fail.
        let path = base.join("relaunch.json");
        fs::create_dir(&path).expect("dir in the way");
        fs::write(path.join("x"), "").expect("non-empty");
        let err = replace(&path, b"[]").expect_err("rename over a directory");
        assert!(err.contains("cannot write"), "{err}");
        assert_eq!(names(&base), ["relaunch.json"]);
        fs::remove_dir_all(&base).expect("cleanup");
    }
}
