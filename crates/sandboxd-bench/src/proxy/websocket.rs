//! Figure 6, the WebSocket echo round trip. Rule: one connection through the preview listener and
//! one straight to the container stay open; text frames go out and back on each in turn
//! (alternating which goes first), after five unrecorded warm-up round trips.

use super::WS;
use crate::report::Figure;
use crate::stats::Series;
use crate::Env;
use anyhow::{Context, Result};
use sandboxd_testkit::ws::WsClient;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One echo round trip on an open WebSocket.
async fn rtt(ws: &mut WsClient, i: usize) -> Result<Duration> {
    let msg = format!("bench-{i}");
    let t = Instant::now();
    ws.send_text(&msg).await?;
    let got = tokio::time::timeout(Duration::from_secs(10), ws.recv_text())
        .await
        .context("echo took over 10 s")??;
    anyhow::ensure!(got == msg, "echo returned {got:?} for {msg:?}");
    Ok(t.elapsed())
}

pub(super) async fn websocket(env: &Env, host: &str, direct: SocketAddr) -> Result<Figure> {
    let limit = Duration::from_secs(30);
    let mut via = tokio::time::timeout(limit, WsClient::connect(env.preview, host, "/ws"))
        .await
        .context("WebSocket through the proxy: no answer")?
        .context("WebSocket through the proxy")?;
    let mut straight = tokio::time::timeout(limit, WsClient::connect(direct, host, "/ws"))
        .await
        .context("WebSocket direct: no answer")?
        .context("WebSocket direct")?;
    let (mut s, mut r) = (Series::new(), Series::new());
    for i in 0..env.plan.n_fast + 5 {
        let (a, b) = if i % 2 == 0 {
            let a = rtt(&mut via, i).await;
            (a, rtt(&mut straight, i).await)
        } else {
            let b = rtt(&mut straight, i).await;
            (rtt(&mut via, i).await, b)
        };
        let broken = a.is_err() || b.is_err();
        if i >= 5 {
            s.record("WebSocket echo via the proxy", a);
            r.record("WebSocket echo direct", b);
        }
        if broken {
            break;
        }
    }
    let _ = via.close().await;
    let _ = straight.close().await;
    let f = Figure::new(WS, "websocket_echo", "ms", &s, Some(&r));
    let added = f.sandboxd.p50 - f.raw.map(|r| r.p50).unwrap_or(f64::NAN);
    Ok(f.extra("added_p50_ms", added).note(format!(
        "one text frame out and back on an open connection; the proxy adds {added:.3} ms at p50"
    )))
}
