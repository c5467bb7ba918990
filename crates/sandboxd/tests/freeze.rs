//! The freeze rung of the sleep ladder against the real engine (issue 11): an idle sandbox is
//! frozen (Docker reports it paused), and a preview request, an exec, a process API call, a
//! files call and a terminal each thaw it and get their answer (an open terminal keeps it from
//! freezing; a frozen one deletes cleanly); under memory pressure a frozen sandbox is
//! stopped before an idler running one; a sandboxd restart keeps a frozen sandbox frozen,
//! listed, with no orphan container, and a preview request thaws it.

use reqwest::Method;
use sandboxd_engine::memory::{HostMemory, MemoryReading};
use sandboxd_testkit::TestServer;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fixture app, frozen after one idle second.
const FREEZING_APP: &str =
    r#"{"ports":[3000],"start":"exec sandboxd-fixture 3000","freeze_after_s":1}"#;

fn fast_reaper(c: &mut sandboxd::serve::ServeConfig) {
    c.reap_interval = Duration::from_millis(200);
}

async fn status(s: &TestServer, id: &str) -> String {
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    v["status"].as_str().unwrap_or_default().to_string()
}

async fn wait_status(s: &TestServer, id: &str, want: &str) {
    let t = Instant::now();
    while status(s, id).await != want {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{id} did not become {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Docker's own word on the container: (`State.Status`, `State.Paused`).
async fn docker_state(s: &TestServer, id: &str) -> (String, bool) {
    let d = sandboxd_testkit::docker().await.unwrap();
    let c = d
        .inspect_container(&s.container_name(id), None)
        .await
        .unwrap();
    let st = c.state.unwrap();
    (
        st.status.map(|s| s.to_string()).unwrap_or_default(),
        st.paused.unwrap_or(false),
    )
}

/// Create the freezing fixture app, check it answers, wait for the freeze.
async fn frozen_app(s: &TestServer) -> String {
    let id = s.create(FREEZING_APP).await.unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    wait_status(s, &id, "frozen").await;
    assert_eq!(docker_state(s, &id).await, ("paused".to_string(), true));
    id
}

#[tokio::test]
async fn an_idle_sandbox_freezes_and_a_preview_request_thaws_it() {
    let s = TestServer::start_with(fast_reaper).await.unwrap();
    let id = frozen_app(&s).await;
    let (_, a) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(a["status"], "frozen", "{a}");
    assert_eq!(a["freeze_after_s"], 1, "{a}");
    assert_eq!(a["next_rung"], "stopped", "{a}");
    assert!(a["next_rung_at"].is_string(), "{a}");
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["freeze_after_s"], 1, "{v}");
    assert_eq!(v["live"]["state"], "paused", "{v}");

    let t = Instant::now();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.status(), 200);
    assert!(!r.text().await.unwrap().is_empty());
    assert_eq!(status(&s, &id).await, "running");
    assert_eq!(docker_state(&s, &id).await, ("running".to_string(), false));
    // A thaw, not a start: far below a container start.
    assert!(took < Duration::from_secs(2), "thaw took {took:?}");

    let metrics = s.metrics_text().await.unwrap();
    assert!(
        metrics.contains(r#"op="freeze",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"op="thaw",outcome="ok"}"#), "{metrics}");
    assert!(metrics.contains(r#"status="frozen""#), "{metrics}");
}

#[tokio::test]
async fn exec_process_and_files_calls_thaw_it() {
    let s = TestServer::start_with(fast_reaper).await.unwrap();
    let id = frozen_app(&s).await;

    let (code, out, _) = s.sh(&id, "echo thawed").await.unwrap();
    assert_eq!((code, out.trim()), (0, "thawed"));
    assert!(!docker_state(&s, &id).await.1, "unpaused");

    wait_status(&s, &id, "frozen").await;
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/processes"),
            Some(r#"{"cmd":["true"]}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    assert!(v["pid"].as_u64().is_some(), "{v}");
    assert_eq!(status(&s, &id).await, "running");

    wait_status(&s, &id, "frozen").await;
    let (st, v) = s
        .call(
            "GET",
            &format!("/v1/sandboxes/{id}/files?path=workspace"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    assert!(v["entries"].is_array(), "{v}");
    assert_eq!(status(&s, &id).await, "running");
    assert!(!docker_state(&s, &id).await.1, "unpaused");

    // A frozen sandbox deletes like any other: its paused container goes.
    wait_status(&s, &id, "frozen").await;
    let (st, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    assert!(s.containers().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_live_terminal_keeps_it_from_freezing_and_a_terminal_thaws_it() {
    use futures_util::StreamExt;
    let s = TestServer::start_with(fast_reaper).await.unwrap();
    let id = frozen_app(&s).await;
    let url = format!(
        "ws://{}/v1/sandboxes/{id}/terminal",
        s.api.trim_start_matches("http://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(status(&s, &id).await, "running", "opening a terminal thaws");
    // Some shell output arrives: the process behind it runs.
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
    // Well past freeze_after with the terminal open: it must not freeze.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(status(&s, &id).await, "running", "froze under a terminal");
    drop(ws);
    wait_status(&s, &id, "frozen").await;
}

/// Plenty of memory, except for as many readings as the test asks for.
#[derive(Default)]
struct Pressure {
    low_readings: AtomicUsize,
}

impl HostMemory for Pressure {
    fn read(&self) -> Option<MemoryReading> {
        const GIB: u64 = 1 << 30;
        let low = self
            .low_readings
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Some(MemoryReading {
            available: if low { GIB } else { 12 * GIB },
            total: 24 * GIB,
        })
    }
}

#[tokio::test]
async fn memory_pressure_stops_a_frozen_sandbox_before_an_idler_running_one() {
    let memory = Arc::new(Pressure::default());
    let reading = memory.clone();
    let s = TestServer::start_with(move |c| {
        fast_reaper(c);
        c.memory = reading;
    })
    .await
    .unwrap();
    // `idler` is older and never used again: by idleness alone it would be stopped first.
    let idler = s.create(r#"{"freeze_after_s":0}"#).await.unwrap();
    let cold = frozen_app(&s).await;
    // One low reading: the next create has to free exactly one sandbox's memory.
    memory.low_readings.store(1, Ordering::SeqCst);
    let fresh = s.create("").await.unwrap();
    assert_eq!(memory.low_readings.load(Ordering::SeqCst), 0);
    assert_eq!(
        status(&s, &cold).await,
        "stopped",
        "the frozen one goes first"
    );
    assert_eq!(docker_state(&s, &cold).await, ("exited".to_string(), false));
    assert_eq!(status(&s, &idler).await, "running");
    assert_eq!(status(&s, &fresh).await, "running");
}

#[tokio::test]
async fn a_restart_keeps_a_frozen_sandbox_and_a_request_thaws_it() {
    let s = TestServer::start_with(fast_reaper).await.unwrap();
    let id = frozen_app(&s).await;
    let name = s.container_name(&id);
    let mut cfg = TestServer::config(s.data.path());
    cfg.instance = s.instance.clone();
    fast_reaper(&mut cfg);
    let (data, _instance) = s.stop_keep().await;
    let s = TestServer::start_in(data, cfg).await.unwrap();

    assert_eq!(status(&s, &id).await, "frozen");
    assert_eq!(docker_state(&s, &id).await, ("paused".to_string(), true));
    let (_, list) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    let listed = list["sandboxes"].as_array().cloned().unwrap_or_default();
    assert!(
        listed
            .iter()
            .any(|v| v["id"] == id.as_str() && v["status"] == "frozen"),
        "not listed: {list}"
    );
    assert_eq!(s.containers().await.unwrap(), vec![name], "no orphan");

    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(status(&s, &id).await, "running");
    assert_eq!(docker_state(&s, &id).await, ("running".to_string(), false));
}
