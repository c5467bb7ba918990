//! Build script rule: `sandboxd-runtime` embeds statically linked builds of
//! `sandboxd-init` and `sandboxd-agent` (see `src/binaries.rs`); this script
//! produces them at `$OUT_DIR/sandboxd-init` and `$OUT_DIR/sandboxd-agent`
//! and refuses to hand over anything dynamic.
//!
//! The init is std-only by design, so `sandboxd_build::compile_static`
//! compiles `../sandboxd-init/src/main.rs` with one direct `rustc` call into a
//! static executable (no nested cargo, nothing inherited from the outer
//! build). The agent has crates.io dependencies, so it is built by a nested
//! `cargo build --profile agent` (`sandboxd_build::nested`) into
//! `<outer target dir>/sandboxd-agent`, shared by every outer profile. Both
//! results are checked to have no ELF interpreter.
//!
//! Overrides (all re-checked on change):
//! - `SANDBOXD_INIT_BINARY=/path`, `SANDBOXD_AGENT_BINARY=/path`: use this
//!   prebuilt binary instead (still checked to be static), e.g. for
//!   packaging or non-Linux hosts.
//! - `SANDBOXD_INIT_TARGET=triple`: target to build both for (default: the
//!   target sandboxd-runtime is built for; its std must be installed).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use sandboxd_build::nested::{cargo_build_static, shared_target_dir, CargoBinary};
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
    let crates = manifest_dir.join("..");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SANDBOXD_INIT_TARGET");

    let init_dir = crates.join("sandboxd-init");
    println!("cargo:rerun-if-changed={}", init_dir.join("src").display());
    produce(
        "SANDBOXD_INIT_BINARY",
        &out_dir.join("sandboxd-init"),
        |out| compile_init(&init_dir, out),
    )?;

    let agent_dir = crates.join("sandboxd-agent");
    let workspace = crates.join("..");
    for input in [
        agent_dir.join("src"),
        agent_dir.join("Cargo.toml"),
        workspace.join("Cargo.toml"),
        workspace.join("Cargo.lock"),
    ] {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    produce(
        "SANDBOXD_AGENT_BINARY",
        &out_dir.join("sandboxd-agent"),
        |out| build_agent(&agent_dir, &out_dir, out),
    )
}

/// Puts the binary at `output`, from the prebuilt path in `$override_var` if
/// set, else by `build`, and checks that it is static.
fn produce(
    override_var: &str,
    output: &Path,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    println!("cargo:rerun-if-env-changed={override_var}");
    match non_empty_env(override_var) {
        Some(prebuilt) => {
            println!("cargo:rerun-if-changed={}", Path::new(&prebuilt).display());
            fs::copy(&prebuilt, output).map_err(|err| {
                format!("cannot copy {override_var}={prebuilt:?} to {output:?}: {err}")
            })?;
        }
        None => build(output)?,
    }
    let bytes = fs::read(output).map_err(|err| format!("cannot read built {output:?}: {err}"))?;
    check_static(&bytes).map_err(|why| format!("{output:?} is unusable: {why}"))
}

/// The Linux target the sandbox binaries are built for.
fn sandbox_target(what: &str, override_hint: &str) -> Result<String, String> {
    let target = match non_empty_env("SANDBOXD_INIT_TARGET") {
        Some(target) => target,
        None => cargo_env("TARGET")?,
    };
    let target = target.to_string_lossy().into_owned();
    if !target.contains("-linux-") {
        return Err(format!(
            "cannot build the sandbox {what} for {target}: it runs inside Linux containers. \
             Set SANDBOXD_INIT_TARGET to a Linux target whose std is installed \
             (rustup target add …), or {override_hint} to a prebuilt static binary."
        ));
    }
    Ok(target)
}

fn compile_init(init_dir: &Path, output: &Path) -> Result<(), String> {
    let target = sandbox_target("init", "SANDBOXD_INIT_BINARY")?;
    compile_static(&StaticBinary {
        name: "sandboxd-init",
        crate_dir: init_dir,
        output,
        edition: INIT_EDITION,
        opt_level: "s",
        target: &target,
    })
}

fn build_agent(agent_dir: &Path, out_dir: &Path, output: &Path) -> Result<(), String> {
    let target = sandbox_target("agent", "SANDBOXD_AGENT_BINARY")?;
    let target_dir = shared_target_dir(out_dir, "sandboxd-agent")
        .unwrap_or_else(|| out_dir.join("agent-target"));
    let built = cargo_build_static(&CargoBinary {
        package: "sandboxd-agent",
        manifest: &agent_dir.join("Cargo.toml"),
        profile: "agent",
        target: &target,
        target_dir: &target_dir,
    })?;
    fs::copy(&built, output)
        .map(|_| ())
        .map_err(|err| format!("cannot copy the built agent {built:?} to {output:?}: {err}"))
}

fn non_empty_env(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|value| !value.is_empty())
}
