//! Build-script helper rule: a std-only crate that has to run inside a
//! sandbox (whose rootfs may have no libc) is compiled into a static Linux
//! executable by one direct `rustc` call, and only an ELF with no interpreter
//! is accepted as such.
//!
//! One `rustc` call on the crate's `src/main.rs` means no nested cargo, hence
//! no cargo locks to wait on, no registry or network access, and nothing
//! inherited from the outer build (RUSTFLAGS, clippy/coverage wrappers,
//! target dir). `-C target-feature=+crt-static -C relocation-model=static` on
//! a linux-gnu target gives a plain static (non-PIE) executable; the build
//! path is remapped so the same sources give the same bytes.
//!
//! Used by `sandboxd-runtime/build.rs` (the sandbox init) and
//! `sandboxd-testkit/build.rs` (the test fixture). A crate with dependencies
//! (the agent) cannot be built this way; [`nested`] builds it with cargo.

pub mod nested;

use std::env;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};

/// What [`compile_static`] builds, and where.
#[derive(Debug, Clone, Copy)]
pub struct StaticBinary<'a> {
    /// Package name, e.g. `sandboxd-init`. The crate name is this with `-`
    /// turned into `_`; the crate directory is remapped to this name in
    /// panic locations; error messages use it.
    pub name: &'a str,
    /// Package directory; `src/main.rs` under it is the crate root.
    pub crate_dir: &'a Path,
    /// Where the executable is written.
    pub output: &'a Path,
    /// `--edition`; the package's Cargo.toml must pin the same value.
    pub edition: &'a str,
    /// `-C opt-level=…`, e.g. `s` or `2`.
    pub opt_level: &'a str,
    /// Target triple; must be a Linux target whose std is installed.
    pub target: &'a str,
}

/// Compiles `spec` with one `rustc` call (cargo's `RUSTC`, else `rustc`).
///
/// Cargo's `RUSTC_LINKER` is passed on only when `spec.target` is the target
/// of the outer build (`TARGET`): it is configured for that target alone.
/// rustc's output goes to stderr, as a build script's stdout is parsed by
/// cargo. The result is not checked here; see [`check_static`].
pub fn compile_static(spec: &StaticBinary<'_>) -> Result<(), String> {
    let name = spec.name;
    let crate_dir = spec
        .crate_dir
        .canonicalize()
        .map_err(|err| format!("cannot find {name} sources at {:?}: {err}", spec.crate_dir))?;
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let crate_name = name.replace('-', "_");
    let mut cmd = Command::new(&rustc);
    cmd.args(["--crate-name", &crate_name, "--crate-type", "bin"])
        .args(["--edition", spec.edition, "--target", spec.target])
        .arg("-C")
        .arg(format!("opt-level={}", spec.opt_level))
        .args(["-C", "debuginfo=0", "-C", "strip=symbols"])
        .args(["-C", "codegen-units=1", "-C", "target-feature=+crt-static"])
        .args(["-C", "relocation-model=static"])
        // Keep the build path out of panic locations: same sources, same bytes.
        .arg(remap_flag(&crate_dir, name))
        .arg("-o")
        .arg(spec.output)
        .arg(crate_dir.join("src/main.rs"));
    if env::var_os("TARGET").as_deref() == Some(OsStr::new(spec.target)) {
        if let Some(linker) = env::var_os("RUSTC_LINKER") {
            let mut flag = OsString::from("linker=");
            flag.push(linker);
            cmd.arg("-C").arg(flag);
        }
    }
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run {rustc:?} to build {name}: {err}"))?;
    if !status.success() {
        return Err(format!(
            "building {name} failed ({status}); rustc's errors are above. Command: {cmd:?}"
        ));
    }
    Ok(())
}

fn remap_flag(crate_dir: &Path, name: &str) -> OsString {
    let mut flag = OsString::from("--remap-path-prefix=");
    flag.push(crate_dir);
    flag.push("=");
    flag.push(name);
    flag
}

