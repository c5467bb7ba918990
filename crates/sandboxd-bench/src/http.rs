//! Rule: probes that time a first byte speak HTTP/1.1 by hand on a fresh TCP connection
//! (`Connection: close`), so no pool, retry or redirect sits between the clock and the socket; a
//! probe counts only when the whole response arrived and is the app's real one (status 200, the
//! fixture's body). Every wait here is bounded.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What every probe of the fixture's `/` must get back.
pub const FIXTURE_BODY: &str = "hello from fixture on port 3000\n";

/// Longest a single probe may take (a wake included).
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// `GET path` with this Host; returns when the first byte of the response arrived.
pub async fn get_first_byte(addr: SocketAddr, host: &str, path: &str) -> Result<Instant> {
    tokio::time::timeout(PROBE_LIMIT, get_inner(addr, host, path))
        .await
        .with_context(|| format!("GET {path} at {addr} took over {PROBE_LIMIT:?}"))?
}

async fn get_inner(addr: SocketAddr, host: &str, path: &str) -> Result<Instant> {
    let mut s = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    s.set_nodelay(true)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sandboxd-bench\r\nAccept: */*\r\n\
         Connection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 16 * 1024];
    let n = s.read(&mut buf).await?;
    let first = Instant::now();
    if n == 0 {
        bail!("{addr} closed the connection without answering");
    }
    let mut resp = buf[..n].to_vec();
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        resp.extend_from_slice(&buf[..n]);
        if resp.len() > 1024 * 1024 {
            bail!("response from {addr} is over 1 MiB");
        }
    }
    check_fixture_response(&resp)?;
    Ok(first)
}

/// Status 200 and the fixture's body, or an error quoting what came instead.
pub fn check_fixture_response(resp: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(resp);
    let status_ok = text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    if !status_ok || body != FIXTURE_BODY {
        let head: String = text.chars().take(300).collect();
        bail!("not the app's response: {head:?}");
    }
    Ok(())
}

/// Poll-connect until `addr` accepts a connection, every `interval`, for at most `limit`.
pub async fn wait_accept(addr: SocketAddr, interval: Duration, limit: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await;
        if let Ok(Ok(_)) = attempt {
            return Ok(());
        }
        if started.elapsed() >= limit {
            bail!("{addr} did not accept connections within {limit:?}");
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fixtures_real_answer_counts() {
        let ok = format!("HTTP/1.1 200 OK\r\nContent-Length: 32\r\n\r\n{FIXTURE_BODY}");
        assert!(check_fixture_response(ok.as_bytes()).is_ok());
        let waking = "HTTP/1.1 503 Service Unavailable\r\n\r\nwaking up";
        assert!(check_fixture_response(waking.as_bytes()).is_err());
        let wrong = "HTTP/1.1 200 OK\r\n\r\nsomething else";
        assert!(check_fixture_response(wrong.as_bytes()).is_err());
    }
}
