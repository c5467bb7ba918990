//! Host tools the builds need (debootstrap, a static busybox). The rule it owns: a missing tool
//! is installed with apt-get when we run as root, and otherwise reported with the exact
//! apt-get command that fixes it.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use tokio::process::Command;

use super::progress::{run_logged, Progress};

/// Whether this process runs with effective uid 0 (`/proc/self` belongs to the euid).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// `name` on PATH, or in the sbin dirs that a non-login PATH may lack.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Make sure `tool` exists, passing `accept` (e.g. "is it static?"), installing apt package
/// `package` if needed and allowed.
pub(crate) async fn ensure_tool(
    tool: &str,
    package: &str,
    accept: impl Fn(&Path) -> bool,
    progress: &Progress<'_>,
) -> Result<PathBuf> {
    if let Some(p) = find_tool(tool).filter(|p| accept(p)) {
        return Ok(p);
    }
    let fix = format!("apt-get install -y {package}");
    if !is_root() {
        bail!("{tool} (Debian package {package}) is not installed; install it with: sudo {fix}");
    }
    progress.step(format!("{tool} not found: installing it with `{fix}`"));
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    if run_logged(&mut install(), "apt-get", progress)
        .await
        .is_err()
    {
        progress.step("apt-get install failed; refreshing package lists and retrying");
        run_logged(
            Command::new("apt-get").arg("update"),
            "apt-get update",
            progress,
        )
        .await?;
        run_logged(&mut install(), "apt-get", progress).await?;
    }
    match find_tool(tool).filter(|p| accept(p)) {
        Some(p) => Ok(p),
        None => bail!("installed {package} but still found no usable {tool}"),
    }
}

/// The build host's CA bundle (it may hold a TLS-intercepting proxy's CA that pip and npm need
/// during a build): `$SSL_CERT_FILE`, else the usual Debian or Fedora path.
pub(crate) fn host_ca_bundle() -> Option<Vec<u8>> {
    let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let known = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .map(PathBuf::from);
    env.into_iter()
        .chain(known)
        .find_map(|p| std::fs::read(p).ok())
        .filter(|b| !b.is_empty())
}

/// Whether the file at `p` is a statically linked ELF executable.
pub(crate) fn is_static_binary(p: &Path) -> bool {
    std::fs::read(p).map(|b| is_static_elf(&b)).unwrap_or(false)
}

/// Whether `elf` is a 64-bit little-endian ELF without a PT_INTERP (dynamic loader) header.
pub(crate) fn is_static_elf(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| {
        let off = phoff as usize + i * phentsize;
        u32_at(off).is_some_and(|kind| kind != PT_INTERP)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(find_tool("sh").is_some());
        assert!(find_tool("no-such-tool-sandboxd").is_none());
    }

    #[test]
    fn static_elf_detection() {
        // Debian's /bin/sh (dash) is dynamically linked: it has a PT_INTERP header.
        assert!(!is_static_binary(Path::new("/bin/sh")));
        assert!(!is_static_elf(b"#!/bin/sh\n"));
        // A minimal ELF64 header with no program headers counts as static.
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        assert!(is_static_elf(&elf));
    }
}
