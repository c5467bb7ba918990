//! `--wrk`: the proxy figure cross-checked with wrk as the load generator. Rule: wrk sends the
//! same requests (same Host, same path, same connection count) to the same two addresses, in
//! alternating rounds after the built-in generator's; its own report (requests/s and the latency
//! distribution) is parsed, never re-derived, and any 4xx/5xx answer (what wrk counts as
//! "Non-2xx or 3xx") or socket error makes the round a failure rather than a number.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::time::Duration;

/// What one wrk run reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkRun {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Run wrk (from PATH) against `addr` with `host` for `duration` on `connections` connections.
pub async fn run(
    addr: SocketAddr,
    host: &str,
    connections: usize,
    duration: Duration,
) -> Result<WrkRun> {
    let threads = connections.clamp(1, 2);
    let secs = duration.as_secs().max(1);
    let out = tokio::process::Command::new("wrk")
        .args(["--latency", "-t", &threads.to_string()])
        .args(["-c", &connections.to_string(), "-d", &format!("{secs}s")])
        .args(["-H", &format!("Host: {host}")])
        .arg(format!("http://{addr}/"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(duration + Duration::from_secs(30), out)
        .await
        .context("wrk did not finish")?
        .context("running wrk (is it installed? apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text)
}

/// Parse wrk's `--latency` report.
pub fn parse(text: &str) -> Result<WrkRun> {
    for bad in ["Non-2xx or 3xx responses:", "Socket errors:"] {
        if let Some(line) = text.lines().find(|l| l.trim_start().starts_with(bad)) {
            bail!("wrk saw errors: {}", line.trim());
        }
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .context("no Requests/sec in wrk's report")?;
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(str::trim))
            .and_then(duration_ms)
            .with_context(|| format!("no {p} latency in wrk's report"))
    };
    Ok(WrkRun {
        rps,
        p50_ms: pct("50%")?,
        p99_ms: pct("99%")?,
    })
}

/// `812.00us`, `1.20ms`, `2.01s` → milliseconds.
fn duration_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (v.strip_suffix('s')?, 1e3)
    };
    num.parse::<f64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 3s test @ http://127.0.0.1:19181/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   556.14us  246.62us   6.66ms   85.65%
    Req/Sec    27.05k     1.20k   29.00k    70.00%
  Latency Distribution
     50%  512.00us
     75%  601.00us
     90%  750.00us
     99%    1.53ms
  80700 requests in 3.00s, 11.39MB read
Requests/sec:  26900.66
Transfer/sec:      3.80MB
";

    #[test]
    fn parses_throughput_and_percentiles() {
        let r = parse(REPORT).unwrap();
        assert_eq!(r.rps, 26900.66);
        assert!((r.p50_ms - 0.512).abs() < 1e-9, "{r:?}");
        assert!((r.p99_ms - 1.53).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn errors_and_missing_fields_are_failures() {
        let errs = REPORT.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        assert!(parse(&errs).unwrap_err().to_string().contains("Non-2xx"));
        assert!(parse("nothing here").is_err());
        assert_eq!(duration_ms("2.50s"), Some(2500.0));
        assert_eq!(duration_ms("1.00m"), Some(60_000.0));
        assert_eq!(duration_ms("fast"), None);
    }
}
