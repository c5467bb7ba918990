//! Engine configuration: where state lives, what this installation is called, default limits and
//! timings. Built once at start-up by the binary; never changed while running.

use sandboxd_core::Limits;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// Installation name: container names and labels derive from it.
    pub instance: String,
    pub limits: Limits,
    /// Seconds the engine gives a container after SIGTERM on stop.
    pub stop_grace: Duration,
    /// Bytes kept per exec output stream.
    pub exec_output_cap: usize,
    /// Period of the reconciler's full sweep (events handle the rest).
    pub reconcile_interval: Duration,
    /// Idle timeout applied when a sandbox has none of its own.
    pub idle_timeout: Duration,
    /// Idle time before a running sandbox is frozen when it has no `freeze_after_s` of its own
    /// (zero: never).
    pub freeze_after: Duration,
    /// Longest keepalive lease.
    pub max_lease: Duration,
    /// How long a wake waits for the target port before giving up.
    pub wake_timeout: Duration,
    /// How often the idle reaper looks for idle sandboxes.
    pub reap_interval: Duration,
    /// Admission floor: available memory must stay above this fraction of the total.
    pub min_free_ratio: f64,
    /// Memory a create or wake is assumed to need on top (MiB).
    pub admission_reserve_mb: u64,
    /// Whether a sandbox whose E2B lifetime ends with `kill` loses its workspace too (false:
    /// kept like any deleted sandbox's, until purged).
    pub e2b_purge_on_kill: bool,
}

impl EngineConfig {
    pub fn db_path(&self) -> PathBuf {
        Self::db_path_in(&self.data_dir)
    }

    /// The file naming the installation a data dir belongs to (written at first start).
    pub fn instance_marker_in(data_dir: &std::path::Path) -> PathBuf {
        data_dir.join("state").join("instance")
    }

    /// Where the database of the data dir `data_dir` lives.
    pub fn db_path_in(data_dir: &std::path::Path) -> PathBuf {
        data_dir.join("state").join("sandboxd.db")
    }
}
