//! Rule: tests and the bench run the `sandboxd-fixture` app embedded here —
//! the static, std-only build produced by `build.rs` from
//! `crates/sandboxd-fixture` — so it runs in the bare busybox test image
//! (no libc, read-only root, any uid). Put it in an image with
//! [`write_fixture`] + `sandboxd_image::ensure_test_image`, then start it as
//! `/usr/local/bin/sandboxd-fixture PORT [PORT...]`.

use std::io;
use std::path::{Path, PathBuf};

/// The static fixture executable (Linux ELF, no interpreter).
pub const FIXTURE_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sandboxd-fixture"));

/// Writes [`FIXTURE_BINARY`] to `dir/sandboxd-fixture` with mode 0755 (creating `dir` if
/// needed) and returns that path; atomic like the init's install
/// ([`sandboxd_runtime::binaries::write_executable`]).
pub fn write_fixture(dir: &Path) -> io::Result<PathBuf> {
    sandboxd_runtime::binaries::write_executable(dir, "sandboxd-fixture", FIXTURE_BINARY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn embedded_fixture_is_a_static_elf() {
        assert_eq!(&FIXTURE_BINARY[..4], b"\x7fELF");
        let interp = b"/lib64/ld-linux";
        let has_interp = FIXTURE_BINARY.windows(interp.len()).any(|w| w == interp);
        assert!(!has_interp, "fixture binary names a dynamic loader");
    }

    #[test]
    fn write_fixture_is_executable_and_repeatable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("bin");
        let first = write_fixture(&target).expect("first write");
        let second = write_fixture(&target).expect("second write");
        assert_eq!(first, second);
        assert_eq!(first, target.join("sandboxd-fixture"));
        assert_eq!(fs::read(&first).expect("read back"), FIXTURE_BINARY);
        let mode = fs::metadata(&first).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(fs::read_dir(&target).expect("read_dir").count(), 1);
    }
}
