//! Private previews against a real sandboxd and engine: without a token (or with one for
//! another port or sandbox, garbage, an expired or a revoked one) the preview answers 401 and
//! the stopped sandbox stays stopped; a query token is exchanged for a host-only HttpOnly cookie,
//! which then works alone; header tokens and WebSocket upgrades work; the app never sees the
//! token; tenants mint tokens only for their own sandboxes.

use reqwest::Method;
use sandboxd_testkit::ws::WsClient;
use sandboxd_testkit::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PRIVATE: &str =
    r#"{"ports":[3000,8080],"start":"exec sandboxd-fixture 3000 8080","preview":"private"}"#;
const HEADER: &str = "x-sandboxd-preview-token";

async fn mint(s: &TestServer, id: &str, port: u16, ttl: u64) -> Value {
    let body = json!({"port": port, "ttl_seconds": ttl}).to_string();
    let path = format!("/v1/sandboxes/{id}/preview-tokens");
    let (st, v) = s.call("POST", &path, Some(&body)).await.unwrap();
    assert_eq!(st, 201, "{v}");
    v
}

/// (status, error code or body text) of a preview GET with optional extra headers.
async fn get(s: &TestServer, id: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = s.preview(Method::GET, id, 3000, path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match v["error"]["code"].as_str() {
        Some(code) => (status, code.to_string()),
        None => (status, text),
    }
}

async fn status(s: &TestServer, id: &str) -> String {
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    v["status"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn private_previews_need_a_valid_token_and_never_wake_without_one() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(PRIVATE).await.unwrap();
    let other = s.create(r#"{"preview":"private"}"#).await.unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["preview"], "private", "{v}");
    let minted = mint(&s, &id, 3000, 3600).await;
    let token = minted["token"].as_str().unwrap().to_string();
    assert_eq!(minted["port"], 3000);
    let url = minted["url"].as_str().unwrap();
    assert!(url.contains(&format!("s-{id}-3000.")), "{url}");
    assert!(
        url.ends_with(&format!("/?sandboxd_preview_token={token}")),
        "{url}"
    );
    let port_8080 = mint(&s, &id, 8080, 3600).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign = mint(&s, &other, 3000, 3600).await["token"]
        .as_str()
        .unwrap()
        .to_string();

    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let refused = [
        (vec![], "preview_token_required"),
        (vec![(HEADER, "garbage")], "preview_token_invalid"),
        (vec![(HEADER, port_8080.as_str())], "preview_token_invalid"),
        (vec![(HEADER, foreign.as_str())], "preview_token_invalid"),
    ];
    for (headers, code) in &refused {
        assert_eq!(
            get(&s, &id, "/", headers).await,
            (401, code.to_string()),
            "{headers:?}"
        );
    }
    let cookie = format!("sandboxd_preview_token={port_8080}");
    let got = get(
        &s,
        &id,
        "/",
        &[("cookie", &cookie), ("accept", "text/html")],
    )
    .await;
    assert_eq!(got.0, 401);
    // None of them woke it.
    assert_eq!(status(&s, &id).await, "stopped");

    // A header token wakes it and reaches the app, which never sees the token.
    let (st, seen) = get(&s, &id, "/headers", &[(HEADER, &token)]).await;
    assert_eq!(st, 200, "{seen}");
    assert!(!seen.contains(&token) && !seen.contains(HEADER), "{seen}");
    assert_eq!(status(&s, &id).await, "running");

    // A browser's query token becomes a host-only cookie and a redirect to the bare URL.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let addr = s.preview_addr();
    let r = browser
        .get(format!(
            "http://{addr}/headers?a=1&sandboxd_preview_token={token}"
        ))
        .header("host", s.preview_host(&id, 3000))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/headers?a=1");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.starts_with(&format!("sandboxd_preview_token={token};")),
        "{set}"
    );
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain"), "{set}");
    let cookie = format!("theme=dark; sandboxd_preview_token={token}");
    let (st, seen) = get(&s, &id, "/headers?a=1", &[("cookie", &cookie)]).await;
    assert_eq!(st, 200, "{seen}");
    assert!(seen.contains("cookie: theme=dark"), "{seen}");
    assert!(
        !seen.contains(&token) && !seen.contains("sandboxd_preview_token"),
        "{seen}"
    );

    // WebSockets: with the token in the query they connect, without it the upgrade is refused.
    let host = s.preview_host(&id, 3000);
    let mut ws = WsClient::connect(addr, &host, &format!("/ws?sandboxd_preview_token={token}"))
        .await
        .unwrap();
    ws.send_text("hello").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "hello");
    let err = WsClient::connect(addr, &host, "/ws").await.err().unwrap();
    assert!(err.to_string().contains("401"), "{err}");

    // Revoking (rotating the key) refuses the old token at once.
    let path = format!("/v1/sandboxes/{id}/preview-tokens");
    assert_eq!(s.call("DELETE", &path, None).await.unwrap().0, 204);
    let got = get(&s, &id, "/", &[(HEADER, &token)]).await;
    assert_eq!(got, (401, "preview_token_invalid".to_string()));
    let fresh = mint(&s, &id, 3000, 3600).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&s, &id, "/", &[(HEADER, &fresh)]).await.0, 200);

    // A short-lived token stops working once it expires.
    let short = mint(&s, &id, 3000, 1).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = get(&s, &id, "/", &[(HEADER, &short)]).await;
        if got == (401, "preview_token_invalid".to_string()) {
            break;
        }
        assert_eq!(got.0, 200, "{got:?}");
        assert!(Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn tokens_are_minted_only_for_your_own_sandboxes_and_checked() {
    let s = TestServer::start_with(|c| c.limits.default_preview = sandboxd_core::Preview::Private)
        .await
        .unwrap();
    let key = |owner: &str| json!({"name": owner, "role": "tenant", "owner": owner}).to_string();
    let (_, a) = s
        .call("POST", "/v1/keys", Some(&key("team-a")))
        .await
        .unwrap();
    let (_, b) = s
        .call("POST", "/v1/keys", Some(&key("team-b")))
        .await
        .unwrap();
    let (a, b) = (a["key"].as_str().unwrap(), b["key"].as_str().unwrap());
    let call = |key: &str, method: &str, path: &str, body: &str| {
        let req = s
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", s.api),
            )
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let r = req.send().await.unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, v) = call(b, "POST", "/v1/sandboxes", r#"{"id":"tb"}"#).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["preview"], "private", "the configured default");
    let body = r#"{"port":3000}"#;
    let (st, v) = call(a, "POST", "/v1/sandboxes/tb/preview-tokens", body).await;
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (st, _) = call(a, "DELETE", "/v1/sandboxes/tb/preview-tokens", "").await;
    assert_eq!(st, 404);
    let (st, v) = call(b, "POST", "/v1/sandboxes/tb/preview-tokens", body).await;
    assert_eq!(st, 201, "{v}");
    for bad in [
        r#"{}"#,
        r#"{"port":0}"#,
        r#"{"port":49983}"#,
        r#"{"port":3000,"ttl_seconds":604801}"#,
    ] {
        let (st, v) = call(b, "POST", "/v1/sandboxes/tb/preview-tokens", bad).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    // Every mint and revocation is in the audit log (written in batches), refusals included.
    let want = [("POST", 201), ("POST", 404), ("DELETE", 404)];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = s.call("GET", "/v1/audit?sandbox=tb", None).await.unwrap();
        let seen: Vec<(String, u64)> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["route"] == "/v1/sandboxes/{id}/preview-tokens")
            .map(|e| {
                (
                    e["method"].as_str().unwrap().to_string(),
                    e["status"].as_u64().unwrap(),
                )
            })
            .collect();
        if want
            .iter()
            .all(|(m, st)| seen.contains(&(m.to_string(), *st)))
        {
            break;
        }
        assert!(Instant::now() < deadline, "audit entries missing: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