/// Accepts a 64-bit little-endian ELF executable with no `PT_INTERP` program
/// header: it needs no dynamic loader, i.e. it runs on a rootfs without libc
/// (static or static-pie). Anything else is rejected with the reason.
pub fn check_static(elf: &[u8]) -> Result<(), String> {
    const PT_INTERP: u64 = 3;
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let header = |at, len| read_le(elf, at, len).ok_or("truncated ELF header");
    let phoff = header(0x20, 8)?;
    let phentsize = header(0x36, 2)?;
    let phnum = header(0x38, 2)?;
    for i in 0..phnum {
        let p_type = i
            .checked_mul(phentsize)
            .and_then(|rel| rel.checked_add(phoff))
            .and_then(|at| usize::try_from(at).ok())
            .and_then(|at| read_le(elf, at, 4))
            .ok_or("truncated ELF program header table")?;
        if p_type == PT_INTERP {
            return Err("it is dynamically linked (has an ELF interpreter); \
                        sandbox images may have no libc"
                .into());
        }
    }
    Ok(())
}

/// The `len` (at most 8) little-endian bytes at `at`, if all are in `bytes`.
fn read_le(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(len)?)?;
    let mut buf = [0u8; 8];
    buf.get_mut(..len)?.copy_from_slice(field);
    Some(u64::from_le_bytes(buf))
}

/// A variable cargo sets for build scripts (`OUT_DIR`, `TARGET`, …).
pub fn cargo_env(name: &str) -> Result<OsString, String> {
    env::var_os(name).ok_or_else(|| format!("cargo did not set {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PT_LOAD: u32 = 1;
    const PT_INTERP: u32 = 3;
    const PHOFF: usize = 64;
    const PHENTSIZE: usize = 56;

    /// A minimal 64-bit little-endian ELF header followed by one program
    /// header of each type in `p_types`; only the fields read are filled.
    fn fake_elf(p_types: &[u32]) -> Vec<u8> {
        let mut elf = vec![0u8; PHOFF + PHENTSIZE * p_types.len()];
        elf[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        elf[0x20..0x28].copy_from_slice(&(PHOFF as u64).to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&(PHENTSIZE as u16).to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&(p_types.len() as u16).to_le_bytes());
        for (i, p_type) in p_types.iter().enumerate() {
            let at = PHOFF + i * PHENTSIZE;
            elf[at..at + 4].copy_from_slice(&p_type.to_le_bytes());
        }
        elf
    }

    #[test]
    fn accepts_elf_without_interpreter() {
        assert_eq!(check_static(&fake_elf(&[PT_LOAD, PT_LOAD])), Ok(()));
        assert_eq!(check_static(&fake_elf(&[])), Ok(()));
    }

    #[test]
    fn rejects_elf_with_interpreter() {
        let err = check_static(&fake_elf(&[PT_LOAD, PT_INTERP, PT_LOAD])).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
    }

    #[test]
    fn rejects_non_elf_and_other_classes() {
        assert!(check_static(b"#!/bin/sh\n").is_err());
        assert!(check_static(&[]).is_err());
        let mut elf32 = fake_elf(&[PT_LOAD]);
        elf32[4] = 1;
        assert!(check_static(&elf32).is_err());
        let mut big_endian = fake_elf(&[PT_LOAD]);
        big_endian[5] = 2;
        assert!(check_static(&big_endian).is_err());
    }

    #[test]
    fn rejects_truncated_files_without_panicking() {
        let elf = fake_elf(&[PT_LOAD, PT_LOAD]);
        assert!(check_static(&elf[..0x30]).is_err());
        // Ends inside the second program header's `p_type`.
        assert!(check_static(&elf[..PHOFF + PHENTSIZE + 2]).is_err());
        let mut far = fake_elf(&[PT_LOAD]);
        far[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(check_static(&far).is_err());
        let mut huge_entries = fake_elf(&[PT_LOAD]);
        huge_entries[0x36..0x38].copy_from_slice(&u16::MAX.to_le_bytes());
        huge_entries[0x38..0x3a].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(check_static(&huge_entries).is_err());
    }

    /// The test binary itself is an ordinary dynamically linked executable.
    #[cfg(all(
        target_os = "linux",
        target_pointer_width = "64",
        target_endian = "little",
        not(target_feature = "crt-static")
    ))]
    #[test]
    fn rejects_own_dynamic_test_binary() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let err = check_static(&exe).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
    }

    #[test]
    fn remap_maps_crate_dir_to_name() {
        let flag = remap_flag(Path::new("/src/crates/x-init"), "x-init");
        assert_eq!(flag, "--remap-path-prefix=/src/crates/x-init=x-init");
    }
}
