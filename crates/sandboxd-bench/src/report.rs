//! Rule: a figure reads the same in Markdown and in JSON — name, unit, sample count, p50/p90/p99
//! for sandboxd and for raw Docker, the ratio sandboxd ÷ raw per percentile, the target in words
//! and whether it is met. A missed target is printed as missed; nothing is rounded in its favour.

use super::stats::{Series, Summary};
use serde::Serialize;
use std::collections::BTreeMap;

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Section heading it belongs to (e.g. "1. Time to interactive").
    pub section: &'static str,
    /// Stable machine name (e.g. `time_to_interactive`).
    pub name: String,
    pub unit: &'static str,
    /// Samples on the sandboxd side (the raw side's count is in `raw.samples`).
    pub samples: usize,
    pub sandboxd: Summary,
    pub raw: Option<Summary>,
    /// sandboxd ÷ raw at each percentile.
    pub ratio: Option<Ratio>,
    pub target: Option<String>,
    pub met: Option<bool>,
    /// Further numbers of this figure (throughput, wall times, failures, ...).
    pub extra: BTreeMap<String, f64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratio {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Figure {
    pub fn new(
        section: &'static str,
        name: impl Into<String>,
        unit: &'static str,
        sandboxd: &Series,
        raw: Option<&Series>,
    ) -> Self {
        let s = sandboxd.summary();
        let r = raw.map(Series::summary);
        let ratio = r.map(|r| Ratio {
            p50: s.p50 / r.p50,
            p90: s.p90 / r.p90,
            p99: s.p99 / r.p99,
        });
        Figure {
            section,
            name: name.into(),
            unit,
            samples: s.samples,
            sandboxd: s,
            raw: r,
            ratio,
            target: None,
            met: None,
            extra: BTreeMap::new(),
            note: None,
        }
    }

    pub fn target(mut self, text: impl Into<String>, met: bool) -> Self {
        self.target = Some(text.into());
        self.met = Some(met);
        self
    }

    pub fn extra(mut self, key: &str, v: f64) -> Self {
        self.extra.insert(key.to_string(), v);
        self
    }

    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.note = Some(text.into());
        self
    }
}

/// A number printed with precision that suits its size.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}×")
    } else {
        "—".into()
    }
}

/// The Markdown tables, one section per figure group, in the order figures were taken.
pub fn tables(figures: &[Figure]) -> String {
    let mut out = String::new();
    let mut sections: Vec<&'static str> = Vec::new();
    for f in figures {
        if !sections.contains(&f.section) {
            sections.push(f.section);
        }
    }
    for section in sections {
        out.push_str(&format!("### {section}\n\n"));
        out.push_str(
            "| figure | unit | n (sandboxd/raw) | sandboxd p50 / p90 / p99 | raw p50 / p90 / p99 \
             | ratio p50 / p90 / p99 | target | met |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        let group: Vec<&Figure> = figures.iter().filter(|f| f.section == section).collect();
        for f in &group {
            out.push_str(&row(f));
        }
        out.push('\n');
        for f in &group {
            if let Some(n) = &f.note {
                out.push_str(&format!("- `{}`: {n}\n", f.name));
            }
        }
        if group.iter().any(|f| f.note.is_some()) {
            out.push('\n');
        }
    }
    out
}

fn row(f: &Figure) -> String {
    let trio = |s: &Summary| format!("{} / {} / {}", num(s.p50), num(s.p90), num(s.p99));
    let count = |s: &Summary| {
        if s.failures > 0 {
            format!("{} ({} failed)", s.samples, s.failures)
        } else {
            s.samples.to_string()
        }
    };
    let (raw_n, raw_trio) = match &f.raw {
        Some(r) => (count(r), trio(r)),
        None => ("—".into(), "—".into()),
    };
    let ratios = match &f.ratio {
        Some(r) => format!("{} / {} / {}", ratio(r.p50), ratio(r.p90), ratio(r.p99)),
        None => "—".into(),
    };
    let met = match f.met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "—",
    };
    format!(
        "| {} | {} | {} / {} | {} | {} | {} | {} | {} |\n",
        f.name,
        f.unit,
        count(&f.sandboxd),
        raw_n,
        trio(&f.sandboxd),
        raw_trio,
        ratios,
        f.target.as_deref().unwrap_or("—"),
        met
    )
}

/// The targets, one line each, for the summary at the end.
pub fn targets(figures: &[Figure]) -> String {
    let mut out = String::new();
    for f in figures.iter().filter(|f| f.target.is_some()) {
        let verdict = match f.met {
            Some(true) => "met",
            _ => "MISSED",
        };
        out.push_str(&format!(
            "- {verdict}: `{}` — {}\n",
            f.name,
            f.target.as_deref().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_carry_ratios_and_render_missed_targets() {
        let s = Series::single(3.0);
        let r = Series::single(2.0);
        let f = Figure::new("1. X", "x", "ms", &s, Some(&r)).target("≤ 1.15× raw", false);
        assert_eq!(f.ratio.map(|r| r.p50), Some(1.5));
        let md = tables(std::slice::from_ref(&f));
        assert!(md.contains("### 1. X"));
        assert!(md.contains("**missed**"));
        assert!(md.contains("1.50×"));
        assert!(targets(&[f]).contains("MISSED"));
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(1234.4), "1234");
    }
}
