//! Build script rule: `sandboxd-testkit` embeds a statically linked build of the
//! std-only test app `sandboxd-fixture` (see `src/fixture.rs`), produced here
//! at `$OUT_DIR/sandboxd-fixture` the same way `sandboxd-engine/build.rs`
//! builds the init: `sandboxd_build::compile_static` compiles
//! `../sandboxd-fixture/src/main.rs` with one direct `rustc` call (no nested
//! cargo, nothing inherited from the outer build), and the result is checked
//! to have no ELF interpreter so it runs on a rootfs without libc.

use std::fs;
use std::path::PathBuf;

use sandboxd_build::{cargo_env, check_static, compile_static, StaticBinary};

/// Edition of sandboxd-fixture; its Cargo.toml pins the same value.
const FIXTURE_EDITION: &str = "2021";

fn main() {
    if let Err(msg) = run() {
        eprintln!("error: sandboxd-testkit build script: {msg}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR")?);
    let output = PathBuf::from(cargo_env("OUT_DIR")?).join("sandboxd-fixture");
    let fixture_dir = manifest_dir.join("../sandboxd-fixture");
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rerun-if-changed={}",
        fixture_dir.join("src").display()
    );

    let target = cargo_env("TARGET")?.to_string_lossy().into_owned();
    if !target.contains("-linux-") {
        return Err(format!(
            "cannot build sandboxd-fixture for {target}: it runs inside Linux containers"
        ));
    }
    compile_static(&StaticBinary {
        name: "sandboxd-fixture",
        crate_dir: &fixture_dir,
        output: &output,
        edition: FIXTURE_EDITION,
        opt_level: "2",
        target: &target,
    })?;
    let elf = fs::read(&output).map_err(|err| format!("cannot read {output:?}: {err}"))?;
    check_static(&elf).map_err(|why| format!("fixture binary {output:?} is unusable: {why}"))
}
