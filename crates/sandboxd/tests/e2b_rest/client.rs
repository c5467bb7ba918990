//! Calls to the E2B REST API the way the E2B SDK makes them (`X-API-KEY`, JSON bodies), and
//! state-driven waits on what it answers.

use sandboxd_testkit::TestServer;
use serde_json::Value;
use std::time::{Duration, Instant};

pub const KEY: &str = "e2b_00112233445566778899aabbccddeeff00112233";

pub async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.api_token = Some(KEY.into());
        c.reap_interval = Duration::from_millis(250);
    })
    .await
    .unwrap()
}

/// One call the way the SDK makes it; returns (status, headers, JSON body or Null).
pub async fn e2b(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    e2b_with_key(s, KEY, method, path, body).await
}

pub async fn e2b_with_key(
    s: &TestServer,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = s
        .client
        .request(method, format!("{}{}", s.api, path))
        .header("x-api-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, headers, v)
}

pub async fn state(s: &TestServer, id: &str) -> (u16, String) {
    let (st, _, v) = e2b(s, "GET", &format!("/sandboxes/{id}"), None).await;
    (st, v["state"].as_str().unwrap_or_default().to_string())
}

/// Poll until the sandbox's (status, state) is `want`, at most `within`.
pub async fn wait_for(s: &TestServer, id: &str, want: (u16, &str), within: Duration) {
    let t = Instant::now();
    loop {
        let (st, state) = state(s, id).await;
        if (st, state.as_str()) == want {
            return;
        }
        assert!(t.elapsed() < within, "{id}: {st} {state}, wanted {want:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn create(s: &TestServer, path: &str, body: Value) -> Value {
    let (st, _, v) = e2b(s, "POST", path, Some(body)).await;
    assert_eq!(st, 201, "{v}");
    v
}
