//! `sandboxd-bench`: sandboxd's numbers beside the raw Docker Engine API's, measured in the same
//! run. Rule: every figure is measured interleaved — sandboxd and raw alternate, alternating
//! which goes first, after untimed warm-up — against a sandboxd started as a child process (the
//! `serve` of the `sandboxd` library's CLI, see `child`; own instance, temp data dir, loopback
//! ports) and raw containers made the same way sandboxd makes them; all loops are bounded in
//! count and time, traffic goes only to loopback and to containers the bench created, and
//! cleanup runs on success, failure and Ctrl-C alike.
//!
//! It is its own crate and binary because it runs the fixture app from `sandboxd-testkit`,
//! which the release `sandboxd` binary must not carry.

mod agent;
mod api;
mod burst;
mod child;
mod cleanup;
mod e2b;
mod files;
mod footprint;
mod frozen;
mod http;
mod lifecycle;
mod load;
mod output;
mod peers;
mod plan;
mod proxy;
mod raw;
mod report;
mod stats;
mod terminal;
mod wake;
mod wrk;

pub use cleanup::CleanupReport;
pub use output::{Host, Report};
pub use plan::{BenchArgs, Plan};
pub use report::{Figure, Ratio};
pub use stats::Summary;

use anyhow::{anyhow, Context, Result};
use bollard::Docker;
use stats::Series;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What the figures measure against.
pub(crate) struct Env {
    api: api::Api,
    raw: raw::Raw,
    docker: Docker,
    preview: SocketAddr,
    /// The sandboxd child, for CPU readings.
    child_pid: u32,
    plan: Plan,
    /// The bench's temp dir (peers' config and logs).
    dir: PathBuf,
    /// Traefik to measure beside the proxy, when given.
    traefik: Option<PathBuf>,
    /// nginx to measure beside the proxy, when given or installed.
    nginx: Option<PathBuf>,
    /// Cross-check the proxy figure with wrk.
    wrk: bool,
}

/// Everything the bench created, for cleanup; figures as they complete.
pub(crate) struct Session {
    instance: String,
    dir: PathBuf,
    raw_network: String,
    docker: Docker,
    child: Option<child::Child>,
    figures: Vec<Figure>,
}

/// The CLI entry: run, print the Markdown, write the JSON. Exit 1 when a figure could not be
/// taken or cleanup left something behind (a missed target is a result, not a failure).
pub async fn run(args: BenchArgs) -> Result<i32> {
    let report = run_report(&args).await?;
    print!("{}", output::markdown(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("bench: JSON written to {}", path.display());
    }
    Ok(if report.error.is_none() && report.cleanup.ok {
        0
    } else {
        1
    })
}

/// Run the whole bench and return its report (also when a figure failed).
pub async fn run_report(args: &BenchArgs) -> Result<Report> {
    let plan = Plan::from_args(args);
    let docker = sandboxd_testkit::docker()
        .await
        .context("connecting to the Docker engine")?;
    let image = match &args.image {
        Some(i) => i.clone(),
        None => sandboxd_testkit::test_image().await?.to_string(),
    };
    let bin = match &args.sandboxd_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("locating this executable")?,
    };
    let host = output::host(&docker).await;
    let tag = format!("{:08x}", sandboxd_testkit::rand_u32());
    let instance = format!("bench-{tag}");
    let dir = std::env::temp_dir().join(format!("sandboxd-bench-{tag}"));
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut session = Session {
        raw_network: format!("sandboxd-bench-raw-{tag}"),
        instance,
        dir,
        docker: docker.clone(),
        child: None,
        figures: Vec::new(),
    };
    eprintln!(
        "bench: instance {}, data in {}, image {image}",
        session.instance,
        session.dir.display()
    );
    let outcome = tokio::select! {
        r = measure(&mut session, &plan, &image, &bin, args) => r,
        sig = interrupted() => Err(anyhow!("interrupted by {sig}")),
    };
    if let Err(e) = &outcome {
        eprintln!("bench: {e:#}");
    }
    eprintln!("bench: cleaning up");
    let cleanup = cleanup::run(&mut session).await;
    Ok(Report::new(
        &session,
        plan,
        host,
        image,
        cleanup,
        outcome.err(),
    ))
}

