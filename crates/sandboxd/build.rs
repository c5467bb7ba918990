//! Build script rule: `sandboxd` embeds a statically linked build of the
//! std-only test app `sandboxd-fixture` (see `src/fixture.rs`), produced here
//! at `$OUT_DIR/sandboxd-fixture` the same way `sandboxd-engine/build.rs`
//! builds the init: one direct `rustc` call on `../sandboxd-fixture/src/main.rs`
//! (no nested cargo, no locks, nothing inherited from the outer build) with
//! `+crt-static` and a static relocation model, and the result is checked to
//! have no ELF interpreter so it runs on a rootfs without libc.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// Edition of sandboxd-fixture; its Cargo.toml pins the same value.
const FIXTURE_EDITION: &str = "2021";

fn main() {
    if let Err(msg) = run() {
        eprintln!("error: sandboxd build script: {msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let var = |name: &str| env::var_os(name).ok_or_else(|| format!("cargo did not set {name}"));
    let manifest_dir = Path::new(&var("CARGO_MANIFEST_DIR")?).to_path_buf();
    let output = Path::new(&var("OUT_DIR")?).join("sandboxd-fixture");
    let fixture_dir = manifest_dir.join("../sandboxd-fixture");
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rerun-if-changed={}",
        fixture_dir.join("src").display()
    );

    let fixture_dir = fixture_dir
        .canonicalize()
        .map_err(|err| format!("cannot find sandboxd-fixture sources at {fixture_dir:?}: {err}"))?;
    let target = var("TARGET")?.to_string_lossy().into_owned();
    if !target.contains("-linux-") {
        return Err(format!(
            "cannot build sandboxd-fixture for {target}: it runs inside Linux containers"
        ));
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut remap = OsString::from("--remap-path-prefix=");
    remap.push(&fixture_dir);
    remap.push("=sandboxd-fixture");
    let mut cmd = Command::new(&rustc);
    cmd.args(["--crate-name", "sandboxd_fixture", "--crate-type", "bin"])
        .args(["--edition", FIXTURE_EDITION, "--target", &target])
        .args([
            "-C",
            "opt-level=2",
            "-C",
            "debuginfo=0",
            "-C",
            "strip=symbols",
        ])
        .args(["-C", "codegen-units=1", "-C", "target-feature=+crt-static"])
        .args(["-C", "relocation-model=static"])
        .arg(remap)
        .arg("-o")
        .arg(&output)
        .arg(fixture_dir.join("src/main.rs"));
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        let mut flag = OsString::from("linker=");
        flag.push(linker);
        cmd.arg("-C").arg(flag);
    }
    // Build-script stdout is parsed by cargo; send everything to stderr.
    cmd.stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run {rustc:?} to build sandboxd-fixture: {err}"))?;
    if !status.success() {
        return Err(format!(
            "building sandboxd-fixture failed ({status}); rustc's errors are above. Command: {cmd:?}"
        ));
    }
    let elf = fs::read(&output).map_err(|err| format!("cannot read {output:?}: {err}"))?;
    check_static(&elf).map_err(|why| format!("fixture binary {output:?} is unusable: {why}"))
}

/// A 64-bit little-endian ELF with no `PT_INTERP` program header needs no
/// dynamic loader, i.e. it runs on a rootfs without libc.
fn check_static(elf: &[u8]) -> Result<(), String> {
    const PT_INTERP: u32 = 3;
    let bytes = |at: usize, n: usize| elf.get(at..at + n).ok_or("truncated ELF header");
    let uint = |at: usize, n: usize| -> Result<usize, String> {
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(bytes(at, n)?);
        usize::try_from(u64::from_le_bytes(buf)).map_err(|_| "ELF offset out of range".into())
    };
    if elf.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let (phoff, phentsize, phnum) = (uint(0x20, 8)?, uint(0x36, 2)?, uint(0x38, 2)?);
    for i in 0..phnum {
        if uint(phoff + i * phentsize, 4)? == PT_INTERP as usize {
            return Err("it is dynamically linked (has an ELF interpreter); \
                        sandbox images may have no libc"
                .into());
        }
    }
    Ok(())
}
