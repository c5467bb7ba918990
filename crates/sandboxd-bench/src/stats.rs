//! Rule: percentiles are computed one way everywhere — linear interpolation between the two
//! nearest ranks of the sorted samples (NumPy's default) — from every sample taken, none dropped
//! as an outlier. A failed measurement is counted as a failure, never as a sample, and a series
//! without samples has no percentiles (NaN, written as `null` in JSON), never zeros.

use serde::Serialize;
use std::time::Duration;

/// The samples of one side (sandboxd or raw) of one figure.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub samples: Vec<f64>,
    pub failures: u64,
}

impl Series {
    pub fn new() -> Self {
        Self::default()
    }

    /// A one-sample series (a single reading such as a wall time or a memory figure).
    pub fn single(v: f64) -> Self {
        Self {
            samples: vec![v],
            failures: 0,
        }
    }

    pub fn push(&mut self, v: f64) {
        self.samples.push(v);
    }

    pub fn push_ms(&mut self, d: Duration) {
        self.samples.push(ms(d));
    }

    /// Record a timed outcome: its duration in ms, or a failure.
    pub fn record(&mut self, what: &str, r: anyhow::Result<Duration>) {
        self.record_value(what, r.map(ms));
    }

    /// Record an outcome: its value, or a failure (the first one is reported on stderr).
    pub fn record_value(&mut self, what: &str, r: anyhow::Result<f64>) {
        match r {
            Ok(v) => self.push(v),
            Err(e) => {
                if self.failures == 0 {
                    eprintln!("bench: {what} failed: {e:#}");
                }
                self.failures += 1;
            }
        }
    }

    pub fn extend(&mut self, other: Series) {
        self.samples.extend(other.samples);
        self.failures += other.failures;
    }

    pub fn summary(&self) -> Summary {
        let mut sorted: Vec<f64> = self
            .samples
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let mean = if sorted.is_empty() {
            f64::NAN
        } else {
            sorted.iter().sum::<f64>() / sorted.len() as f64
        };
        Summary {
            samples: sorted.len(),
            failures: self.failures,
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p99: percentile(&sorted, 99.0),
            mean,
            min: sorted.first().copied().unwrap_or(f64::NAN),
            max: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Percentiles and friends of one series.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub samples: usize,
    pub failures: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// The `p`th percentile (0–100) of sorted samples; NaN when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = rank.ceil() as usize;
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// A duration in milliseconds, with sub-millisecond precision.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let sorted: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 5.5);
        assert!((percentile(&sorted, 90.0) - 9.1).abs() < 1e-9);
        assert_eq!(percentile(&sorted, 100.0), 10.0);
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn failures_are_counted_not_sampled() {
        let mut s = Series::new();
        s.record("x", Ok(Duration::from_millis(3)));
        s.record("x", Err(anyhow::anyhow!("boom")));
        s.push(1.0);
        let sum = s.summary();
        assert_eq!((sum.samples, sum.failures), (2, 1));
        assert_eq!(sum.p50, 2.0);
        assert_eq!(sum.min, 1.0);
        assert!(Series::new().summary().p50.is_nan());
    }
}
