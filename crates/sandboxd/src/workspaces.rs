//! Where workspaces live and how big they are by default. The rule: the workspaces dir a data
//! dir uses is recorded in it (`state/workspaces-dir`) at every start, so `uninstall` and test
//! teardown find the mounts of size-limited workspaces even when `--workspaces-dir` put them
//! elsewhere; quotas are checked at start-up (a host that cannot loop-mount refuses to start
//! with quotas on, instead of failing every create).

use anyhow::{Context, Result};
use sandboxd_runtime::DockerRuntime;
use sandboxd_runtime::Runtime;
use std::path::{Path, PathBuf};

/// Workspace size of a sandbox created without `disk_mb` (MiB).
pub const DEFAULT_DISK_MB: u64 = 10 * 1024;
/// Largest `disk_mb` a sandbox may ask for by default (MiB).
pub const MAX_DISK_MB: u64 = 100 * 1024;

/// The file that marks a directory as a sandboxd workspaces dir (uninstall empties only those).
pub const OWN_MARKER: &str = ".sandboxd-workspaces";

fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join("state").join("workspaces-dir")
}

/// The workspaces dir of `data_dir` as `serve` configures it.
pub fn dir(data_dir: &Path, configured: Option<&Path>) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("workspaces"))
}

/// The workspaces dir the last `serve` on `data_dir` used.
pub fn recorded(data_dir: &Path) -> PathBuf {
    std::fs::read_to_string(marker(data_dir))
        .ok()
        .map(|s| PathBuf::from(s.trim_end_matches('\n')))
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| data_dir.join("workspaces"))
}

/// Make the workspaces dir ready, record it, and when `quotas` check that this host can make
/// size-limited workspaces.
pub async fn prepare(
    docker: &DockerRuntime,
    data_dir: &Path,
    workspaces: &Path,
    quotas: bool,
) -> Result<()> {
    docker
        .prepare()
        .await
        .context("preparing workspace storage")?;
    let abs = std::fs::canonicalize(workspaces)
        .with_context(|| format!("workspaces dir {}", workspaces.display()))?;
    let m = marker(data_dir);
    if let Some(parent) = m.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&m, format!("{}\n", abs.display()))
        .with_context(|| format!("writing {}", m.display()))?;
    let own = abs.join(OWN_MARKER);
    std::fs::write(&own, format!("{}\n", data_dir.display()))
        .with_context(|| format!("writing {}", own.display()))?;
    if quotas {
        let t = std::time::Instant::now();
        docker.check_disk_quotas().await?;
        tracing::debug!(
            elapsed_ms = t.elapsed().as_millis() as u64,
            "disk quota probe"
        );
    }
    Ok(())
}

/// Unmount every size-limited workspace of `data_dir` (after its containers are gone).
pub fn unmount_all(data_dir: &Path) -> Result<usize> {
    let root = recorded(data_dir);
    sandboxd_runtime::docker::unmount_workspaces(&root)
        .with_context(|| format!("unmounting workspaces in {}", root.display()))
}
