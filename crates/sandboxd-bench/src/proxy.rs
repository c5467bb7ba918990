//! Figures 5 and 6, what the preview proxy costs. Rule: the same running sandbox is loaded twice
//! with identical requests (same path, same Host header) — once through the preview listener,
//! once straight at its container address — in alternating rounds, so both see the same app, the
//! same host guard and the same machine state; the difference is the proxy alone. The same
//! rounds also load the reference proxies of [`super::peers`] (an L4 byte relay, the floor of
//! any user-space proxy here; nginx when installed or given; Traefik when given), reported beside
//! sandboxd's figure.

mod websocket;

use super::api::Api;
use super::child::{cpu_seconds, cpu_split};
use super::load::{self, LoadResult};
use super::peers::{Nginx, Relay, Traefik};
use super::raw::container_ip;
use super::report::Figure;
use super::wake::until_served;
use super::wrk::{self, WrkRun};
use super::Env;
use anyhow::Result;
use sandboxd_testkit::FIXTURE_APP;
use std::net::SocketAddr;
use std::time::Duration;

const PROXY: &str = "5. Proxy overhead (HTTP, keep-alive, closed loop)";
const WS: &str = "6. WebSocket echo round trip";
/// Upper bound on requests in one load run (keeps memory for latencies bounded).
const MAX_REQUESTS: u64 = 2_000_000;
const WARMUP: Duration = Duration::from_millis(200);

pub async fn proxy_and_websocket(env: &Env) -> Result<Vec<Figure>> {
    let id = env.api.create(Some(FIXTURE_APP)).await?;
    let result = measure(env, &id).await;
    let _ = env.api.purge(&id).await;
    result
}

/// The reference proxies in front of the same container.
struct Peers {
    relay: Relay,
    /// Separate processes, measured with their CPU: nginx, then Traefik.
    procs: Vec<ProcPeer>,
}

/// A reference proxy running as its own process(es).
struct ProcPeer {
    /// Its name and version, for the note.
    label: String,
    /// Prefix of its figure extras (`rps_<key>`, `<key>_p50_ms`, `<key>_cpu_us_per_request`).
    key: &'static str,
    addr: SocketAddr,
    /// CPU seconds the peer used so far.
    cpu: Box<dyn Fn() -> f64 + Send + Sync>,
    /// Keeps the process running until the figures are taken.
    _keep: Box<dyn Send + Sync>,
}

async fn measure(env: &Env, id: &str) -> Result<Vec<Figure>> {
    until_served(env, id).await?;
    let ip = container_ip(&env.docker, &env.api.container(id)?, &env.api.network()).await?;
    let direct = SocketAddr::new(ip, 3000);
    let host = Api::preview_host(id, 3000);
    // A peer that cannot start costs its comparison, not sandboxd's figures.
    let mut procs = Vec::new();
    if let Some(bin) = &env.nginx {
        match Nginx::start(bin, &env.dir, &host, direct).await {
            Ok(n) => procs.push(ProcPeer {
                label: format!("nginx {}", n.version),
                key: "nginx",
                addr: n.addr,
                cpu: {
                    let pid = n.pid;
                    Box::new(move || Nginx::cpu_of(pid).unwrap_or(f64::NAN))
                },
                _keep: Box::new(n),
            }),
            Err(e) => eprintln!("bench: nginx left out of figure 5: {e:#}"),
        }
    }
    if let Some(bin) = &env.traefik {
        match Traefik::start(bin, &env.dir, &host, direct).await {
            Ok(t) => procs.push(ProcPeer {
                label: format!("Traefik {}", t.version),
                key: "traefik",
                addr: t.addr,
                cpu: {
                    let pid = t.pid;
                    Box::new(move || cpu_seconds(pid).unwrap_or(f64::NAN))
                },
                _keep: Box::new(t),
            }),
            Err(e) => eprintln!("bench: Traefik left out of figure 5: {e:#}"),
        }
    }
    let peers = Peers {
        relay: Relay::start(direct)?,
        procs,
    };
    let mut figures = Vec::new();
    for &c in &env.plan.concurrency {
        figures.push(http_level(env, &host, direct, &peers, c).await);
    }
    figures.push(websocket::websocket(env, &host, direct).await?);
    Ok(figures)
}

