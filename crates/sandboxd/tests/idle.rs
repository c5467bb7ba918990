//! Stop on idle against the real engine, with a short idle timeout: idle sandboxes stop; an open
//! WebSocket keeps one awake past the timeout and it stops after the socket closes; always_on
//! never stops; `/activity` tells the truth at each step.

use reqwest::Method;
use sandboxd_testkit::ws::WsClient;
use sandboxd_testkit::{TestServer, FIXTURE_APP};
use std::time::{Duration, Instant};

async fn status(s: &TestServer, id: &str) -> String {
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    v["status"].as_str().unwrap_or_default().to_string()
}

async fn activity(s: &TestServer, id: &str) -> serde_json::Value {
    s.call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap()
        .1
}

async fn wait_status(s: &TestServer, id: &str, want: &str, within: Duration) -> Duration {
    let t = Instant::now();
    while status(s, id).await != want {
        assert!(
            t.elapsed() < within,
            "{id} did not become {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    t.elapsed()
}

fn short_idle(c: &mut sandboxd::serve::ServeConfig) {
    c.idle_timeout = Duration::from_secs(2);
    c.reap_interval = Duration::from_millis(250);
}

#[tokio::test]
async fn idle_sandboxes_stop_and_always_on_ones_do_not() {
    let s = TestServer::start_with(short_idle).await.unwrap();
    let idle = s.create(FIXTURE_APP).await.unwrap();
    let keep = s.create(r#"{"idle_policy":"always_on"}"#).await.unwrap();
    let a = activity(&s, &idle).await;
    assert_eq!(a["status"], "running");
    assert!(a["sleeps_at"].is_string(), "{a}");
    assert_eq!(a["held_by"].as_array().unwrap().len(), 0, "{a}");
    let a = activity(&s, &keep).await;
    assert!(a["sleeps_at"].is_null(), "{a}");
    assert!(
        a["held_by"][0].as_str().unwrap().contains("always_on"),
        "{a}"
    );

    wait_status(&s, &idle, "stopped", Duration::from_secs(8)).await;
    let a = activity(&s, &idle).await;
    assert!(
        a["held_by"][0].as_str().unwrap().contains("not running"),
        "{a}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(status(&s, &keep).await, "running");

    // The next request wakes it again and counts as activity.
    let r = s
        .preview(Method::GET, &idle, 3000, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = activity(&s, &idle).await;
    assert_eq!(a["last_source"], "request", "{a}");
    assert_eq!(a["status"], "running");
}

#[tokio::test]
async fn an_open_websocket_keeps_a_sandbox_awake() {
    let s = TestServer::start_with(short_idle).await.unwrap();
    let id = s.create(FIXTURE_APP).await.unwrap();
    let mut ws = WsClient::connect(s.preview_addr(), &s.preview_host(&id, 3000), "/ws")
        .await
        .unwrap();
    ws.send_text("hi").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "hi");
    let a = activity(&s, &id).await;
    assert_eq!(a["open_connections"], 1, "{a}");
    assert!(a["sleeps_at"].is_null(), "{a}");
    assert!(
        a["held_by"][0]
            .as_str()
            .unwrap()
            .contains("open preview connection"),
        "{a}"
    );
    // Well past the idle timeout, with no traffic on the socket.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        status(&s, &id).await,
        "running",
        "stopped under an open WebSocket"
    );
    ws.send_text("still here").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "still here");
    ws.close().await.unwrap();
    let took = wait_status(&s, &id, "stopped", Duration::from_secs(8)).await;
    assert!(
        took >= Duration::from_millis(1500),
        "stopped too early after close: {took:?}"
    );
    let a = activity(&s, &id).await;
    assert_eq!(a["open_connections"], 0);
}

#[tokio::test]
async fn execs_and_leases_hold_off_the_reaper() {
    let s = TestServer::start_with(short_idle).await.unwrap();
    let id = s.create("").await.unwrap();
    // An exec longer than the idle timeout: the sandbox must not stop under it.
    let (code, _, _) = s.sh(&id, "sleep 3; echo done").await.unwrap();
    assert_eq!(code, 0);
    let (st, _) = s
        .call(
            "POST",
            &format!("/sandbox/{id}/keepalive"),
            Some(r#"{"seconds":4}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 200);
    let a = activity(&s, &id).await;
    assert!(a["lease_until"].is_string(), "{a}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(status(&s, &id).await, "running", "stopped under a lease");
    wait_status(&s, &id, "stopped", Duration::from_secs(8)).await;
}

#[tokio::test]
async fn admission_stops_the_idlest_first_then_refuses() {
    use sandboxd_engine::memory::{FixedMemory, MemoryReading};
    use std::sync::{Arc, Mutex};
    const GIB: u64 = 1 << 30;
    let mem = Arc::new(FixedMemory(Mutex::new(Some(MemoryReading {
        available: 12 * GIB,
        total: 24 * GIB,
    }))));
    let reading = mem.clone();
    let s = TestServer::start_with(move |c| c.memory = reading)
        .await
        .unwrap();
    let older = s.create(r#"{"id":"older"}"#).await.unwrap();
    let newer = s.create(r#"{"id":"newer"}"#).await.unwrap();
    let pinned = s
        .create(r#"{"id":"pinned","idle_policy":"always_on"}"#)
        .await
        .unwrap();
    s.sh(&newer, "true").await.unwrap(); // newer is the more recently used one

    // Under the floor: the create is refused after the idle ones were stopped, idlest first;
    // always_on is left alone and the refused create leaves nothing behind.
    *mem.0.lock().unwrap() = Some(MemoryReading {
        available: GIB,
        total: 24 * GIB,
    });
    let (st, v) = s
        .call("POST", "/v1/sandboxes", Some(r#"{"id":"refused"}"#))
        .await
        .unwrap();
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (503, Some("capacity")),
        "{v}"
    );
    assert_eq!(v["error"]["retryable"], true);
    assert_eq!(status(&s, &older).await, "stopped");
    assert_eq!(status(&s, &newer).await, "stopped");
    assert_eq!(status(&s, &pinned).await, "running");
    let (st, _) = s.call("GET", "/v1/sandboxes/refused", None).await.unwrap();
    assert_eq!(st, 404);
    assert!(!s.workspaces().join("refused").exists());

    // A wake under pressure is refused the same way, with Retry-After.
    let r = s
        .preview(Method::GET, &older, 3000, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));

    // Memory back: creates and wakes go through.
    *mem.0.lock().unwrap() = Some(MemoryReading {
        available: 12 * GIB,
        total: 24 * GIB,
    });
    s.create(r#"{"id":"accepted"}"#).await.unwrap();
    let (code, _, _) = s.sh(&older, "true").await.unwrap();
    assert_eq!(code, 0);
}

#[tokio::test]
async fn an_exec_whose_caller_disconnects_stops_counting() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    // The client gives up after 1 s; the command would run for 30 s.
    let r = s
        .client
        .post(format!("{}/v1/sandboxes/{id}/exec", s.api))
        .header("content-type", "application/json")
        .body(r#"{"cmd":["sleep","30"]}"#)
        .timeout(Duration::from_secs(1))
        .send()
        .await;
    assert!(r.is_err(), "the exec should still have been running");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let a = activity(&s, &id).await;
        if a["execs_in_flight"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exec still counted after its caller left: {a}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
