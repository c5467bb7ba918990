//! What operators watch: `GET /metrics` moves with a create/stop/wake cycle, every API and
//! proxied request carries an `x-request-id`, and `serve --log-format json` writes one JSON
//! object per line naming the request id of the request a line belongs to.

use reqwest::Method;
use sandboxd_testkit::{TestServer, FIXTURE_APP, TEST_IMAGE};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// `name{labels} value` lines of a scrape, by series.
async fn scrape(s: &TestServer) -> HashMap<String, f64> {
    let r = s
        .client
        .get(format!("{}/metrics", s.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

#[tokio::test]
async fn metrics_move_with_a_create_stop_wake_cycle() {
    let s = TestServer::start().await.unwrap();
    let before = scrape(&s).await;
    let v = |m: &HashMap<String, f64>, k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k}"));
    assert_eq!(
        v(
            &before,
            r#"sandboxd_lifecycle_total{op="create",outcome="ok"}"#
        ),
        0.0
    );
    assert_eq!(v(&before, "sandboxd_proxy_open_connections"), 0.0);

    let id = s.create(FIXTURE_APP).await.unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("port 3000"));
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    // The wake: a preview request to the stopped sandbox.
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap();
    // Unknown sandbox: a 4xx from the proxy.
    let r = s
        .preview(Method::GET, "nosuch", 3000, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let after = scrape(&s).await;
    for (series, want) in [
        (r#"sandboxd_lifecycle_total{op="create",outcome="ok"}"#, 1.0),
        (r#"sandboxd_lifecycle_total{op="stop",outcome="ok"}"#, 1.0),
        (r#"sandboxd_lifecycle_total{op="wake",outcome="ok"}"#, 1.0),
        ("sandboxd_create_duration_seconds_count", 1.0),
        ("sandboxd_wake_duration_seconds_count", 1.0),
        (r#"sandboxd_sandboxes{status="running"}"#, 1.0),
        (r#"sandboxd_sandboxes{status="stopped"}"#, 0.0),
        (r#"sandboxd_proxy_requests_total{class="2xx"}"#, 2.0),
        (r#"sandboxd_proxy_requests_total{class="4xx"}"#, 1.0),
    ] {
        assert_eq!(v(&after, series), want, "{series}");
    }
    assert!(
        v(
            &after,
            r#"sandboxd_proxy_response_bytes_total{class="2xx"}"#
        ) > 0.0
    );
    assert!(v(&after, r#"sandboxd_api_requests_total{class="2xx"}"#) >= 3.0);
    assert!(v(&after, "sandboxd_create_duration_seconds_sum") > 0.0);
    for family in [
        r#"sandboxd_reconcile_actions_total{action="recreate"}"#,
        "sandboxd_admission_refusals_total",
        r#"sandboxd_engine_errors_total{kind="unavailable"}"#,
    ] {
        assert!(after.contains_key(family), "{family}");
    }

    // Request ids: the client's is echoed, otherwise one is made.
    let r = s
        .client
        .get(format!("{}/v1/sandboxes/{id}", s.api))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let r = s
        .client
        .get(format!("{}/v1/sandboxes", s.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"].len(), 26);
    // The proxy hands the id to the app (the fixture echoes request headers).
    let r = s
        .preview(Method::GET, &id, 3000, "/headers")
        .header("x-request-id", "from-client")
        .send()
        .await
        .unwrap();
    let seen = r.text().await.unwrap().to_ascii_lowercase();
    assert!(seen.contains("x-request-id: from-client"), "{seen}");
}

#[tokio::test]
async fn json_logs_name_the_request() {
    TestServer::start().await.unwrap(); // builds the test image
    let data = tempfile::tempdir().unwrap();
    let instance = format!("t{:08x}", sandboxd_testkit::rand_u32());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sandboxd"))
        .args(["serve", "--log-format", "json", "--no-image-build"])
        .args(["--data-dir", data.path().to_str().unwrap()])
        .args(["--instance", &instance, "--image", TEST_IMAGE])
        .args(["--api-addr", "127.0.0.1:0", "--preview-addr", "127.0.0.1:0"])
        .env("SANDBOXD_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let next = |lines: &mut Vec<String>, deadline: Instant| -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).ok()?;
        lines.push(line.clone());
        Some(line)
    };
    // The ready line names the API address.
    let deadline = Instant::now() + Duration::from_secs(60);
    let api = loop {
        let line = next(&mut lines, deadline).unwrap_or_else(|| panic!("no ready line: {lines:?}"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["message"] == "sandboxd ready" {
            break v["api"].as_str().unwrap().to_string();
        }
    };
    // A create that fails in the engine (unknown image) logs inside the request's span.
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{api}/v1/sandboxes"))
        .header("content-type", "application/json")
        .header("x-request-id", "json-log-probe")
        .body(r#"{"image":"sandboxd-no-such-image:latest"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while next(&mut lines, deadline).is_some() {}
    let _ = child.wait();
    sandboxd_testkit::remove_instance(&instance).await.unwrap();
    sandboxd::workspaces::unmount_all(data.path()).unwrap();
    let mut named = 0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if line.contains("json-log-probe") {
            named += 1;
        }
    }
    assert!(named >= 1, "no log line names the request id: {lines:#?}");
}