/// Load through one peer: its latencies and, for a separate process, its CPU seconds.
struct PeerRun {
    load: LoadResult,
    cpu: f64,
}

impl PeerRun {
    fn new() -> Self {
        PeerRun {
            load: LoadResult::empty(),
            cpu: 0.0,
        }
    }

    fn cpu_us_per_request(&self) -> f64 {
        self.cpu * 1e6 / self.load.requests.max(1) as f64
    }

    /// "name: N req/s (R× direct), p50 L ms[, C µs of CPU per request]".
    fn describe(&self, name: &str, rps_direct: f64, with_cpu: bool) -> String {
        let rps = self.load.rps();
        let p50 = self.load.latency.summary().p50;
        let mut out = format!(
            "{name}: {rps:.0} req/s ({:.2}× direct), p50 {p50:.3} ms",
            rps / rps_direct
        );
        if with_cpu {
            let us = self.cpu_us_per_request();
            out.push_str(&format!(", {us:.0} µs of CPU per request"));
        }
        out
    }
}

async fn http_level(env: &Env, host: &str, direct: SocketAddr, peers: &Peers, c: usize) -> Figure {
    let run = |addr, d| load::run(addr, host, c, d, MAX_REQUESTS);
    run(env.preview, WARMUP).await;
    run(direct, WARMUP).await;
    run(peers.relay.addr, WARMUP).await;
    for p in &peers.procs {
        run(p.addr, WARMUP).await;
    }
    let round = Duration::from_millis(env.plan.load_round_ms);
    let (mut via, mut straight) = (LoadResult::empty(), LoadResult::empty());
    let mut relay = PeerRun::new();
    let mut procs: Vec<PeerRun> = peers.procs.iter().map(|_| PeerRun::new()).collect();
    let (mut user, mut sys) = (0.0, 0.0);
    let split = || cpu_split(env.child_pid).unwrap_or((f64::NAN, f64::NAN));
    for k in 0..env.plan.load_rounds {
        if k % 2 != 0 {
            straight.merge(run(direct, round).await);
        }
        let before = split();
        via.merge(run(env.preview, round).await);
        let after = split();
        (user, sys) = (user + after.0 - before.0, sys + after.1 - before.1);
        if k % 2 == 0 {
            straight.merge(run(direct, round).await);
        }
        relay.load.merge(run(peers.relay.addr, round).await);
        for (p, r) in peers.procs.iter().zip(procs.iter_mut()) {
            let before = (p.cpu)();
            r.load.merge(run(p.addr, round).await);
            r.cpu += (p.cpu)() - before;
        }
    }
    let wrk = if env.wrk {
        Some(wrk_rounds(env, host, direct, c).await)
    } else {
        None
    };
    let proxy_cpu = user + sys;
    let cpu_us = proxy_cpu * 1e6 / via.requests.max(1) as f64;
    let cores = proxy_cpu / via.elapsed.as_secs_f64().max(1e-9);
    let kernel = sys / proxy_cpu.max(1e-9);
    let (rps_p, rps_d) = (via.rps(), straight.rps());
    let f = Figure::new(
        PROXY,
        format!("http_c{c}"),
        "ms",
        &via.latency,
        Some(&straight.latency),
    );
    let added = f.sandboxd.p50 - f.raw.map(|r| r.p50).unwrap_or(f64::NAN);
    let tput = rps_p / rps_d;
    let met = tput >= 0.9 && added < 0.2;
    let mut note = format!(
        "concurrency {c}: {rps_p:.0} req/s via the proxy vs {rps_d:.0} direct ({tput:.2}×); \
         added p50 latency {added:.3} ms; sandboxd used {cores:.2} cores, {cpu_us:.0} µs of CPU \
         per proxied request, {:.0} % of it in the kernel. Same rounds, {}",
        kernel * 100.0,
        relay.describe("L4 byte relay (no HTTP work)", rps_d, false)
    );
    for (p, r) in peers.procs.iter().zip(&procs) {
        note.push_str(&format!("; {}", r.describe(&p.label, rps_d, true)));
    }
    let mut wrk_extra = Vec::new();
    match wrk {
        Some(Ok((p, d))) => {
            note.push_str(&format!(
                ". wrk cross-check: {:.0} req/s via the proxy vs {:.0} direct ({:.2}×), p50 {:.3} \
                 vs {:.3} ms, p99 {:.3} vs {:.3} ms",
                p.rps,
                d.rps,
                p.rps / d.rps,
                p.p50_ms,
                d.p50_ms,
                p.p99_ms,
                d.p99_ms
            ));
            wrk_extra = vec![
                ("wrk_rps_sandboxd", p.rps),
                ("wrk_rps_raw", d.rps),
                ("wrk_throughput_ratio", p.rps / d.rps),
                ("wrk_p50_sandboxd_ms", p.p50_ms),
                ("wrk_p50_raw_ms", d.p50_ms),
            ];
        }
        Some(Err(e)) => note.push_str(&format!(". wrk cross-check failed: {e:#}")),
        None => {}
    }
    let mut f = f
        .target("throughput ≥ 0.90× direct and added p50 < 0.2 ms", met)
        .extra("concurrency", c as f64)
        .extra("rps_sandboxd", rps_p)
        .extra("rps_raw", rps_d)
        .extra("throughput_ratio", tput)
        .extra("added_p50_ms", added)
        .extra("sandboxd_cpu_us_per_request", cpu_us)
        .extra("sandboxd_cores_busy", cores)
        .extra("sandboxd_kernel_share", kernel)
        .extra("rps_l4_relay", relay.load.rps())
        .extra("l4_relay_p50_ms", relay.load.latency.summary().p50);
    for (k, v) in wrk_extra {
        f = f.extra(k, v);
    }
    for (p, r) in peers.procs.iter().zip(&procs) {
        f = f
            .extra(&format!("rps_{}", p.key), r.load.rps())
            .extra(&format!("{}_p50_ms", p.key), r.load.latency.summary().p50)
            .extra(
                &format!("{}_cpu_us_per_request", p.key),
                r.cpu_us_per_request(),
            );
    }
    f.note(note)
}

/// wrk through the proxy and direct, alternating, `load_rounds` rounds each; the mean of each
/// side's reported figures.
async fn wrk_rounds(
    env: &Env,
    host: &str,
    direct: SocketAddr,
    c: usize,
) -> Result<(WrkRun, WrkRun)> {
    let round = Duration::from_millis(env.plan.load_round_ms);
    let (mut via, mut straight) = (Vec::new(), Vec::new());
    for k in 0..env.plan.load_rounds.max(1) {
        if k % 2 == 0 {
            via.push(wrk::run(env.preview, host, c, round).await?);
            straight.push(wrk::run(direct, host, c, round).await?);
        } else {
            straight.push(wrk::run(direct, host, c, round).await?);
            via.push(wrk::run(env.preview, host, c, round).await?);
        }
    }
    let mean = |runs: &[WrkRun]| {
        let n = runs.len().max(1) as f64;
        WrkRun {
            rps: runs.iter().map(|r| r.rps).sum::<f64>() / n,
            p50_ms: runs.iter().map(|r| r.p50_ms).sum::<f64>() / n,
            p99_ms: runs.iter().map(|r| r.p99_ms).sum::<f64>() / n,
        }
    };
    Ok((mean(&via), mean(&straight)))
}
