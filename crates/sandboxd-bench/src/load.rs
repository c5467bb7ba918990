//! Rule: the load generator keeps exactly `concurrency` keep-alive HTTP/1.1 connections busy,
//! one request in flight on each (closed loop), until the duration or the shared request budget
//! runs out. Every latency is kept. Only a 200 with the fixture's body counts; anything else is
//! an error, and a connection that errs is replaced (a bounded number of times).

use super::http::FIXTURE_BODY;
use super::stats::Series;
use anyhow::{bail, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Reconnects one worker may make after errors before it gives up.
const MAX_RECONNECTS: u32 = 10;
/// Longest one request (answer and body) may take.
const REQUEST_LIMIT: Duration = Duration::from_secs(10);

pub struct LoadResult {
    /// Latency of each successful request (ms); failures counted in it.
    pub latency: Series,
    pub requests: u64,
    pub elapsed: Duration,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn merge(&mut self, other: LoadResult) {
        self.latency.extend(other.latency);
        self.requests += other.requests;
        self.elapsed += other.elapsed;
    }

    pub fn empty() -> Self {
        LoadResult {
            latency: Series::new(),
            requests: 0,
            elapsed: Duration::ZERO,
        }
    }
}

/// `GET /` with `host` against `addr` from `concurrency` connections.
pub async fn run(
    addr: SocketAddr,
    host: &str,
    concurrency: usize,
    duration: Duration,
    max_requests: u64,
) -> LoadResult {
    let budget = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let host = host.to_string();
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            worker(addr, &host, deadline, budget, max_requests).await
        }));
    }
    let mut latency = Series::new();
    for t in tasks {
        match t.await {
            Ok(s) => latency.extend(s),
            Err(_) => latency.failures += 1,
        }
    }
    let elapsed = started.elapsed();
    LoadResult {
        requests: latency.samples.len() as u64,
        latency,
        elapsed,
    }
}

async fn worker(
    addr: SocketAddr,
    host: &str,
    deadline: Instant,
    budget: Arc<AtomicU64>,
    max: u64,
) -> Series {
    let mut out = Series::new();
    let mut reconnects = 0;
    'conn: while Instant::now() < deadline && reconnects <= MAX_RECONNECTS {
        let mut sender = match tokio::time::timeout(REQUEST_LIMIT, connect(addr)).await {
            Ok(Ok(s)) => s,
            _ => {
                out.failures += 1;
                reconnects += 1;
                continue;
            }
        };
        while Instant::now() < deadline {
            if budget.fetch_add(1, Ordering::Relaxed) >= max {
                break 'conn;
            }
            let t = Instant::now();
            let answer = tokio::time::timeout(REQUEST_LIMIT, one(&mut sender, host)).await;
            match answer {
                Ok(Ok(())) => out.push_ms(t.elapsed()),
                _ => {
                    out.failures += 1;
                    reconnects += 1;
                    continue 'conn;
                }
            }
        }
        break;
    }
    out
}

async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn one(sender: &mut http1::SendRequest<Empty<Bytes>>, host: &str) -> Result<()> {
    sender.ready().await?;
    let req = Request::get("/")
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if status != hyper::StatusCode::OK || body != FIXTURE_BODY.as_bytes() {
        bail!("unexpected answer {status}");
    }
    Ok(())
}
