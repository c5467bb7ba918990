//! Figures 1–3, the lifecycle: time to interactive (create until the first exec of `true` has
//! returned), the exec round trip on a running sandbox (three paths, see `agent`) and the first
//! output byte of a streamed process, and stop and start. Rule: each timed
//! step is exactly what a caller waits for — an API call of sandboxd against the Engine API calls
//! a careful raw caller makes for the same outcome — and everything set up or torn down around
//! it (deletes, purges, removals) happens outside the clock.

use super::report::Figure;
use super::stats::Series;
use super::{interleaved, Env};
use anyhow::{anyhow, Result};
use std::future::Future;
use std::time::{Duration, Instant};

const TTI: &str = "1. Time to interactive";
const EXEC: &str = "2. Exec round trip";
const STOP_START: &str = "3. Stop and start";

/// Create (empty body) → first exec of `true` returned; then purge, untimed.
async fn sandboxd_tti(env: &Env) -> Result<Duration> {
    let t = Instant::now();
    let created = env.api.create(None).await;
    let result = match &created {
        Ok(id) => env.api.exec_true(id).await.map(|()| t.elapsed()),
        Err(e) => Err(anyhow!("{e:#}")),
    };
    if let Ok(id) = created {
        if let Err(e) = env.api.purge(&id).await {
            eprintln!("bench: purging {id}: {e:#}");
        }
    }
    result
}

/// Create + start + exec `true` through the Engine API; then remove, untimed (also the raw
/// side of figure 10).
pub(crate) async fn raw_tti(env: &Env) -> Result<Duration> {
    let t = Instant::now();
    let created = env.raw.create(None).await;
    let result = match &created {
        Ok(name) => {
            async {
                env.raw.start(name).await?;
                env.raw.exec_true(name).await?;
                Ok(t.elapsed())
            }
            .await
        }
        Err(e) => Err(anyhow!("{e:#}")),
    };
    if let Ok(name) = created {
        if let Err(e) = env.raw.remove(&name).await {
            eprintln!("bench: removing {name}: {e:#}");
        }
    }
    result
}

/// The time an operation takes, measured from its first poll.
pub async fn timed<F: Future<Output = Result<()>>>(op: F) -> Result<Duration> {
    let t = Instant::now();
    op.await.map(|()| t.elapsed())
}

pub async fn time_to_interactive(env: &Env) -> Figure {
    let (s, r) = interleaved(
        env.plan.n,
        1,
        "time to interactive",
        || sandboxd_tti(env),
        || raw_tti(env),
    )
    .await;
    let f = Figure::new(TTI, "time_to_interactive", "ms", &s, Some(&r));
    let ratio = f.ratio.map(|r| r.p50).unwrap_or(f64::NAN);
    f.target("p50 ≤ 1.15× raw", ratio <= 1.15)
}

/// Figures 2 and 3 on one plain sandbox and one plain raw container.
pub async fn exec_and_stop_start(env: &Env) -> Result<Vec<Figure>> {
    let id = env.api.create(None).await?;
    let name = match env.raw.create(None).await {
        Ok(n) => n,
        Err(e) => {
            let _ = env.api.purge(&id).await;
            return Err(e);
        }
    };
    let result = measure_on(env, &id, &name).await;
    let _ = env.api.purge(&id).await;
    let _ = env.raw.remove(&name).await;
    result
}

async fn measure_on(env: &Env, id: &str, name: &str) -> Result<Vec<Figure>> {
    env.raw.start(name).await?;
    let (s, r, direct) = super::agent::exec_paths(env, id, name).await?;
    let f = Figure::new(EXEC, "exec_true", "ms", &s, Some(&r))
        .note("sandboxd's exec goes through the in-sandbox agent; raw is docker exec");
    let p50 = f.sandboxd.p50;
    let exec = f.target("p50 ≤ 10 ms", p50 <= 10.0);
    let first_byte = super::agent::first_output_byte(env, id, name).await?;

    let (mut stop_s, mut stop_r, mut start_s, mut start_r) =
        (Series::new(), Series::new(), Series::new(), Series::new());
    for i in 0..env.plan.n {
        let sandboxd_first = i % 2 == 0;
        for side in [sandboxd_first, !sandboxd_first] {
            if side {
                stop_s.record("sandboxd stop", timed(env.api.stop(id)).await);
                start_s.record("sandboxd start", timed(env.api.start(id)).await);
            } else {
                stop_r.record("raw stop", timed(env.raw.stop(name)).await);
                start_r.record("raw start", timed(env.raw.start(name)).await);
            }
        }
    }
    let stop = Figure::new(STOP_START, "stop", "ms", &stop_s, Some(&stop_r)).note(
        "no exec ran in these sandboxes, so sandboxd's stop is retire route + stop + store write \
         (after an exec it would first ask init which processes listen, one more exec); both \
         stop with a 3 s grace, init exits at once",
    );
    let start = Figure::new(STOP_START, "start", "ms", &start_s, Some(&start_r)).note(
        "sandboxd's start is inspect + start + inspect (to publish the route) + two store writes",
    );
    Ok(vec![exec, direct, first_byte, stop, start])
}
