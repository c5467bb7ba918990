//! Build script rule: `sandboxd-runtime` embeds a statically linked build of
//! `sandboxd-init` (see `src/binaries.rs`); this script produces it at
//! `$OUT_DIR/sandboxd-init` and refuses to hand over anything dynamic.
//!
//! The init is std-only by design, so `sandboxd_build::compile_static`
//! compiles `../sandboxd-init/src/main.rs` with one direct `rustc` call into a
//! static executable (no nested cargo, nothing inherited from the outer
//! build); the result is checked to have no ELF interpreter.
//!
//! Overrides (both re-checked on change):
//! - `SANDBOXD_INIT_BINARY=/path`: use this prebuilt init instead (still
//!   checked to be static), e.g. for packaging or non-Linux hosts.
//! - `SANDBOXD_INIT_TARGET=triple`: target to build for (default: the target
//!   sandboxd-runtime is built for; its std must be installed).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use sandboxd_build::{cargo_env, check_static, compile_static, StaticBinary};

/// Edition of sandboxd-init; its Cargo.toml pins the same value.
const INIT_EDITION: &str = "2021";

fn main() {
    if let Err(msg) = run() {
        eprintln!("error: sandboxd-runtime build script: {msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(cargo_env("OUT_DIR")?);
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
    let target = match non_empty_env("SANDBOXD_INIT_TARGET") {
        Some(target) => target,
        None => cargo_env("TARGET")?,
    };
    let target = target.to_string_lossy();
    if !target.contains("-linux-") {
        return Err(format!(
            "cannot build the sandbox init for {target}: it runs inside Linux containers. \
             Set SANDBOXD_INIT_TARGET to a Linux target whose std is installed \
             (rustup target add …), or SANDBOXD_INIT_BINARY to a prebuilt static init."
        ));
    }
    compile_static(&StaticBinary {
        name: "sandboxd-init",
        crate_dir: init_dir,
        output,
        edition: INIT_EDITION,
        opt_level: "s",
        target: &target,
    })
}

fn non_empty_env(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|value| !value.is_empty())
}
