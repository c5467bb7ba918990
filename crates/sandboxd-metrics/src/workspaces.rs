//! How full the size-limited workspaces are, in aggregate (one series each, not one per
//! sandbox: the number of sandboxes is unbounded). Set at scrape time from the workspaces'
//! own filesystems, so they never drift.

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A workspace this full (percent of its size) counts as full.
pub const FULL_PERCENT: u64 = 95;

#[derive(Clone, Default)]
pub struct WorkspaceMetrics {
    used: Gauge,
    limit: Gauge,
    full: Gauge,
}

/// One scrape's totals over the mounted, size-limited workspaces of live sandboxes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkspaceTotals {
    pub used_mb: u64,
    pub limit_mb: u64,
    /// Workspaces at or above [`FULL_PERCENT`] of their size.
    pub full: u64,
}

impl WorkspaceTotals {
    /// Count one workspace.
    pub fn add(&mut self, used_mb: u64, size_mb: u64) {
        self.used_mb += used_mb;
        self.limit_mb += size_mb;
        if size_mb > 0 && used_mb * 100 >= size_mb * FULL_PERCENT {
            self.full += 1;
        }
    }
}

impl WorkspaceMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "sandboxd_workspace_used_bytes",
            "Bytes used in the size-limited workspaces of live sandboxes (mounted ones)",
            m.used.clone(),
        );
        registry.register(
            "sandboxd_workspace_limit_bytes",
            "Total size of the size-limited workspaces of live sandboxes (mounted ones)",
            m.limit.clone(),
        );
        registry.register(
            "sandboxd_workspaces_full",
            "Size-limited workspaces at 95% of their size or more",
            m.full.clone(),
        );
        m
    }

    pub fn set(&self, t: WorkspaceTotals) {
        let bytes = |mb: u64| (mb.saturating_mul(1024 * 1024)).min(i64::MAX as u64) as i64;
        self.used.set(bytes(t.used_mb));
        self.limit.set(bytes(t.limit_mb));
        self.full.set(t.full.min(i64::MAX as u64) as i64);
    }
}
