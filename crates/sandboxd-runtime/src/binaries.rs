//! Rule: every sandbox runs the binaries embedded in this build — the
//! statically linked `sandboxd-init` and `sandboxd-agent` produced by
//! `build.rs` — and each host copy (what the Docker runtime bind-mounts) is
//! named by its content hash, so a new build never reuses (or overwrites
//! under a running container) an older one.
//!
//! Contract with the container (see `sandboxd-init`): mount the init
//! read-only at [`crate::INIT_PATH`] and make it the entrypoint with no
//! arguments. It reads `SANDBOXD_START`, `SANDBOXD_STOP_GRACE_MS`,
//! `SANDBOXD_RELAUNCH_FILE` (default `$HOME/.sandboxd/relaunch.json`),
//! `SANDBOXD_AGENT_TOKEN` (removed from every environment it hands on) and
//! `HOME`. Mount the agent read-only at [`crate::AGENT_PATH`]; the init
//! starts and supervises it, handing it the token on its stdin.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::OurBinary;

/// The static init executable (x86_64/aarch64 Linux ELF, no interpreter).
pub const INIT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sandboxd-init"));
/// The static agent executable (Linux ELF, no interpreter).
pub const AGENT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sandboxd-agent"));

/// One embedded executable and its content hash.
#[derive(Debug)]
pub struct Embedded {
    /// Host file names start with this.
    pub name: &'static str,
    pub bytes: &'static [u8],
    hash: OnceLock<String>,
}

pub static INIT: Embedded = Embedded::new("sandboxd-init", INIT_BINARY);
pub static AGENT: Embedded = Embedded::new("sandboxd-agent", AGENT_BINARY);

/// The embedded executable behind one of our binaries.
pub fn embedded(binary: OurBinary) -> &'static Embedded {
    match binary {
        OurBinary::Init => &INIT,
        OurBinary::Agent => &AGENT,
    }
}

/// Installs every one of our binaries in `dir` (see [`Embedded::install`]).
pub fn install_all(dir: &Path) -> io::Result<()> {
    for binary in OurBinary::ALL {
        embedded(binary).install(dir)?;
    }
    Ok(())
}

impl Embedded {
    const fn new(name: &'static str, bytes: &'static [u8]) -> Embedded {
        Embedded {
            name,
            bytes,
            hash: OnceLock::new(),
        }
    }

    /// Lowercase hex SHA-256 of the bytes (computed once).
    pub fn hash(&self) -> &str {
        self.hash.get_or_init(|| {
            Sha256::digest(self.bytes)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect()
        })
    }

    /// Makes sure `dir/<name>-<first 16 hex of hash>` holds the bytes with
    /// mode 0755 and returns its path (the bind-mount source).
    ///
    /// Idempotent and safe to race: the file is written under a temporary
    /// name and renamed into place, so the final name only ever holds
    /// complete bytes. `dir` is created if missing; it (and its parents) must
    /// be traversable by the container's uid for the mount to be executable.
    pub fn install(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = self.installed_path(dir);
        if let Ok(meta) = fs::metadata(&path) {
            if meta.is_file() && meta.len() == self.bytes.len() as u64 {
                return Ok(path);
            }
        }
        write_executable(dir, &self.installed_name(), self.bytes)
    }

    /// Where [`Embedded::install`] puts it in `dir`.
    pub fn installed_path(&self, dir: &Path) -> PathBuf {
        dir.join(self.installed_name())
    }

    fn installed_name(&self) -> String {
        format!("{}-{}", self.name, &self.hash()[..16])
    }
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
    fn embedded_binaries_are_static_elfs() {
        for binary in OurBinary::ALL {
            let bytes = embedded(binary).bytes;
            assert_eq!(&bytes[..4], b"\x7fELF", "{binary:?}");
            let interp = b"/lib64/ld-linux-x86-64.so";
            let has_interp = bytes.windows(interp.len()).any(|w| w == interp);
            assert!(!has_interp, "{binary:?} names a dynamic loader");
        }
    }

    #[test]
    fn hash_is_stable_sha256_hex() {
        let hash = INIT.hash();
        assert_eq!(hash.len(), 64);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash, INIT.hash());
        assert_ne!(INIT.hash(), AGENT.hash());
    }

    #[test]
    fn install_is_idempotent_and_executable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("bin");
        install_all(&target).expect("first install");
        install_all(&target).expect("second install");
        for binary in OurBinary::ALL {
            let file = embedded(binary);
            let path = file.installed_path(&target);
            assert_eq!(fs::read(&path).expect("read back"), file.bytes);
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        let leftovers = fs::read_dir(&target).expect("read_dir").count();
        assert_eq!(leftovers, 2, "temporary files left behind");
    }
}
