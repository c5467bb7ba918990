//! The listeners against hostile clients, on the real engine: half-open connections are closed
//! within the header timeout while the API keeps answering; the per-client cap refuses extra
//! connections and frees places as connections close; cookies a sandbox sets stay on its own
//! preview host; a burst of requests for a stopped sandbox shares one port waiter.

use reqwest::Method;
use sandboxd_testkit::{TestServer, FIXTURE_APP};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read until the peer closes (EOF or reset) or `deadline`; returns whether it closed.
async fn closed_by(mut s: TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A connection that sent half a request header.
async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: s-abc").await.unwrap();
    s
}

/// The value of one series in `GET /metrics` (0 when absent).
async fn metric(s: &TestServer, series: &str) -> f64 {
    s.metric(series).await.unwrap()
}

#[tokio::test]
async fn half_open_connections_are_closed_within_the_header_timeout() {
    let header_timeout = Duration::from_secs(2);
    let s = TestServer::start_with(|cfg| {
        cfg.preview_limits.header_timeout = header_timeout;
        cfg.preview_limits.max_connections_per_client = 5_000;
        cfg.api_header_timeout = header_timeout;
    })
    .await
    .unwrap();
    let addr = s.preview_addr();
    let opened = Instant::now();
    let mut conns = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        conns.push(half_open(addr).await);
    }
    let api_half_open = half_open(s.api_addr).await;
    // The API answers while the preview listener holds them all.
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200);
    let deadline = opened + header_timeout + Duration::from_secs(4);
    let waits: Vec<_> = conns
        .into_iter()
        .map(|c| tokio::spawn(closed_by(c, deadline)))
        .collect();
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200, "the API answers during the flood");
    let mut open = 0;
    for w in waits {
        if !w.await.unwrap() {
            open += 1;
        }
    }
    assert_eq!(
        open, 0,
        "{open} half-open connections outlived the header timeout"
    );
    assert!(
        closed_by(api_half_open, deadline).await,
        "the API closes a half-open connection too"
    );
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200);
}

#[tokio::test]
async fn the_per_client_cap_refuses_extra_connections_and_frees_places() {
    let s = TestServer::start_with(|cfg| {
        cfg.preview_limits.max_connections_per_client = 5;
    })
    .await
    .unwrap();
    let addr = s.preview_addr();
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(half_open(addr).await);
    }
    // Wait until the listener has admitted all five (they are counted as open).
    let until = Instant::now() + Duration::from_secs(5);
    while metric(&s, "sandboxd_proxy_open_connections").await < 5.0 {
        assert!(Instant::now() < until, "five connections never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let extra = half_open(addr).await;
    assert!(
        closed_by(extra, Instant::now() + Duration::from_secs(2)).await,
        "the sixth connection must be closed at once"
    );
    assert!(
        metric(
            &s,
            "sandboxd_proxy_refused_connections_total{reason=\"client_cap\"}"
        )
        .await
            >= 1.0
    );
    // Two close: their places come back.
    held.truncate(3);
    let until = Instant::now() + Duration::from_secs(5);
    while metric(&s, "sandboxd_proxy_open_connections").await > 3.0 {
        assert!(
            Instant::now() < until,
            "closed connections were never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
    drop(held);
}

#[tokio::test]
async fn cookies_from_a_sandbox_lose_their_domain() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE_APP).await.unwrap();
    let r = s
        .preview(Method::GET, &id, 3000, "/cookie")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        cookies,
        vec!["planted=1; Path=/", "own=2; Path=/; HttpOnly"],
        "Domain= must be removed"
    );
}

#[tokio::test]
async fn a_burst_of_wake_requests_shares_one_port_waiter() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE_APP).await.unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let before = metric(&s, "sandboxd_wake_port_waiters_total").await;
    let burst: Vec<_> = (0..20)
        .map(|_| s.preview(Method::GET, &id, 3000, "/").send())
        .collect();
    for r in futures_util::future::join_all(burst).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    let after = metric(&s, "sandboxd_wake_port_waiters_total").await;
    assert_eq!(after - before, 1.0, "twenty requests, one port waiter");
}

#[tokio::test]
async fn error_pages_for_visitors_do_not_carry_engine_messages() {
    let s = TestServer::start().await.unwrap();
    let unknown = sandboxd_core::SandboxId::generate();
    let r = s
        .preview(Method::GET, unknown.as_str(), 3000, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(v["error"]["message"], "no such sandbox", "{v}");
}

#[tokio::test]
async fn an_upgraded_connection_keeps_its_place_under_the_caps() {
    let s = TestServer::start_with(|cfg| {
        cfg.preview_limits.max_connections_per_client = 2;
    })
    .await
    .unwrap();
    let id = s.create(FIXTURE_APP).await.unwrap();
    let addr = s.preview_addr();
    let host = s.preview_host(&id, 3000);
    // Until the app answers (each probe is one connection that closes).
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = s
            .preview(Method::GET, &id, 3000, "/")
            .header("connection", "close")
            .send()
            .await
            .unwrap();
        let st = resp.status().as_u16();
        drop(resp);
        if st == 200 {
            break;
        }
        assert!(Instant::now() < until, "the fixture never answered: {st}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let until = Instant::now() + Duration::from_secs(5);
    while metric(&s, "sandboxd_proxy_open_connections").await > 0.0 {
        assert!(Instant::now() < until, "probe connections never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut ws = sandboxd_testkit::ws::WsClient::connect(addr, &host, "/ws")
        .await
        .unwrap();
    ws.send_text("upgraded").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "upgraded");
    // The tunnel still holds its connection's place: one more fits, the next is refused.
    let second = half_open(addr).await;
    let until = Instant::now() + Duration::from_secs(5);
    while metric(&s, "sandboxd_proxy_open_connections").await < 2.0 {
        assert!(
            Instant::now() < until,
            "the tunnel and the second connection never counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let third = half_open(addr).await;
    assert!(
        closed_by(third, Instant::now() + Duration::from_secs(2)).await,
        "an upgraded connection must keep counting under the per-client cap"
    );
    ws.close().await.unwrap();
    drop(second);
    let until = Instant::now() + Duration::from_secs(5);
    while metric(&s, "sandboxd_proxy_open_connections").await > 0.0 {
        assert!(
            Instant::now() < until,
            "the tunnel's place was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
