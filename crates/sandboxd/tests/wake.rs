//! Wake on request against the real engine: the first request to a stopped sandbox gets the
//! app's real response; concurrent requests share one start; WebSockets connect; browsers get
//! the real page or the waking page that reloads into it; the brief's quick start survives a stop.

use reqwest::Method;
use sandboxd_testkit::ws::WsClient;
use sandboxd_testkit::{docker, TestServer, FIXTURE_APP as FIXTURE};
use std::time::{Duration, Instant};

async fn stopped_fixture(s: &TestServer) -> String {
    let id = s.create(FIXTURE).await.unwrap();
    // Serve once so we know the app is fine, then stop.
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("stopped")));
    id
}

#[tokio::test]
async fn first_request_after_stop_gets_the_real_response() {
    let s = TestServer::start().await.unwrap();
    let id = stopped_fixture(&s).await;
    let t = Instant::now();
    let r = s
        .preview(Method::POST, &id, 3000, "/echo")
        .body("the original body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        "the original body",
        "request was not forwarded as sent"
    );
    eprintln!("wake to response: {:?}", t.elapsed());
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running");
}

#[tokio::test]
async fn fifty_concurrent_requests_cause_one_start() {
    let s = TestServer::start().await.unwrap();
    let id = stopped_fixture(&s).await;
    let d = docker().await.unwrap();
    let name = s.container_name(&id);
    // Watch the engine's own event stream for starts of this container while requests run.
    let opts = bollard::system::EventsOptions::<String> {
        since: None,
        until: None,
        filters: std::collections::HashMap::from([
            ("container".to_string(), vec![name.clone()]),
            ("event".to_string(), vec!["start".to_string()]),
        ]),
    };
    let mut events = d.events(Some(opts));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some(Ok(ev)) = events.next().await {
            let _ = tx.send(ev.action);
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let req = s
            .preview(Method::GET, &id, 3000, &format!("/echo?i={i}"))
            .body(format!("req-{i}"));
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, body) = t.await.unwrap();
        assert_eq!((status, body), (200, format!("req-{i}")));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    watcher.abort();
    let mut starts = 0;
    while rx.try_recv().is_ok() {
        starts += 1;
    }
    assert_eq!(starts, 1, "starts of {name} during the wake");
}

#[tokio::test]
async fn websocket_to_a_stopped_sandbox_connects() {
    let s = TestServer::start().await.unwrap();
    let id = stopped_fixture(&s).await;
    let mut ws = WsClient::connect(s.preview_addr(), &s.preview_host(&id, 3000), "/ws")
        .await
        .unwrap();
    ws.send_text("after wake").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "after wake");
    ws.close().await.unwrap();
}

#[tokio::test]
async fn browsers_get_the_page_or_a_waking_page_that_reloads_into_it() {
    let s = TestServer::start().await.unwrap();
    // An app that takes 3 s to listen: longer than a browser is held.
    let id = s
        .create(r#"{"ports":[3000],"start":"sleep 3; exec sandboxd-fixture 3000"}"#)
        .await
        .unwrap();
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    let nav = || {
        s.preview(Method::GET, &id, 3000, "/")
            .header("accept", "text/html,application/xhtml+xml")
    };
    let r = nav().send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["x-sandboxd-waking"], "1");
    let page = r.text().await.unwrap();
    assert!(page.contains("x-sandboxd-wake-poll"), "the page must poll");
    // Do what the page's script does: poll, then reload.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = nav()
            .header("x-sandboxd-wake-poll", "1")
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        if v["ready"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "never became ready: {v}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let r = nav().send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("hello from fixture"));
}

#[tokio::test]
async fn app_that_never_listens_gets_503_with_the_reason() {
    let s = TestServer::start_with(|c| c.wake_timeout = Duration::from_secs(2))
        .await
        .unwrap();
    let id = s.create(r#"{"ports":[3000]}"#).await.unwrap();
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "app_not_ready", "{v}");
}

/// The brief's quick start: a server started by hand through exec is served again after the
/// sandbox slept (busybox httpd stands in for python3 -m http.server here, in the small test
/// image; `tests/quick_start.rs` runs the brief with python3 in the default image).
#[tokio::test]
async fn quick_start_server_started_by_exec_survives_a_stop() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"ports":[3000]}"#).await.unwrap();
    let body =
        r#"{"cmd":["bash","-lc","cd ~/workspace && echo hello > index.html && httpd -f -p 3000"]}"#;
    let exec = {
        let req = s
            .client
            .post(format!("{}/sandbox/{id}/exec", s.api))
            .header("content-type", "application/json")
            .body(body);
        tokio::spawn(async move { req.send().await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
        if r.status() == 200 {
            assert_eq!(r.text().await.unwrap(), "hello\n");
            break;
        }
        assert!(Instant::now() < deadline, "server never came up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let _ = exec.await;
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200, "not served after the wake");
    assert_eq!(r.text().await.unwrap(), "hello\n");
}
