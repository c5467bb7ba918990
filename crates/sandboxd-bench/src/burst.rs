//! Figure 7, a burst of creates. Rule: all requests of a burst leave together and the wall time
//! runs from the first send until the last answer; every request that does not end in a running
//! sandbox (or container) is a failure, counted and shown. Whatever a burst made is removed before
//! the next one, outside the clock.

use super::report::Figure;
use super::stats::{ms, Series};
use super::Env;
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use std::time::{Duration, Instant};

const BURST: &str = "7. Burst of concurrent creates";
/// How many removals run at once after a burst.
const CLEANUP_CONCURRENCY: usize = 8;

pub async fn bursts(env: &Env) -> Vec<Figure> {
    let mut out = Vec::new();
    for (k, &size) in env.plan.bursts.iter().enumerate() {
        let (s, r) = if k % 2 == 0 {
            let s = sandboxd_burst(env, size).await;
            (s, raw_burst(env, size).await)
        } else {
            let r = raw_burst(env, size).await;
            (sandboxd_burst(env, size).await, r)
        };
        let ((s, s_wall), (r, r_wall)) = (s, r);
        let wall_ratio = ms(s_wall) / ms(r_wall);
        let note = format!(
            "{size} at once: wall {:.0} ms vs {:.0} ms raw ({wall_ratio:.2}×); failures {} vs {} raw; \
             the table shows each request's own latency",
            ms(s_wall),
            ms(r_wall),
            s.failures,
            r.failures
        );
        out.push(
            Figure::new(BURST, format!("burst_{size}"), "ms", &s, Some(&r))
                .extra("size", size as f64)
                .extra("wall_ms_sandboxd", ms(s_wall))
                .extra("wall_ms_raw", ms(r_wall))
                .extra("wall_ratio", wall_ratio)
                .extra("failures_sandboxd", s.failures as f64)
                .extra("failures_raw", r.failures as f64)
                .note(note),
        );
    }
    out
}

async fn sandboxd_burst(env: &Env, size: usize) -> (Series, Duration) {
    let t = Instant::now();
    let results = join_all((0..size).map(|_| async {
        let t = Instant::now();
        (env.api.create(None).await, t.elapsed())
    }))
    .await;
    let wall = t.elapsed();
    let mut series = Series::new();
    let mut ids = Vec::new();
    for (r, d) in results {
        match r {
            Ok(id) => {
                series.push_ms(d);
                ids.push(id);
            }
            Err(e) => series.record("sandboxd burst create", Err(e)),
        }
    }
    stream::iter(ids)
        .for_each_concurrent(CLEANUP_CONCURRENCY, |id| async move {
            if let Err(e) = env.api.purge(&id).await {
                eprintln!("bench: purging {id}: {e:#}");
            }
        })
        .await;
    (series, wall)
}

async fn raw_burst(env: &Env, size: usize) -> (Series, Duration) {
    let t = Instant::now();
    let results = join_all((0..size).map(|_| async {
        let t = Instant::now();
        let name = env.raw.create(None).await;
        let started = match &name {
            Ok(n) => env.raw.start(n).await,
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        (name, started, t.elapsed())
    }))
    .await;
    let wall = t.elapsed();
    let mut series = Series::new();
    let mut names = Vec::new();
    for (name, started, d) in results {
        match started {
            Ok(()) => series.push_ms(d),
            Err(e) => series.record("raw burst create+start", Err(e)),
        }
        if let Ok(n) = name {
            names.push(n);
        }
    }
    stream::iter(names)
        .for_each_concurrent(CLEANUP_CONCURRENCY, |n| async move {
            if let Err(e) = env.raw.remove(&n).await {
                eprintln!("bench: removing {n}: {e:#}");
            }
        })
        .await;
    (series, wall)
}
