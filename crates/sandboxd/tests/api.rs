//! API surface against a real server: every documented operation is routed (none falls through
//! to the "no such route" fallback), every live answer matches the served document, auth is
//! enforced when configured.

#[path = "api/contract.rs"]
mod contract;

use contract::Contract;
use sandboxd_testkit::TestServer;
use serde_json::{json, Value};

#[tokio::test]
async fn every_documented_operation_is_served() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"doc"}"#).await.unwrap();
    let (st, doc) = s.call("GET", "/v1/openapi.json", None).await.unwrap();
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    // Destructive operations last, so the others see a live sandbox.
    let mut ops: Vec<(String, String)> = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let path = path.replace("{id}", &id).replace("{sandboxID}", &id);
            ops.push((method.to_uppercase(), path));
        }
    }
    ops.sort_by_key(|(m, p)| (m == "DELETE" || p.ends_with("/purge"), p.clone()));
    for (method, path) in ops {
        let body = if path.ends_with("/exec") {
            Some(r#"{"cmd":["true"]}"#)
        } else {
            None
        };
        // A watch of a real directory is an endless stream: watch one that is missing.
        let path = if path.ends_with("/files/watch") {
            format!("{path}?path=missing")
        } else {
            path
        };
        let (st, v) = s.call(&method, &path, body).await.unwrap();
        assert_ne!(v["error"]["message"], "no such route", "{method} {path}");
        assert!(st < 500, "{method} {path}: {st} {v}");
    }
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let mut s = TestServer::start_with(|c| c.api_token = Some("s3cret".into()))
        .await
        .unwrap();
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200);
    s.token = Some("wrong".into());
    let (st, v) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    s.token = None;
    let (st, _) = s.call("POST", "/sandbox", Some("{}")).await.unwrap();
    assert_eq!(st, 401);
    assert!(s.containers().await.unwrap().is_empty());
    let (st, _) = s.call("GET", "/healthz", None).await.unwrap();
    assert_eq!(st, 200);
    let (st, v) = s.call("GET", "/readyz", None).await.unwrap();
    assert_eq!((st, v["ready"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn keepalive_accepts_the_reference_forms() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    for body in ["", r#"{"seconds":600}"#, r#"{"until":4102444800}"#] {
        let (st, v) = s
            .call("POST", &format!("/sandbox/{id}/keepalive"), Some(body))
            .await
            .unwrap();
        assert_eq!(st, 200, "{body}: {v}");
        assert!(v["lease_until"].is_string());
    }
    let (st, _) = s
        .call(
            "POST",
            &format!("/sandbox/{id}/keepalive"),
            Some(r#"{"until":1}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 400);
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert!(v["lease_until"].is_string(), "{v}");
    assert_eq!(v["last_source"], "keepalive");
}

#[tokio::test]
async fn thin_client_drives_the_lifecycle() {
    let s = TestServer::start().await.unwrap();
    let bin = env!("CARGO_BIN_EXE_sandboxd");
    // The server runs on this test's runtime: the client must not block it.
    let api = s.api.clone();
    let run = move |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(args).env("SANDBOXD_API", &api);
        async move {
            let out = cmd.output().await.unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).to_string(),
            )
        }
    };
    let (code, out) = run(&["create", "--id", "cli", "-p", "3000", "-e", "A=b"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"id\": \"cli\""), "{out}");
    assert!(
        !out.contains("\"b\""),
        "env values must not be echoed: {out}"
    );
    let (code, out) = run(&["exec", "cli", "--", "sh", "-c", "echo $A; exit 3"]).await;
    assert_eq!((code, out.as_str()), (3, "b\n"));
    let (_, out) = run(&["ls"]).await;
    assert!(out.contains("cli") && out.contains("running"), "{out}");
    assert_eq!(run(&["stop", "cli"]).await.0, 0);
    assert!(run(&["ls"]).await.1.contains("stopped"));
    assert_eq!(run(&["start", "cli"]).await.0, 0);
    assert_eq!(run(&["rm", "cli"]).await.0, 0);
    assert!(s.workspaces().join("cli").exists());
    assert_eq!(run(&["purge", "cli"]).await.0, 0);
    assert!(!s.workspaces().join("cli").exists());
    let (code, _) = run(&["stop", "cli"]).await;
    assert_eq!(code, 1, "a deleted sandbox is an error for the client");
}

#[tokio::test]
async fn two_installations_on_one_engine_leave_each_other_alone() {
    let a = TestServer::start().await.unwrap();
    let b = TestServer::start().await.unwrap();
    a.create(r#"{"id":"same"}"#).await.unwrap();
    b.create(r#"{"id":"same"}"#).await.unwrap();
    // Each one's reconciler sweeps and sees the other's containers as not its own.
    a.running
        .as_ref()
        .unwrap()
        .engine
        .reconcile_all(sandboxd_engine::reconcile::Pass::Live)
        .await
        .unwrap();
    b.running
        .as_ref()
        .unwrap()
        .engine
        .reconcile_all(sandboxd_engine::reconcile::Pass::Live)
        .await
        .unwrap();
    assert_eq!(
        a.containers().await.unwrap(),
        vec![a.container_name("same")]
    );
    assert_eq!(
        b.containers().await.unwrap(),
        vec![b.container_name("same")]
    );
    let (st, _) = a
        .call("DELETE", "/v1/sandboxes/same?purge=true", None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    let (_, out, _) = b.sh("same", "echo b-alive").await.unwrap();
    assert_eq!(out, "b-alive\n");
}

/// Every operation, driven through a whole lifecycle and its common errors, answers with a
/// documented status and a body that matches the document's schema for it.
#[tokio::test]
async fn every_live_answer_matches_the_document() {
    let s = TestServer::start().await.unwrap();
    let api = Contract::fetch(&s).await.unwrap();
    assert_eq!(api.call("GET", "/healthz", None).await.0, 200);
    assert_eq!(api.call("GET", "/readyz", None).await.0, 200);

    // Create, both forms; the v1 one with every kind of field.
    let body = r#"{"id":"contract","ports":[3000],"env":{"A":"b"},"metadata":{"k":"v"},
        "external_user_id":"u1","idle_timeout_s":600,"resources":{"memory_mb":256}}"#;
    let (st, v) = api.call("POST", "/v1/sandboxes", Some(body)).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("running")), "{v}");
    let (st, v) = api.call("POST", "/sandbox", Some("")).await;
    assert_eq!(st, 201, "{v}");
    let other = v["id"].as_str().unwrap().to_string();
    assert_eq!(api.call("POST", "/v1/sandboxes", Some(body)).await.0, 409);

    // Read.
    let (st, v) = api.call("GET", "/v1/sandboxes/contract", None).await;
    assert_eq!(
        (st, v["live"]["running"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (st, v) = api.call("GET", "/sandbox/CONTRACT", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["row"]["id"], "contract");
    assert_eq!(v["live_state"]["running"], true);
    let (_, v) = api.call("GET", "/v1/sandboxes", None).await;
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), 2);
    let (_, v) = api
        .call("GET", "/v1/sandboxes?external_user_id=u1", None)
        .await;
    assert_eq!(v["sandboxes"][0]["id"], "contract");
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), 1);
    let (_, v) = api
        .call("GET", "/sandboxes?external_user_id=u1", None)
        .await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");

    // Work inside it.
    let exec =
        r#"{"cmd":["sh","-c","echo out; echo err >&2; exit 3"],"env":{"X":"y"},"timeout_s":30}"#;
    let (_, v) = api
        .call("POST", "/v1/sandboxes/contract/exec", Some(exec))
        .await;
    assert_eq!(
        (v["exit_code"].as_i64(), v["stdout"].as_str()),
        (Some(3), Some("out\n"))
    );
    let (st, _) = api
        .call(
            "POST",
            "/sandbox/contract/exec",
            Some(r#"{"cmd":["true"]}"#),
        )
        .await;
    assert_eq!(st, 200);
    // Background processes: start, list, stdin, signal, and the output stream (text).
    let procs = "/v1/sandboxes/contract/processes";
    let body = r#"{"cmd":["cat"],"stdin":true,"tag":"cat","env":{"X":"y"},"cwd":"/tmp"}"#;
    let (st, v) = api.call("POST", procs, Some(body)).await;
    assert_eq!((st, v["tag"].as_str()), (201, Some("cat")), "{v}");
    let pid = v["pid"].as_u64().unwrap();
    let (st, v) = api.call("GET", procs, None).await;
    assert_eq!((st, v["processes"][0]["pid"].as_u64()), (200, Some(pid)));
    let stdin = format!("{procs}/{pid}/stdin");
    let (st, _) = api
        .call("POST", &stdin, Some(r#"{"text":"hi\n","eof":true}"#))
        .await;
    assert_eq!(st, 204);
    let (st, v) = api
        .call("GET", &format!("{procs}/{pid}/output"), None)
        .await;
    let text = v.as_str().unwrap_or_default();
    assert!(st == 200 && text.contains("event: exit"), "{st} {v}");
    let (_, v) = api
        .call("POST", procs, Some(r#"{"cmd":["sleep","60"]}"#))
        .await;
    let signal = format!("{procs}/{}/signal", v["pid"]);
    assert_eq!(
        api.call("POST", &signal, Some(r#"{"signal":"SIGKILL"}"#))
            .await
            .0,
        204
    );
    // Tasks: start (a command agent), list, read, cancel, then the (ended) event stream.
    let tasks = "/v1/sandboxes/contract/tasks";
    let body = r#"{"prompt":"hi","agent":{"command":["sh","-c","echo {prompt}; sleep 30"],
        "adapter":"lines"},"cwd":"/tmp","env":{"API_KEY":"k-123456"},"timeout_s":60}"#;
    let (st, v) = api.call("POST", tasks, Some(body)).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("running")), "{v}");
    let task = format!("{tasks}/{}", v["id"].as_str().unwrap());
    let (st, v) = api.call("GET", tasks, None).await;
    assert_eq!((st, v["tasks"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(api.call("GET", &task, None).await.0, 200);
    let (st, v) = api.call("POST", &format!("{task}/cancel"), None).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (st, v) = api.call("GET", &format!("{task}/events"), None).await;
    let text = v.as_str().unwrap_or_default();
    assert!(st == 200 && text.contains("event: end"), "{st} {v}");
    for (path, body) in [
        ("/v1/sandboxes/contract/keepalive", r#"{"seconds":120}"#),
        ("/sandbox/contract/keepalive", ""),
    ] {
        let (st, v) = api.call("POST", path, Some(body)).await;
        assert_eq!((st, v["id"].as_str()), (200, Some("contract")), "{v}");
    }
    let (_, v) = api
        .call("GET", "/v1/sandboxes/contract/activity", None)
        .await;
    assert_eq!(v["last_source"], "keepalive");
    let (_, v) = api
        .call("GET", "/v1/sandboxes/contract/logs?tail=5", None)
        .await;
    assert!(v["lines"].is_array(), "{v}");
    let tokens = "/v1/sandboxes/contract/preview-tokens";
    let (st, v) = api.call("POST", tokens, Some(r#"{"port":3000}"#)).await;
    assert_eq!((st, v["port"].as_u64()), (201, Some(3000)), "{v}");
    assert_eq!(api.call("DELETE", tokens, None).await.0, 204);

    // Files, through the sandbox's agent.
    let f = "/v1/sandboxes/contract/files";
    let (st, v) = api
        .call("POST", &format!("{f}/mkdir"), Some(r#"{"path":"docs"}"#))
        .await;
    assert_eq!(st, 201, "{v}");
    let octet = Some("application/octet-stream");
    let put = format!("{f}?path=docs/a.txt");
    assert_eq!(
        api.call_raw("PUT", &put, octet, b"abc".to_vec()).await.0,
        200
    );
    let got = api.call_raw("GET", &put, None, Vec::new()).await;
    assert_eq!(got, (200, b"abc".to_vec()));
    let (st, v) = api
        .call("GET", &format!("{f}?path=docs&depth=2"), None)
        .await;
    assert_eq!(
        (st, v["entries"][0]["path"].as_str()),
        (200, Some("docs/a.txt"))
    );
    let moved = r#"{"from":"docs/a.txt","to":"docs/b.txt"}"#;
    assert_eq!(
        api.call("POST", &format!("{f}/move"), Some(moved)).await.0,
        200
    );
    let archive = format!("{f}/archive?path=docs");
    let (st, tar) = api.call_raw("GET", &archive, None, Vec::new()).await;
    assert_eq!(st, 200);
    let up = format!("{f}/archive?path=copy");
    let (st, _) = api
        .call_raw("PUT", &up, Some("application/x-tar"), tar)
        .await;
    assert_eq!(st, 200);
    let watch = format!("{f}/watch?path=docs");
    assert_eq!(api.call_raw("GET", &watch, None, Vec::new()).await.0, 200);
    assert_eq!(
        api.call("GET", &format!("{f}?path=../x"), None).await.0,
        400
    );
    assert_eq!(
        api.call("GET", &format!("{f}?path=nope"), None).await.0,
        404
    );
    assert_eq!(
        api.call("DELETE", &format!("{f}?path=copy"), None).await.0,
        204
    );
    // The terminal: refusals are JSON before any upgrade; the upgrade itself is a bodiless 101.
    for q in ["?cols=0", "?rows=2000", "?shell=zsh"] {
        let path = format!("/v1/sandboxes/contract/terminal{q}");
        assert_eq!(api.call("GET", &path, None).await.0, 400, "{q}");
    }
    let url = format!("ws{}/v1/sandboxes/contract/terminal", &s.api[4..]);
    let (mut ws, resp) = tokio_tungstenite::connect_async(url).await.unwrap();
    let status = resp.status().as_u16();
    api.check(
        "GET",
        "/v1/sandboxes/contract/terminal",
        status,
        &Value::Null,
    )
    .unwrap();
    ws.close(None).await.unwrap();

    // Stop, look at the stopped sandbox, start again (both routes).
    let (_, v) = api.call("POST", "/v1/sandboxes/contract/stop", None).await;
    assert_eq!(v["status"], "stopped");
    let (_, v) = api.call("GET", "/v1/sandboxes/contract", None).await;
    assert_eq!(v["live"]["running"], false, "{v}");
    let (_, v) = api
        .call("GET", "/v1/sandboxes/contract/activity", None)
        .await;
    assert!(
        v["sleeps_at"].is_null(),
        "a stopped sandbox does not sleep: {v}"
    );
    let (_, v) = api.call("POST", "/v1/sandboxes/contract/start", None).await;
    assert_eq!(v["status"], "running");
    api.call("POST", "/v1/sandboxes/contract/stop", None).await;
    let (_, v) = api.call("POST", "/wake/contract", None).await;
    assert_eq!(v["status"], "running");
    // Freeze by hand (the reaper's first rung), look at it, thaw it with an exec.
    let (_, v) = api
        .call("POST", "/v1/sandboxes/contract/freeze", None)
        .await;
    assert_eq!(v["status"], "frozen", "{v}");
    let (_, v) = api.call("GET", "/v1/sandboxes/contract", None).await;
    assert_eq!(v["live"]["state"], "paused", "{v}");
    let (_, v) = api
        .call(
            "POST",
            "/v1/sandboxes/contract/exec",
            Some(r#"{"cmd":["true"]}"#),
        )
        .await;
    assert_eq!(v["exit_code"], 0, "{v}");
    let (_, v) = api.call("GET", "/v1/sandboxes/contract", None).await;
    assert_eq!(v["status"], "running", "{v}");

    // Keys and the audit log (the anonymous loopback caller acts as admin).
    let key = r#"{"name":"ci","role":"tenant","owner":"team-a"}"#;
    let (st, v) = api.call("POST", "/v1/keys", Some(key)).await;
    assert_eq!((st, v["owner"].as_str()), (201, Some("team-a")), "{v}");
    assert!(v["key"].as_str().unwrap().starts_with("e2b_"), "{v}");
    let key_id = v["id"].as_str().unwrap().to_string();
    let (st, v) = api.call("GET", "/v1/keys", None).await;
    assert_eq!(
        (st, v["keys"][0]["id"].as_str()),
        (200, Some(key_id.as_str()))
    );
    assert!(
        v["keys"][0].get("key").is_none(),
        "no secret in listings: {v}"
    );
    let (st, _) = api
        .call("DELETE", &format!("/v1/keys/{key_id}"), None)
        .await;
    assert_eq!(st, 204);
    let (st, v) = api.call("GET", "/v1/audit?limit=5", None).await;
    assert_eq!(st, 200, "{v}");
    assert!(v["entries"].is_array(), "{v}");

    // Errors carry the envelope.
    let huge = format!(r#"{{"image":"{}"}}"#, "x".repeat(1 << 20));
    let errors: [(&str, String, Option<String>, u16); 10] = [
        ("GET", "/v1/sandboxes/nope".into(), None, 404),
        ("GET", "/sandbox/nope".into(), None, 404),
        ("GET", "/v1/sandboxes/bad_id!".into(), None, 400),
        ("GET", "/v1/sandboxes?colour=red".into(), None, 400),
        (
            "POST",
            "/v1/sandboxes".into(),
            Some(r#"{"ports":[0]}"#.into()),
            400,
        ),
        ("POST", "/v1/sandboxes".into(), Some("{".into()), 400),
        ("POST", "/v1/sandboxes".into(), Some(huge), 413),
        (
            "POST",
            "/v1/sandboxes/contract/exec".into(),
            Some(r#"{"cmd":[]}"#.into()),
            400,
        ),
        (
            "POST",
            "/v1/sandboxes/contract/keepalive".into(),
            Some(r#"{"until":1,"seconds":1}"#.into()),
            400,
        ),
        (
            "POST",
            "/v1/sandboxes/contract/preview-tokens".into(),
            Some(r#"{"port":0}"#.into()),
            400,
        ),
    ];
    for (method, path, body, want) in errors {
        let (st, v) = api.call(method, &path, body.as_deref()).await;
        assert_eq!(st, want, "{method} {path}: {v}");
        assert_eq!(v["error"]["retryable"], false, "{v}");
    }

    // Delete, every form; a deleted sandbox is gone (410) everywhere.
    assert_eq!(
        api.call("DELETE", "/v1/sandboxes/contract", None).await.0,
        204
    );
    for (method, path) in [
        ("GET", "/v1/sandboxes/contract"),
        ("GET", "/sandbox/contract"),
        ("POST", "/v1/sandboxes/contract/exec"),
        ("POST", "/v1/sandboxes/contract/keepalive"),
        ("GET", "/v1/sandboxes/contract/activity"),
        ("GET", "/v1/sandboxes/contract/logs"),
        ("GET", "/v1/sandboxes/contract/files"),
        ("POST", "/v1/sandboxes/contract/start"),
        ("POST", "/v1/sandboxes/contract/stop"),
        ("POST", "/v1/sandboxes/contract/freeze"),
    ] {
        let body = path.ends_with("/exec").then_some(r#"{"cmd":["true"]}"#);
        let (st, v) = api.call(method, path, body).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (410, Some("gone")),
            "{path}"
        );
    }
    let (_, v) = api
        .call("GET", "/v1/sandboxes?include_deleted=true", None)
        .await;
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), 2);
    assert_eq!(api.call("DELETE", "/sandbox/contract", None).await.0, 204);
    assert_eq!(
        api.call("POST", "/sandbox/contract/purge", None).await.0,
        204
    );
    let purge = format!("/v1/sandboxes/{other}?purge=true");
    assert_eq!(api.call("DELETE", &purge, None).await.0, 204);
    assert!(s.containers().await.unwrap().is_empty());
    e2b_answers_match_the_document(&s, &api).await;

    // Every operation was exercised with a success answer.
    let seen = api.seen.lock().unwrap().clone();
    let mut untested = Vec::new();
    for item in api.doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap().to_string();
            // Prometheus text, not JSON: tests/observability.rs scrapes and checks it.
            if id == "metrics" {
                continue;
            }
            if !seen.iter().any(|(o, st)| *o == id && *st < 300) {
                untested.push(id);
            }
        }
    }
    assert!(
        untested.is_empty(),
        "never answered with success: {untested:?}"
    );
}

/// The E2B REST API, on sandboxes of its own (killed at the end).
async fn e2b_answers_match_the_document(s: &TestServer, api: &Contract<'_>) {
    assert_eq!(api.call("GET", "/health", None).await.0, 200);
    let create = json!({"templateID": "base", "timeout": 600,
        "metadata": {"api": "e2b"}, "envVars": {"A": "b"}})
    .to_string();
    let (st, v) = api.call("POST", "/sandboxes", Some(&create)).await;
    assert_eq!(st, 201, "{v}");
    let e = v["sandboxID"].as_str().unwrap().to_string();
    let (st, v) = api.call("POST", "/v2/sandboxes", Some(&create)).await;
    assert_eq!(st, 201, "{v}");
    let e2 = v["sandboxID"].as_str().unwrap().to_string();
    let (st, v) = api.call("GET", &format!("/sandboxes/{e}"), None).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("running")), "{v}");
    let (st, v) = api
        .call("GET", "/v2/sandboxes?metadata=api%3De2b", None)
        .await;
    assert_eq!((st, v.as_array().map(Vec::len)), (200, Some(2)), "{v}");
    let timeout = format!("/sandboxes/{e}/timeout");
    let t = Some(r#"{"timeout":900}"#);
    assert_eq!(api.call("POST", &timeout, t).await.0, 204);
    let connect = format!("/sandboxes/{e}/connect");
    assert_eq!(api.call("POST", &connect, Some("{}")).await.0, 200);
    let pause = format!("/sandboxes/{e}/pause");
    assert_eq!(api.call("POST", &pause, None).await.0, 204);
    assert_eq!(api.call("POST", &pause, None).await.0, 409);
    let resume = format!("/sandboxes/{e}/resume");
    assert_eq!(api.call("POST", &resume, Some("{}")).await.0, 201);
    assert_eq!(api.call("POST", &pause, None).await.0, 204);
    let connect = format!("/v2/sandboxes/{e}/connect");
    assert_eq!(api.call("POST", &connect, Some("{}")).await.0, 201);
    for id in [&e, &e2] {
        let kill = format!("/sandboxes/{id}");
        assert_eq!(api.call("DELETE", &kill, None).await.0, 204);
        assert_eq!(api.call("GET", &kill, None).await.0, 404);
    }
    assert!(s.containers().await.unwrap().is_empty());
}

/// The contract check itself rejects answers that drift from the document.
#[tokio::test]
async fn the_contract_check_catches_drift() {
    let s = TestServer::start().await.unwrap();
    let api = Contract::fetch(&s).await.unwrap();
    let (_, good) = api.call("POST", "/v1/sandboxes/nope/start", None).await;
    let check = |path: &str, status: u16, body: &Value| api.check("POST", path, status, body);
    let lease =
        json!({"id": "x", "lease_until": "2030-01-01T00:00:00.000Z", "lease_until_unix": 1});
    assert!(check("/v1/sandboxes/x/keepalive", 200, &lease).is_ok());
    let drifted = [
        (
            "renamed",
            json!({"id": "x", "lease_until": "2030-01-01T00:00:00.000Z", "lease_until_s": 1}),
        ),
        (
            "retyped",
            json!({"id": "x", "lease_until": "2030-01-01T00:00:00.000Z", "lease_until_unix": "1"}),
        ),
        (
            "missing",
            json!({"lease_until": "2030-01-01T00:00:00.000Z", "lease_until_unix": 1}),
        ),
        (
            "undocumented",
            json!({"id": "x", "lease_until": "2030-01-01T00:00:00.000Z", "lease_until_unix": 1, "extra": 1}),
        ),
        (
            "not a date",
            json!({"id": "x", "lease_until": "tomorrow", "lease_until_unix": 1}),
        ),
    ];
    for (what, bad) in drifted {
        let err = check("/v1/sandboxes/x/keepalive", 200, &bad);
        assert!(err.is_err(), "{what}: {bad}");
    }
    // Errors: the envelope, its code from the list, and only documented statuses.
    assert!(check("/v1/sandboxes/x/start", 404, &good).is_ok());
    let mut bad = good.clone();
    bad["error"]["code"] = json!("no_such_code");
    assert!(check("/v1/sandboxes/x/start", 404, &bad).is_err());
    assert!(check("/v1/sandboxes/x/start", 418, &good).is_err());
    assert!(check("/v1/sandboxes/x/start", 204, &Value::Null).is_err());
}
