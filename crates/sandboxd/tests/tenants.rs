//! Keys, tenants and the audit log against a real server and engine: the generated admin token
//! (0600 file, required beyond loopback or with --require-token), both header forms, tenant
//! isolation on every kind of sandbox route (404 exactly like a missing id, the other sandbox
//! untouched), revocation, admin-only routes, and the audit trail of who did what.

use sandboxd_testkit::TestServer;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

/// One request as a given key, in either header form.
async fn as_key(
    s: &TestServer,
    key: Option<&str>,
    x_api_key: bool,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, format!("{}{}", s.api, path));
    match (key, x_api_key) {
        (Some(k), true) => req = req.header("x-api-key", k),
        (Some(k), false) => req = req.bearer_auth(k),
        (None, _) => {}
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn new_key(s: &TestServer, body: Value) -> (String, String) {
    let (st, v) = s
        .call("POST", "/v1/keys", Some(&body.to_string()))
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    (
        v["id"].as_str().unwrap().to_string(),
        v["key"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn generated_admin_token_is_private_and_required_where_configured() {
    // Beyond loopback: the server starts (the generated token satisfies the rule) and requires it.
    let s = TestServer::start_with(|c| c.api_addr = "0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let file = s.data.path().join("api-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(token.starts_with("e2b_") && token.len() == 44);
    let (st, _) = as_key(&s, None, false, "GET", "/v1/sandboxes", None).await;
    assert_eq!(st, 401);
    for x_api_key in [false, true] {
        let (st, v) = as_key(&s, Some(&token), x_api_key, "GET", "/v1/sandboxes", None).await;
        assert_eq!(st, 200, "{v}");
    }
    drop(s);

    // Loopback with --require-token refuses anonymous callers; the token file works.
    let s = TestServer::start_with(|c| c.require_token = true)
        .await
        .unwrap();
    let (st, v) = as_key(&s, None, false, "POST", "/v1/sandboxes", Some("{}")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert!(s.containers().await.unwrap().is_empty());
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200);
    let (st, _) = as_key(&s, None, false, "GET", "/healthz", None).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn tenants_see_and_touch_only_their_own_sandboxes() {
    // Loopback, no token required: the test acts as admin without one (the quick start).
    let s = TestServer::start().await.unwrap();
    let (a_id, a) = new_key(&s, json!({"name": "key-a", "owner": "team-a"})).await;
    let (_, b) = new_key(
        &s,
        json!({"name": "key-b", "role": "tenant", "owner": "team-b"}),
    )
    .await;

    // A uses Bearer, B uses X-API-KEY.
    let (st, v) = as_key(
        &s,
        Some(&a),
        false,
        "POST",
        "/v1/sandboxes",
        Some(r#"{"id":"ta"}"#),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = as_key(
        &s,
        Some(&b),
        true,
        "POST",
        "/v1/sandboxes",
        Some(r#"{"id":"tb"}"#),
    )
    .await;
    assert_eq!(st, 201, "{v}");

    let (_, v) = as_key(&s, Some(&a), false, "GET", "/v1/sandboxes", None).await;
    let ids: Vec<&str> = v["sandboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ta"]);
    let (_, v) = as_key(&s, Some(&a), false, "GET", "/sandboxes", None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(
        v["sandboxes"].as_array().unwrap().len(),
        2,
        "admin sees all"
    );

    // Every route naming B's sandbox answers A exactly as a missing id does.
    let (st, missing) = as_key(&s, Some(&a), false, "GET", "/v1/sandboxes/zz", None).await;
    assert_eq!(st, 404);
    let exec = r#"{"cmd":["touch","hit"]}"#;
    for (method, path, body) in [
        ("GET", "/v1/sandboxes/tb", None),
        ("GET", "/v1/sandboxes/TB/logs", None),
        ("POST", "/v1/sandboxes/tb/exec", Some(exec)),
        ("POST", "/v1/sandboxes/tb/stop", None),
        ("POST", "/v1/sandboxes/tb/freeze", None),
        ("DELETE", "/v1/sandboxes/tb", None),
        ("GET", "/sandbox/tb", None),
        ("POST", "/sandbox/tb/exec", Some(exec)),
        ("POST", "/sandbox/tb/purge", None),
        ("POST", "/wake/tb", None),
    ] {
        let (st, v) = as_key(&s, Some(&a), false, method, path, body).await;
        assert_eq!(st, 404, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], missing["error"]["code"]);
        assert_eq!(
            v["error"]["message"].as_str().unwrap().replace("tb", "zz"),
            missing["error"]["message"].as_str().unwrap(),
            "{method} {path}"
        );
    }
    // B's sandbox is untouched: running, no file written, and B reaches it.
    let (_, v) = s.call("GET", "/v1/sandboxes/tb", None).await.unwrap();
    assert_eq!(v["status"], "running", "{v}");
    let (st, v) = as_key(
        &s,
        Some(&b),
        true,
        "POST",
        "/v1/sandboxes/tb/exec",
        Some(r#"{"cmd":["ls"]}"#),
    )
    .await;
    assert_eq!((st, v["stdout"].as_str()), (200, Some("")), "{v}");

    // A's own sandbox works for A; admin routes do not.
    let (st, _) = as_key(
        &s,
        Some(&a),
        false,
        "POST",
        "/v1/sandboxes/ta/exec",
        Some(r#"{"cmd":["true"]}"#),
    )
    .await;
    assert_eq!(st, 200);
    for (method, path) in [
        ("GET", "/v1/keys"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/audit"),
    ] {
        let body = (method == "POST").then_some(r#"{"name":"x","role":"admin"}"#);
        let (st, v) = as_key(&s, Some(&a), false, method, path, body).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
    }
    let (st, _) = as_key(&s, Some(&a), true, "DELETE", "/v1/sandboxes/ta", None).await;
    assert_eq!(st, 204);

    // Revoked: 401, even on a loopback API that requires no token.
    let (st, _) = s
        .call("DELETE", &format!("/v1/keys/{a_id}"), None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    let (st, v) = as_key(&s, Some(&a), false, "GET", "/v1/sandboxes", None).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (_, v) = s.call("GET", "/v1/keys", None).await.unwrap();
    let rec = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == a_id.as_str())
        .unwrap()
        .clone();
    assert!(
        rec["revoked_at_ms"].is_i64() && rec["last_used_at_ms"].is_i64(),
        "{rec}"
    );

    // The audit log has A's create, exec and delete, and the refused delete of B's sandbox.
    let want = |e: &Value, method: &str, route: &str, sb: &str, status: u64| {
        e["actor"] == "key-a"
            && e["actor_key_id"] == a_id.as_str()
            && e["method"] == method
            && e["route"] == route
            && e["sandbox_id"] == sb
            && e["status"] == status
    };
    let mut found = false;
    for _ in 0..100 {
        let (_, ta) = s.call("GET", "/v1/audit?sandbox=ta", None).await.unwrap();
        let (_, tb) = s
            .call("GET", "/v1/audit?sandbox=tb&limit=1000", None)
            .await
            .unwrap();
        let ta = ta["entries"].as_array().cloned().unwrap_or_default();
        let tb = tb["entries"].as_array().cloned().unwrap_or_default();
        found = ta
            .iter()
            .any(|e| want(e, "POST", "/v1/sandboxes", "ta", 201))
            && ta
                .iter()
                .any(|e| want(e, "POST", "/v1/sandboxes/{id}/exec", "ta", 200))
            && ta
                .iter()
                .any(|e| want(e, "DELETE", "/v1/sandboxes/{id}", "ta", 204))
            && tb
                .iter()
                .any(|e| want(e, "DELETE", "/v1/sandboxes/{id}", "tb", 404));
        if found {
            assert!(ta
                .iter()
                .all(|e| e["request_id"].as_str().is_some_and(|r| !r.is_empty())));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "audit entries missing");
    let (_, v) = s.call("GET", "/v1/audit?limit=1", None).await.unwrap();
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(1));
    assert!(v["next_before"].is_i64(), "{v}");
}

#[tokio::test]
async fn cli_reads_the_token_file_and_manages_keys() {
    let s = TestServer::start_with(|c| c.require_token = true)
        .await
        .unwrap();
    let bin = env!("CARGO_BIN_EXE_sandboxd");
    let (api, data) = (s.api.clone(), s.data.path().to_path_buf());
    let run = move |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(args)
            .env("SANDBOXD_API", &api)
            .env("SANDBOXD_DATA_DIR", &data)
            .env_remove("SANDBOXD_API_TOKEN");
        async move {
            let out = cmd.output().await.unwrap();
            let text = |b: Vec<u8>| String::from_utf8_lossy(&b).to_string();
            (
                out.status.code().unwrap_or(-1),
                text(out.stdout),
                text(out.stderr),
            )
        }
    };
    let (code, _, err) = run(&["ls"]).await;
    assert_eq!(code, 0, "the admin token comes from the data dir: {err}");
    let (code, key, err) = run(&["keys", "create", "--name", "cli-t", "--tenant", "team-x"]).await;
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_string();
    assert!(key.starts_with("e2b_") && key.len() == 44, "{key}");
    let id = err.split_whitespace().nth(2).unwrap().to_string();
    let (code, out, _) = run(&["keys", "ls"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains(&id) && out.contains("team-x") && out.contains("active"),
        "{out}"
    );
    assert!(!out.contains(&key), "listings never show the secret: {out}");
    let (st, _) = as_key(&s, Some(&key), true, "GET", "/v1/sandboxes", None).await;
    assert_eq!(st, 200);
    assert_eq!(run(&["keys", "revoke", &id]).await.0, 0);
    let (st, _) = as_key(&s, Some(&key), true, "GET", "/v1/sandboxes", None).await;
    assert_eq!(st, 401);
    assert!(run(&["keys", "ls"]).await.1.contains("revoked"));
}

#[tokio::test]
async fn keys_owners_and_audit_survive_a_restart() {
    let s = TestServer::start().await.unwrap();
    let (_, a) = new_key(&s, json!({"name": "key-a", "owner": "team-a"})).await;
    let (st, _) = as_key(
        &s,
        Some(&a),
        false,
        "POST",
        "/v1/sandboxes",
        Some(r#"{"id":"kept"}"#),
    )
    .await;
    assert_eq!(st, 201);
    let started = tokio::time::Instant::now();
    let (data, instance) = s.stop_keep().await;
    assert!(
        started.elapsed().as_secs() < 5,
        "shutdown waited for the audit writer"
    );
    let mut cfg = TestServer::config(data.path());
    cfg.instance = instance;
    let s = TestServer::start_in(data, cfg).await.unwrap();
    let (_, v) = as_key(&s, Some(&a), false, "GET", "/v1/sandboxes", None).await;
    assert_eq!(v["sandboxes"][0]["id"], "kept", "{v}");
    // Written before the first server stopped: no wait needed.
    let (_, v) = s.call("GET", "/v1/audit?sandbox=kept", None).await.unwrap();
    let create = &v["entries"][0];
    assert_eq!(
        (create["actor"].as_str(), create["status"].as_u64()),
        (Some("key-a"), Some(201)),
        "{v}"
    );
    assert_eq!(
        s.call("DELETE", "/v1/sandboxes/kept", None)
            .await
            .unwrap()
            .0,
        204
    );
}
