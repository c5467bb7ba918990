//! Rule: every sandbox runs the init binary embedded in this build — the
//! statically linked `sandboxd-init` produced by `build.rs` — and a host copy
//! (what the Docker runtime bind-mounts) is named by its content hash, so a
//! new build never reuses (or overwrites under a running container) an older
//! init.
//!
//! Contract with the container (see `sandboxd-init`): mount the file
//! read-only at [`crate::INIT_PATH`] and make it the entrypoint
//! with no arguments. It reads `SANDBOXD_START`, `SANDBOXD_STOP_GRACE_MS`,
//! `SANDBOXD_RELAUNCH_FILE` (default `$HOME/.sandboxd/relaunch.json`) and
//! `HOME`.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The static init executable (x86_64/aarch64 Linux ELF, no interpreter).
pub const INIT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sandboxd-init"));

/// Lowercase hex SHA-256 of [`INIT_BINARY`] (computed once).
pub fn init_binary_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        Sha256::digest(INIT_BINARY)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    })
    .clone()
}

/// Makes sure `dir/sandboxd-init-<first 16 hex of hash>` holds the embedded
/// init with mode 0755 and returns its path (the bind-mount source).
///
/// Idempotent and safe to race: the file is written under a temporary name
/// and renamed into place, so the final name only ever holds complete bytes.
/// `dir` is created if missing; it (and its parents) must be traversable by
/// the container's uid for the mount to be executable.
pub fn install(dir: &Path) -> io::Result<PathBuf> {
    let path = installed_path(dir);
    if let Ok(meta) = fs::metadata(&path) {
        if meta.is_file() && meta.len() == INIT_BINARY.len() as u64 {
            return Ok(path);
        }
    }
    write_executable(dir, &installed_name(), INIT_BINARY)
}

/// Where [`install`] puts the init in `dir`.
pub fn installed_path(dir: &Path) -> PathBuf {
    dir.join(installed_name())
}

fn installed_name() -> String {
    format!("sandboxd-init-{}", &init_binary_hash()[..16])
}

/// Writes `bytes` to `dir/name` with mode 0755 (creating `dir` if needed) and returns that
/// path. The bytes go to a temporary name unique to this process and call, then are renamed
/// into place, so concurrent callers and running copies never see a half-written file.
pub fn write_executable(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.set_permissions(fs::Permissions::from_mode(0o755))?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_init_is_a_static_elf() {
        assert_eq!(&INIT_BINARY[..4], b"\x7fELF");
        let interp = b"/lib64/ld-linux-x86-64.so";
        let has_interp = INIT_BINARY.windows(interp.len()).any(|w| w == interp);
        assert!(!has_interp, "init binary names a dynamic loader");
    }

    #[test]
    fn hash_is_stable_sha256_hex() {
        let hash = init_binary_hash();
        assert_eq!(hash.len(), 64);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash, init_binary_hash());
    }

    #[test]
    fn install_is_idempotent_and_executable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("init");
        let first = install(&target).expect("first install");
        let second = install(&target).expect("second install");
        assert_eq!(first, second);
        assert_eq!(fs::read(&first).expect("read back"), INIT_BINARY);
        let mode = fs::metadata(&first).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        let leftovers = fs::read_dir(&target).expect("read_dir").count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }
}
