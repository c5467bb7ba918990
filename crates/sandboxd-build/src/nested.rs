//! Rule: a crate that runs inside a sandbox but needs crates.io dependencies
//! (the agent: tokio, hyper, serde…) is built by a nested `cargo build` from a
//! build script, with a clean environment, an explicit `--target` and a
//! target directory shared by every outer profile.
//!
//! Why nested cargo here and one `rustc` call for the init: the init is
//! std-only, so one `rustc` invocation is all it takes (no locks, no
//! registry). A crate with dependencies needs cargo to resolve, build and
//! link them; calling it from the build script keeps `cargo build -p
//! sandboxd` the only step and sandboxd one file to install.
//!
//! - Explicit `--target`: `CARGO_ENCODED_RUSTFLAGS=-Ctarget-feature=+crt-static`
//!   then applies to the target's artifacts only, so proc-macros and build
//!   scripts (host artifacts) still build as the dylibs/executables they must be.
//! - Nothing of the outer build leaks in: wrappers (clippy's
//!   `RUSTC_WORKSPACE_WRAPPER`, sccache's `RUSTC_WRAPPER`), its rustflags, its
//!   target dir and target, and the per-package variables cargo sets for the
//!   calling build script are removed. `CARGO_MAKEFLAGS` stays, so the nested
//!   build draws from the outer build's jobserver instead of oversubscribing.
//! - One target dir for debug, test, clippy and release builds of the outer
//!   workspace ([`shared_target_dir`]): the agent is built once per change,
//!   whichever profile asks for it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What [`cargo_build_static`] builds, and where.
#[derive(Debug, Clone, Copy)]
pub struct CargoBinary<'a> {
    /// Package (and binary) name, e.g. `sandboxd-agent`.
    pub package: &'a str,
    /// The package's `Cargo.toml` (inside the workspace whose profile is used).
    pub manifest: &'a Path,
    /// A profile of the workspace's root `Cargo.toml`, e.g. `agent`.
    pub profile: &'a str,
    /// Target triple; must be a Linux target whose std is installed.
    pub target: &'a str,
    /// `--target-dir` of the nested build.
    pub target_dir: &'a Path,
}

/// Variables removed from the nested cargo's environment by name.
const DROPPED: [&str; 12] = [
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MANIFEST_DIR",
    "CARGO_PRIMARY_PACKAGE",
    "OUT_DIR",
    "RUSTC_LINKER",
];

/// Prefixes of variables removed: cargo's per-package build-script variables.
const DROPPED_PREFIXES: [&str; 3] = ["CARGO_PKG_", "CARGO_FEATURE_", "CARGO_CFG_"];

/// Whether the nested cargo must not see the variable `name` (per-target
/// rustflags of the outer build included; a per-target linker stays).
pub fn dropped_var(name: &str) -> bool {
    DROPPED.contains(&name)
        || DROPPED_PREFIXES.iter().any(|p| name.starts_with(p))
        || (name.starts_with("CARGO_TARGET_") && name.ends_with("_RUSTFLAGS"))
}

/// Runs the nested `cargo build` of `spec` statically and returns the path of
/// the built executable. Cargo's output goes to stderr (a build script's
/// stdout is parsed by cargo). The result is not checked here; see
/// [`crate::check_static`].
pub fn cargo_build_static(spec: &CargoBinary<'_>) -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(spec.manifest)
        .args(["-p", spec.package, "--bin", spec.package])
        .args(["--profile", spec.profile, "--target", spec.target])
        .arg("--target-dir")
        .arg(spec.target_dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(dropped_var) {
            cmd.env_remove(&name);
        }
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+crt-static")
        .stdout(Stdio::from(std::io::stderr()));
    let status = cmd
        .status()
        .map_err(|err| format!("cannot run {cargo:?} to build {}: {err}", spec.package))?;
    if !status.success() {
        return Err(format!(
            "building {} failed ({status}); cargo's errors are above. Command: {cmd:?}",
            spec.package
        ));
    }
    Ok(spec
        .target_dir
        .join(spec.target)
        .join(spec.profile)
        .join(spec.package))
}

/// `<root>/<name>`, where `<root>` is the outer build's target directory: the
/// nearest ancestor of `out_dir` holding the `CACHEDIR.TAG` cargo writes
/// there. `None` if there is none (then use a directory under `OUT_DIR`).
pub fn shared_target_dir(out_dir: &Path, name: &str) -> Option<PathBuf> {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|root| root.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_outer_build_state_but_keeps_the_jobserver() {
        for name in [
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
            "CARGO_FEATURE_TEST_UTIL",
            "CARGO_CFG_TARGET_OS",
            "CARGO_PKG_NAME",
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
        ] {
            assert!(dropped_var(name), "{name} kept");
        }
        for name in [
            "CARGO_MAKEFLAGS",
            "CARGO_HOME",
            "PATH",
            "RUSTC",
            "CARGO",
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        ] {
            assert!(!dropped_var(name), "{name} dropped");
        }
    }

    #[test]
    fn shared_dir_is_beside_the_outer_profiles() {
        let root = tempfile_dir();
        std::fs::write(root.join("CACHEDIR.TAG"), b"x").unwrap();
        let out = root.join("debug/build/x-123/out");
        std::fs::create_dir_all(&out).unwrap();
        assert_eq!(shared_target_dir(&out, "agent"), Some(root.join("agent")));
        std::fs::remove_file(root.join("CACHEDIR.TAG")).unwrap();
        assert_eq!(shared_target_dir(&out, "agent"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A fresh directory under the system temp dir (this crate has no
    /// dependencies, tempfile included).
    fn tempfile_dir() -> PathBuf {
        let dir = env::temp_dir().join(format!("sandboxd-build-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
