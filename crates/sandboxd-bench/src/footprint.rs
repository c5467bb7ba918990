//! Figure 8, footprint. Rule: sandboxd's own memory is the child's VmRSS read from /proc after a
//! settling pause (idle, then with many stopped sandboxes, then with some of them running), and
//! host memory per running idle sandbox is the drop in MemAvailable divided by the count — the
//! same reading for raw containers — reported with a note that it is noisy (page cache, other
//! processes and the engine itself move it too).

use super::child::Child;
use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{anyhow, Context, Result};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;

const FOOTPRINT: &str = "8. Footprint";
const SETTLE: Duration = Duration::from_secs(3);
const CONCURRENCY: usize = 4;

/// Host MemAvailable in MiB, averaged over five readings 200 ms apart (it jitters).
async fn mem_available_mib() -> Result<f64> {
    let mut sum = 0.0;
    for i in 0..5 {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sum += mem_available_once()?;
    }
    Ok(sum / 5.0)
}

/// MemAvailable in MiB, read the way admission reads it.
fn mem_available_once() -> Result<f64> {
    use sandboxd_engine::memory::{HostMemory, ProcMeminfo};
    let reading = ProcMeminfo
        .read()
        .context("no MemAvailable in /proc/meminfo")?;
    Ok(reading.available as f64 / (1024.0 * 1024.0))
}

fn rss_figure(name: String, child: &Child, note: String) -> Result<Figure> {
    let rss = child.rss_mib()?;
    Ok(Figure::new(FOOTPRINT, name, "MiB", &Series::single(rss), None).note(note))
}

/// Idle RSS was read at start-up; this adds the loaded readings and the per-sandbox memory.
pub async fn footprint(env: &Env, child: &Child, idle_rss: f64) -> Result<Vec<Figure>> {
    let mut out = vec![Figure::new(
        FOOTPRINT,
        "rss_idle",
        "MiB",
        &Series::single(idle_rss),
        None,
    )
    .note("VmRSS of the sandboxd child once ready, before any sandbox existed")];
    let (stopped, running) = (env.plan.stopped, env.plan.running);
    // Create-then-stop, a few at a time, so at most CONCURRENCY extra sandboxes ever run.
    let ids: Vec<String> = stream::iter(0..stopped)
        .map(|_| async {
            let id = env.api.create(None).await?;
            env.api.stop(&id).await?;
            Ok::<_, anyhow::Error>(id)
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| async move {
            r.map_err(|e| eprintln!("bench: footprint create+stop: {e:#}"))
                .ok()
        })
        .collect()
        .await;
    tokio::time::sleep(SETTLE).await;
    out.push(rss_figure(
        format!("rss_{stopped}_stopped"),
        child,
        format!("{} of {stopped} sandboxes created and stopped", ids.len()),
    )?);

    let sandboxes: Vec<&String> = ids.iter().take(running).collect();
    let containers: Vec<String> = sandboxes
        .iter()
        .map(|id| env.api.container(id))
        .collect::<Result<_>>()?;
    let names: Vec<String> = stream::iter(0..running)
        .map(|_| env.raw.create(None))
        .buffer_unordered(CONCURRENCY)
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    let (mut host_s, mut host_r) = (Series::new(), Series::new());
    let (mut cgroup_s, mut cgroup_r) = (Series::new(), Series::new());
    let mut readings = Vec::new();
    // Rounds alternate which side starts first; each side is stopped again after its reading.
    for round in 0..env.plan.mem_rounds {
        for sandboxd in [round % 2 == 0, round % 2 != 0] {
            let before = mem_available_mib().await?;
            let started = if sandboxd {
                count_ok(stream::iter(&sandboxes).map(|id| env.api.start(id))).await
            } else {
                count_ok(stream::iter(&names).map(|n| env.raw.start(n))).await
            };
            tokio::time::sleep(SETTLE).await;
            let after = mem_available_mib().await?;
            let (host, side) = if sandboxd {
                (&mut host_s, "sandboxd")
            } else {
                (&mut host_r, "raw")
            };
            match started {
                0 => host.record_value(
                    "starting for the memory reading",
                    Err(anyhow!("none started")),
                ),
                n => host.push((before - after) / n as f64),
            }
            readings.push(format!(
                "{side} {before:.0} → {after:.0} MiB ({started} started)"
            ));
            if round == 0 && sandboxd {
                out.push(rss_figure(
                    format!("rss_{running}_running"),
                    child,
                    format!(
                        "{started} of them started again ({} known in total)",
                        ids.len()
                    ),
                )?);
                cgroup_s = cgroup_series(env, &containers).await;
            } else if round == 0 {
                cgroup_r = cgroup_series(env, &names).await;
            }
            if sandboxd {
                count_ok(stream::iter(&sandboxes).map(|id| env.api.stop(id))).await;
            } else {
                count_ok(stream::iter(&names).map(|n| env.raw.stop(n))).await;
            }
        }
    }
    stream::iter(&names)
        .for_each_concurrent(CONCURRENCY, |n| async move {
            let _ = env.raw.remove(n).await;
        })
        .await;
    out.push(
        Figure::new(
            FOOTPRINT,
            "host_mem_per_running_sandbox",
            "MiB",
            &host_s,
            Some(&host_r),
        )
        .note(format!(
            "drop in MemAvailable (mean of 5 readings, before and {SETTLE:?} after starting \
             {running} idle sandboxes or raw containers) divided by the count, one sample per \
             round: {}; noisy — page cache, dockerd and anything else on the host move \
             MemAvailable too, so a round can even come out negative",
            readings.join("; ")
        )),
    );
    out.push(
        Figure::new(
            FOOTPRINT,
            "container_mem_per_running_sandbox",
            "MiB",
            &cgroup_s,
            Some(&cgroup_r),
        )
        .note(
            "memory cgroup usage minus inactive file cache of each running idle container (the \
             Docker stats API, as `docker stats` shows it), one sample per container; only what \
             runs inside the container, not the engine's per-container shim",
        ),
    );
    Ok(out)
}

/// Memory of each container as `docker stats` computes it (usage − inactive file), in MiB.
async fn cgroup_series(env: &Env, names: &[String]) -> Series {
    let mut series = Series::new();
    for name in names {
        series.record_value("container memory", container_mem(env, name).await);
    }
    series
}

async fn container_mem(env: &Env, name: &str) -> Result<f64> {
    use bollard::container::{MemoryStatsStats, StatsOptions};
    let opts = StatsOptions {
        stream: false,
        one_shot: true,
    };
    let stats = env
        .docker
        .stats(name, Some(opts))
        .next()
        .await
        .context("no stats")??;
    let m = stats.memory_stats;
    let usage = m
        .usage
        .context("no memory usage (container not running?)")?;
    let inactive = match m.stats {
        Some(MemoryStatsStats::V1(v1)) => v1.total_inactive_file,
        Some(MemoryStatsStats::V2(v2)) => v2.inactive_file,
        None => 0,
    };
    Ok(usage.saturating_sub(inactive) as f64 / (1024.0 * 1024.0))
}

/// Run futures a few at a time; how many succeeded.
async fn count_ok<S, F>(s: S) -> usize
where
    S: futures_util::Stream<Item = F>,
    F: std::future::Future<Output = Result<()>>,
{
    s.buffer_unordered(CONCURRENCY)
        .filter(|r| {
            if let Err(e) = r {
                eprintln!("bench: footprint start: {e:#}");
            }
            std::future::ready(r.is_ok())
        })
        .count()
        .await
}
