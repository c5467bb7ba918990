//! Figure 11, time to interactive through the stock E2B SDK: `Sandbox.create()` then
//! `commands.run("true")` from Python (e2b from PyPI, plain-HTTP mode against the child's API
//! and preview listeners), beside the raw engine's create + start + exec of figure 1. Rule: the
//! SDK side is timed inside the Python process, per round, kills outside the clock; a host
//! without python3 + venv (or without PyPI) skips the figure with a note instead of failing.

use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Stdio;

const SECTION: &str = "11. Time to interactive through the E2B SDK";
const SDK: &str = "2.63.0";
const SCRIPT: &str = include_str!("e2b_tti.py");
const WARMUP: usize = 2;

/// The figure, or none (with the reason on stderr) when the SDK cannot be run here.
pub async fn time_to_interactive(env: &Env) -> Result<Vec<Figure>> {
    let python = match venv().await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: 10 skipped: {e:#} (needs python3 with venv and PyPI access)");
            return Ok(Vec::new());
        }
    };
    let key = env.api.create_key("bench-e2b").await?;
    let script = env.dir.join("e2b_tti.py");
    std::fs::write(&script, SCRIPT)?;
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .env("E2B_API_URL", env.api.base())
        .env("E2B_SANDBOX_URL", format!("http://{}", env.preview))
        .env(
            "E2B_DOMAIN",
            format!("preview.localhost:{}", env.preview.port()),
        )
        .env("E2B_API_KEY", key)
        .env("BENCH_ROUNDS", env.plan.n.to_string())
        .env("BENCH_WARMUP", WARMUP.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("running the E2B SDK")?;
    if !out.status.success() {
        bail!(
            "the E2B SDK script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut sdk = Series::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(v) = line.strip_prefix("ms ").and_then(|v| v.parse().ok()) {
            sdk.push(v);
        }
    }
    let mut raw = Series::new();
    for _ in 0..WARMUP {
        let _ = super::lifecycle::raw_tti(env).await;
    }
    for _ in 0..env.plan.n {
        raw.record(
            "raw time to interactive",
            super::lifecycle::raw_tti(env).await,
        );
    }
    let f = Figure::new(SECTION, "e2b_time_to_interactive", "ms", &sdk, Some(&raw)).note(format!(
        "e2b {SDK} (Python, sync, plain HTTP); hosted E2B publishes a 440 ms median"
    ));
    let met = f.raw.is_some_and(|r| f.sandboxd.p50 <= r.p50 + 60.0);
    Ok(vec![f.target("p50 ≤ raw + 60 ms", met)])
}

/// A virtualenv with the pinned SDK, made once under the user's cache dir.
async fn venv() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("no cache dir (HOME unset)")?;
    let done = cache.join("sandboxd-bench").join(format!("e2b-sdk-{SDK}"));
    let python = done.join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    let partial = done.with_extension(format!("partial-{}", std::process::id()));
    std::fs::create_dir_all(cache.join("sandboxd-bench"))?;
    let _ = std::fs::remove_dir_all(&partial);
    let m = std::ffi::OsStr::new("-m");
    run(
        "python3",
        &[m, std::ffi::OsStr::new("venv"), partial.as_os_str()],
    )
    .await?;
    let pip = partial.join("bin/python");
    let spec = format!("e2b=={SDK}");
    let args = [
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        &spec,
    ];
    run(pip.as_os_str(), &args.map(std::ffi::OsStr::new)).await?;
    if std::fs::rename(&partial, &done).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(python)
}

async fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&std::ffi::OsStr]) -> Result<()> {
    let program = program.as_ref();
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .with_context(|| format!("running {}", program.to_string_lossy()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            program.to_string_lossy(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
