//! Build script rule: `sandboxd-engine` embeds a statically linked build of
//! `sandboxd-init` (see `src/init_binary.rs`); this script produces it at
//! `$OUT_DIR/sandboxd-init` and refuses to hand over anything dynamic.
//!
//! The init is std-only by design, so it is compiled with one direct `rustc`
//! call on `../sandboxd-init/src/main.rs`: no nested cargo, hence no cargo
//! locks to wait on, no registry or network access, and nothing inherited
//! from the outer build (RUSTFLAGS, clippy/coverage wrappers, target dir).
//! `-C target-feature=+crt-static -C relocation-model=static` on a linux-gnu
//! target gives a plain static (non-PIE) executable; the result is checked to
//! have no ELF interpreter.
//!
//! Overrides (both re-checked on change):
//! - `SANDBOXD_INIT_BINARY=/path`: use this prebuilt init instead (still
//!   checked to be static), e.g. for packaging or non-Linux hosts.
//! - `SANDBOXD_INIT_TARGET=triple`: target to build for (default: the target
//!   sandboxd-engine is built for; its std must be installed).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Edition of sandboxd-init; its Cargo.toml pins the same value.
const INIT_EDITION: &str = "2021";

fn main() {
    if let Err(msg) = run() {
        eprintln!("error: sandboxd-engine build script: {msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(required_env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(required_env("OUT_DIR")?);
    let init_dir = manifest_dir.join("../sandboxd-init");
    let output = out_dir.join("sandboxd-init");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", init_dir.join("src").display());
    println!("cargo:rerun-if-env-changed=SANDBOXD_INIT_BINARY");
    println!("cargo:rerun-if-env-changed=SANDBOXD_INIT_TARGET");

    match non_empty_env("SANDBOXD_INIT_BINARY") {
        Some(prebuilt) => {
            println!("cargo:rerun-if-changed={}", Path::new(&prebuilt).display());
            fs::copy(&prebuilt, &output).map_err(|err| {
                format!("cannot copy SANDBOXD_INIT_BINARY={prebuilt:?} to {output:?}: {err}")
            })?;
        }
        None => compile(&init_dir, &output)?,
    }
    let bytes =
        fs::read(&output).map_err(|err| format!("cannot read built init {output:?}: {err}"))?;
    check_static(&bytes).map_err(|why| format!("init binary {output:?} is unusable: {why}"))
}

fn compile(init_dir: &Path, output: &Path) -> Result<(), String> {
    let init_dir = init_dir
        .canonicalize()
        .map_err(|err| format!("cannot find sandboxd-init sources at {init_dir:?}: {err}"))?;
    let host_target = required_env("TARGET")?.to_string_lossy().into_owned();
    let target = non_empty_env("SANDBOXD_INIT_TARGET")
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_else(|| host_target.clone());
    if !target.contains("-linux-") {
        return Err(format!(
            "cannot build the sandbox init for {target}: it runs inside Linux containers. \
             Set SANDBOXD_INIT_TARGET to a Linux target whose std is installed \
             (rustup target add …), or SANDBOXD_INIT_BINARY to a prebuilt static init."
        ));
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = Command::new(&rustc);
    cmd.args(["--crate-name", "sandboxd_init", "--crate-type", "bin"])
        .args(["--edition", INIT_EDITION, "--target", &target])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "debuginfo=0",
            "-C",
            "strip=symbols",
        ])
        .args(["-C", "codegen-units=1", "-C", "target-feature=+crt-static"])
        .args(["-C", "relocation-model=static"])
        // Keep the build path out of panic locations: same sources, same bytes.
        .arg(remap_flag(&init_dir))
        .arg("-o")
        .arg(output)
        .arg(init_dir.join("src/main.rs"));
    if target == host_target {
        if let Some(linker) = env::var_os("RUSTC_LINKER") {
            let mut flag = OsString::from("linker=");
            flag.push(linker);
            cmd.arg("-C").arg(flag);
        }
    }
    // Build-script stdout is parsed by cargo; send everything to stderr.
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run {rustc:?} to build sandboxd-init: {err}"))?;
    if !status.success() {
        return Err(format!(
            "building sandboxd-init failed ({status}); rustc's errors are above. Command: {cmd:?}"
        ));
    }
    Ok(())
}

fn remap_flag(init_dir: &Path) -> OsString {
    let mut flag = OsString::from("--remap-path-prefix=");
    flag.push(init_dir);
    flag.push("=sandboxd-init");
    flag
}

/// An ELF executable with no `PT_INTERP` program header needs no dynamic
/// loader, i.e. it runs on a rootfs without libc (static or static-pie).
fn check_static(elf: &[u8]) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let u16_at = |at: usize| {
        elf.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        elf.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |at: usize| {
        elf.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };

    // 64-bit (class 2), little-endian (data 1) ELF.
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let truncated = || "truncated ELF header".to_string();
    let phoff = usize::try_from(u64_at(0x20).ok_or_else(truncated)?).map_err(|_| truncated())?;
    let phentsize = usize::from(u16_at(0x36).ok_or_else(truncated)?);
    let phnum = usize::from(u16_at(0x38).ok_or_else(truncated)?);
    for i in 0..phnum {
        let p_type = u32_at(phoff + i * phentsize).ok_or_else(truncated)?;
        if p_type == PT_INTERP {
            return Err("it is dynamically linked (has an ELF interpreter); \
                        sandbox images may have no libc"
                .into());
        }
    }
    Ok(())
}

fn required_env(name: &str) -> Result<OsString, String> {
    env::var_os(name).ok_or_else(|| format!("cargo did not set {name}"))
}

fn non_empty_env(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|value| !value.is_empty())
}