async fn measure(
    s: &mut Session,
    plan: &Plan,
    image: &str,
    bin: &std::path::Path,
    args: &BenchArgs,
) -> Result<()> {
    let limits = raw::Limits::serve_defaults();
    let child = s.child.insert(child::Child::spawn(child::Spawn {
        bin,
        data_dir: &s.dir,
        instance: &s.instance,
        image,
        limits,
    })?);
    let api = api::Api::new(&child.api, &s.instance, &s.dir.join("data"))?;
    let ready = child.wait_ready(api.client()).await?;
    eprintln!("bench: sandboxd (pid {}) ready in {ready:?}", child.pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = child.rss_mib()?;
    let raw = raw::Raw::setup(
        s.docker.clone(),
        &s.instance,
        &s.raw_network,
        &s.dir,
        image,
        limits,
    )
    .await?;
    let env = Env {
        api,
        raw,
        docker: s.docker.clone(),
        preview: child.preview_addr,
        child_pid: child.pid,
        plan: plan.clone(),
        dir: s.dir.clone(),
        traefik: args.traefik.clone(),
        nginx: peers::locate_nginx(args.nginx.as_deref()),
        wrk: plan.wrk,
    };
    let figures = &mut s.figures;
    // A figure that cannot be taken is reported and the others are still measured.
    let mut failed: Vec<String> = Vec::new();
    let mut add = |what: &str, r: Result<Vec<Figure>>| match r {
        Ok(f) => figures.extend(f),
        Err(e) => {
            eprintln!("bench: {what} failed: {e:#}");
            failed.push(format!("{what}: {e:#}"));
        }
    };
    eprintln!("bench: 1/8 time to interactive");
    add(
        "time to interactive",
        Ok(vec![lifecycle::time_to_interactive(&env).await]),
    );
    eprintln!("bench: 2-3/8 exec, stop and start");
    add(
        "exec, stop and start",
        lifecycle::exec_and_stop_start(&env).await,
    );
    eprintln!("bench: 4/8 wake to first byte");
    add(
        "wake",
        wake::wake_to_first_byte(&env).await.map(|f| vec![f]),
    );
    eprintln!("bench: 4b/8 wake a frozen sandbox to first byte");
    add(
        "wake frozen",
        frozen::wake_frozen_to_first_byte(&env)
            .await
            .map(|f| vec![f]),
    );
    eprintln!("bench: 5-6/8 proxy overhead and WebSocket");
    add(
        "proxy and WebSocket",
        proxy::proxy_and_websocket(&env).await,
    );
    eprintln!("bench: 7/8 bursts");
    add("bursts", Ok(burst::bursts(&env).await));
    eprintln!("bench: 8/8 footprint");
    let child = s.child.as_ref().context("child vanished")?;
    add(
        "footprint",
        footprint::footprint(&env, child, idle_rss).await,
    );
    eprintln!("bench: 9 (after the footprint, which it must not inflate) terminal keystroke echo");
    add(
        "terminal keystroke echo",
        terminal::keystroke_echo(&env).await.map(|f| vec![f]),
    );
    eprintln!("bench: 10 files through the agent, and the agent's footprint");
    add("files", files::files_and_agent(&env).await);
    eprintln!("bench: 11 time to interactive through the E2B SDK");
    add(
        "E2B SDK time to interactive",
        e2b::time_to_interactive(&env).await,
    );
    let empty: Vec<&str> = s
        .figures
        .iter()
        .filter(|f| f.samples == 0 || f.raw.is_some_and(|r| r.samples == 0))
        .map(|f| f.name.as_str())
        .collect();
    if !empty.is_empty() {
        failed.push(format!("no samples for: {}", empty.join(", ")));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(failed.join("; ")))
    }
}

/// Run `a` (sandboxd) and `b` (raw) `warmup + n` times each, alternating which goes first;
/// the first `warmup` rounds are not recorded.
pub(crate) async fn interleaved<A, B, FA, FB>(
    n: usize,
    warmup: usize,
    what: &str,
    mut a: A,
    mut b: B,
) -> (Series, Series)
where
    A: FnMut() -> FA,
    B: FnMut() -> FB,
    FA: Future<Output = Result<Duration>>,
    FB: Future<Output = Result<Duration>>,
{
    let (mut sa, mut sb) = (Series::new(), Series::new());
    for i in 0..warmup + n {
        let (ra, rb) = if i % 2 == 0 {
            let ra = a().await;
            (ra, b().await)
        } else {
            let rb = b().await;
            (a().await, rb)
        };
        if i >= warmup {
            sa.record(&format!("{what} (sandboxd)"), ra);
            sb.record(&format!("{what} (raw)"), rb);
        }
    }
    (sa, sb)
}

/// Resolves on Ctrl-C or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
