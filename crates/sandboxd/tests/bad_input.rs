//! Bad input gets a 4xx with the error envelope and leaves nothing behind: no row, no container,
//! no directory. Checked against the store (via the API), the engine and the disk.

use sandboxd_testkit::TestServer;

async fn assert_nothing_left(s: &TestServer, rows: usize) {
    let (_, v) = s
        .call("GET", "/v1/sandboxes?include_deleted=true", None)
        .await
        .unwrap();
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), rows, "rows: {v}");
    assert_eq!(s.containers().await.unwrap().len(), rows, "containers");
    let entries: Vec<_> = std::fs::read_dir(s.workspaces())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    let dirs = entries.iter().filter(|p| p.is_dir()).count();
    assert_eq!(dirs, rows, "workspace directories");
    // Size-limited workspaces (the default): one image each, none left by a refused create.
    let images = entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "img"))
        .count();
    assert_eq!(images, rows, "workspace images");
}

#[tokio::test]
async fn bad_create_requests_are_refused_cleanly() {
    let s = TestServer::start().await.unwrap();
    let nul_env = r#"{"env":{"A\u0000B":"x"}}"#;
    let big = format!(r#"{{"env":{{"A":"{}"}}}}"#, "x".repeat(1_100_000));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "malformed JSON",
            "{\"ports\":[3000".into(),
            400,
            "invalid_request",
        ),
        ("not an object", "[1,2]".into(), 400, "invalid_request"),
        (
            "wrong type",
            r#"{"ports":"3000"}"#.into(),
            400,
            "invalid_request",
        ),
        ("port 0", r#"{"ports":[0]}"#.into(), 400, "invalid_request"),
        (
            "port 70000",
            r#"{"ports":[70000]}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "env key with =",
            r#"{"env":{"A=B":"x"}}"#.into(),
            400,
            "invalid_request",
        ),
        ("env key with NUL", nul_env.into(), 400, "invalid_request"),
        (
            "id uppercase",
            r#"{"id":"ABC"}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "id underscore",
            r#"{"id":"a_b"}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "id leading dash",
            r#"{"id":"-ab"}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "id too long",
            format!(r#"{{"id":"{}"}}"#, "a".repeat(33)),
            400,
            "invalid_request",
        ),
        (
            "unknown field",
            r#"{"prots":[3000]}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "memory over max",
            r#"{"resources":{"memory_mb":99999999}}"#.into(),
            400,
            "invalid_request",
        ),
        (
            "missing image",
            r#"{"image":"no-such-image:never"}"#.into(),
            400,
            "invalid_request",
        ),
        ("body too large", big, 413, "payload_too_large"),
    ];
    for (what, body, status, code) in cases {
        for path in ["/sandbox", "/v1/sandboxes"] {
            let (st, v) = s.call("POST", path, Some(&body)).await.unwrap();
            assert_eq!(st, status, "{what} on {path}: {v}");
            assert_eq!(v["error"]["code"], code, "{what}: {v}");
            assert!(
                v["error"]["message"].as_str().unwrap().len() > 3,
                "{what}: {v}"
            );
            assert_eq!(v["error"]["retryable"], false, "{what}");
        }
        assert_nothing_left(&s, 0).await;
    }

    // A duplicate id is a conflict and leaves the first sandbox untouched.
    s.create(r#"{"id":"dup"}"#).await.unwrap();
    let (st, v) = s
        .call("POST", "/v1/sandboxes", Some(r#"{"id":"dup"}"#))
        .await
        .unwrap();
    assert_eq!((st, v["error"]["code"].as_str()), (409, Some("conflict")));
    assert_nothing_left(&s, 1).await;
    let (_, out, _) = s.sh("dup", "echo ok").await.unwrap();
    assert_eq!(out, "ok\n");
}

#[tokio::test]
async fn unknown_sandboxes_and_bad_exec_input() {
    let s = TestServer::start().await.unwrap();
    for (method, path) in [
        ("GET", "/v1/sandboxes/nope"),
        ("GET", "/sandbox/nope"),
        ("POST", "/v1/sandboxes/nope/stop"),
        ("POST", "/v1/sandboxes/nope/start"),
        ("DELETE", "/v1/sandboxes/nope"),
        ("POST", "/sandbox/nope/purge"),
        ("POST", "/sandbox/nope/keepalive"),
        ("GET", "/v1/sandboxes/nope/logs"),
    ] {
        let (st, v) = s.call(method, path, None).await.unwrap();
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }
    let (st, v) = s
        .call("POST", "/sandbox/nope/exec", Some(r#"{"cmd":["true"]}"#))
        .await
        .unwrap();
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (st, _) = s.call("GET", "/v1/sandboxes/Bad_Id", None).await.unwrap();
    assert_eq!(st, 400);
    let (st, v) = s.call("GET", "/no/such/route", None).await.unwrap();
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));

    let id = s.create("").await.unwrap();
    for body in [
        "",
        r#"{"cmd":[]}"#,
        r#"{"cmd":"ls"}"#,
        r#"{"cmd":["ls"],"timeout_s":0}"#,
        r#"{"cmd":["ls"],"cwd":"relative"}"#,
        r#"{"cmd":["ls"],"env":{"A=B":"1"}}"#,
        r#"{"cmd":["ls"],"bogus":1}"#,
    ] {
        let (st, v) = s
            .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(body))
            .await
            .unwrap();
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}: {v}"
        );
    }
    // Lookups ignore letter case (browsers lowercase host names; clients may not).
    let (st, _) = s
        .call("GET", &format!("/v1/sandboxes/{}", id.to_uppercase()), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
}
