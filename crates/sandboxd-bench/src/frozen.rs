//! Figure 4b, wake a frozen sandbox to first byte (the sleep ladder's first rung). Rule: the
//! clock starts when the caller sends its request to a frozen sandbox's preview URL and stops at
//! the first byte of the app's real answer. The sandbox is frozen through the API (what the idle
//! reaper does after `freeze_after`, without waiting for it); the raw side is the least a caller
//! must do for the same byte: `docker unpause` the paused container, then GET it directly (a
//! paused container keeps its address and its listening socket, so there is no port to wait for).

use super::api::Api;
use super::http::{get_first_byte, wait_accept};
use super::report::Figure;
use super::stats::Series;
use super::wake::{app_pair, remove_pair, until_served};
use super::Env;
use anyhow::Result;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const FROZEN: &str = "4b. Wake a frozen sandbox to first byte";
/// The target for the sandboxd side.
const TARGET_P50_MS: f64 = 20.0;

pub async fn wake_frozen_to_first_byte(env: &Env) -> Result<Figure> {
    let (id, name) = app_pair(env).await?;
    let result = measure(env, &id, &name).await;
    remove_pair(env, &id, &name).await;
    result
}

async fn sandboxd_thaw(env: &Env, id: &str) -> Result<Duration> {
    env.api.freeze(id).await?;
    let host = Api::preview_host(id, 3000);
    let t = Instant::now();
    let first = get_first_byte(env.preview, &host, "/").await?;
    Ok(first - t)
}

async fn raw_thaw(env: &Env, name: &str, addr: SocketAddr) -> Result<Duration> {
    env.raw.pause(name).await?;
    let t = Instant::now();
    env.raw.unpause(name).await?;
    let first = get_first_byte(addr, "raw", "/").await?;
    Ok(first - t)
}

async fn measure(env: &Env, id: &str, name: &str) -> Result<Figure> {
    until_served(env, id).await?;
    env.raw.start(name).await?;
    let addr = SocketAddr::new(env.raw.ip(name).await?, 3000);
    wait_accept(addr, Duration::from_millis(5), Duration::from_secs(30)).await?;
    let (mut s, mut r) = (Series::new(), Series::new());
    for i in 0..env.plan.n {
        let sandboxd_first = i % 2 == 0;
        for side in [sandboxd_first, !sandboxd_first] {
            if side {
                s.record("sandboxd thaw", sandboxd_thaw(env, id).await);
            } else {
                r.record("raw unpause", raw_thaw(env, name, addr).await);
            }
        }
    }
    let f = Figure::new(FROZEN, "wake_frozen_to_first_byte", "ms", &s, Some(&r));
    let (sp, rp) = (f.sandboxd.p50, f.raw.map(|r| r.p50).unwrap_or(f64::NAN));
    let note = format!(
        "sandboxd − raw at p50: {:+.1} ms (sandboxd's thaw takes the sandbox's lock, reads and \
         writes the store, inspects twice and probes the port before forwarding; raw only \
         unpauses and GETs)",
        sp - rp
    );
    Ok(
        f.target(format!("p50 ≤ {TARGET_P50_MS:.0} ms"), sp <= TARGET_P50_MS)
            .extra("added_p50_ms", sp - rp)
            .note(note),
    )
}
