//! Figure 4, wake to first byte. Rule: the clock starts when the caller sends its request to a
//! stopped sandbox's preview URL and stops at the first byte of the app's real answer (200, the
//! fixture's body) — never a waking page. The raw side is the least a caller must do for the same
//! byte: start the container, read its address, poll-connect its port every 5 ms, GET directly.

use super::api::Api;
use super::http::{get_first_byte, wait_accept};
use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{Context, Result};
use sandboxd_testkit::FIXTURE_APP;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const WAKE: &str = "4. Wake to first byte";
pub const FIXTURE_START: &str = "exec sandboxd-fixture 3000";
/// How often the raw side polls the port, and for how long at most.
const POLL: Duration = Duration::from_millis(5);
const PORT_LIMIT: Duration = Duration::from_secs(30);
/// Slack the wake target allows over the raw path.
const WAKE_SLACK_MS: f64 = 50.0;

/// Wait (bounded) until a sandbox's preview URL serves the app.
pub async fn until_served(env: &Env, id: &str) -> Result<()> {
    let host = Api::preview_host(id, 3000);
    let started = Instant::now();
    loop {
        match get_first_byte(env.preview, &host, "/").await {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() > PORT_LIMIT => {
                return Err(e).context(format!("sandbox {id} never served its app"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

pub async fn wake_to_first_byte(env: &Env) -> Result<Figure> {
    let (id, name) = app_pair(env).await?;
    let result = measure(env, &id, &name).await;
    remove_pair(env, &id, &name).await;
    result
}

/// A sandbox and a raw container both running the fixture app (neither is left when making
/// the second fails): the two sides of a wake figure.
pub(crate) async fn app_pair(env: &Env) -> Result<(String, String)> {
    let id = env.api.create(Some(FIXTURE_APP)).await?;
    match env.raw.create(Some(FIXTURE_START)).await {
        Ok(name) => Ok((id, name)),
        Err(e) => {
            let _ = env.api.purge(&id).await;
            Err(e)
        }
    }
}

/// Remove what [`app_pair`] made (best effort: the bench's cleanup checks what is left).
pub(crate) async fn remove_pair(env: &Env, id: &str, name: &str) {
    let _ = env.api.purge(id).await;
    let _ = env.raw.remove(name).await;
}

/// Time from `start` (the raw container stopped) to the fixture's first byte, with phases.
async fn raw_wake(env: &Env, name: &str) -> Result<(Duration, Duration, Duration)> {
    env.raw.stop(name).await?;
    let t = Instant::now();
    env.raw.start(name).await?;
    let ip = env.raw.ip(name).await?;
    let started = t.elapsed();
    let addr = SocketAddr::new(ip, 3000);
    wait_accept(addr, POLL, PORT_LIMIT).await?;
    let accepted = t.elapsed();
    let first = get_first_byte(addr, "raw", "/").await?;
    Ok((first - t, started, accepted - started))
}

async fn sandboxd_wake(env: &Env, id: &str) -> Result<Duration> {
    env.api.stop(id).await?;
    let host = Api::preview_host(id, 3000);
    let t = Instant::now();
    let first = get_first_byte(env.preview, &host, "/").await?;
    Ok(first - t)
}

async fn measure(env: &Env, id: &str, name: &str) -> Result<Figure> {
    until_served(env, id).await?;
    env.raw.start(name).await?;
    let ip = env.raw.ip(name).await?;
    wait_accept(SocketAddr::new(ip, 3000), POLL, PORT_LIMIT).await?;
    let (mut s, mut r) = (Series::new(), Series::new());
    let (mut start_phase, mut port_phase) = (Series::new(), Series::new());
    for i in 0..env.plan.n {
        let sandboxd_first = i % 2 == 0;
        for side in [sandboxd_first, !sandboxd_first] {
            if side {
                s.record("sandboxd wake", sandboxd_wake(env, id).await);
            } else {
                match raw_wake(env, name).await {
                    Ok((total, start, port)) => {
                        r.push_ms(total);
                        start_phase.push_ms(start);
                        port_phase.push_ms(port);
                    }
                    Err(e) => r.record("raw wake", Err(e)),
                }
            }
        }
    }
    let f = Figure::new(WAKE, "wake_to_first_byte", "ms", &s, Some(&r));
    let (sp, rp) = (f.sandboxd.p50, f.raw.map(|r| r.p50).unwrap_or(f64::NAN));
    let start_p50 = start_phase.summary().p50;
    let port_p50 = port_phase.summary().p50;
    let added = sp - rp;
    let note = format!(
        "raw p50 = start+inspect {:.1} ms + port wait {:.1} ms + GET; sandboxd − raw at p50: \
         {:+.1} ms (sandboxd's wake also reads and writes the store, inspects; both sides poll \
         the port every 5 ms)",
        start_p50, port_p50, added
    );
    Ok(f.target(
        format!("p50 ≤ raw start + port wait + GET + {WAKE_SLACK_MS:.0} ms"),
        added <= WAKE_SLACK_MS,
    )
    .extra("raw_start_p50_ms", start_p50)
    .extra("raw_port_wait_p50_ms", port_p50)
    .extra("added_p50_ms", added)
    .note(note))
}
