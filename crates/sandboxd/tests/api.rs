//! API surface against a real server: every documented operation is routed (none falls through
//! to the "no such route" fallback), the document is served, auth is enforced when configured.

use sandboxd_testkit::TestServer;

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
            ops.push((method.to_uppercase(), path.replace("{id}", &id)));
        }
    }
    ops.sort_by_key(|(m, p)| (m == "DELETE" || p.ends_with("/purge"), p.clone()));
    for (method, path) in ops {
        let body = if path.ends_with("/exec") {
            Some(r#"{"cmd":["true"]}"#)
        } else {
            None
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
async fn refuses_to_listen_beyond_loopback_without_a_token() {
    let err = TestServer::start_with(|c| c.api_addr = "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .expect("must refuse");
    assert!(
        format!("{err:#}").contains("without authentication"),
        "{err:#}"
    );
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
