//! What an attacker outside the sandboxes can try against the API, against a real sandboxd:
//! a web page (any preview, any site the developer visits) posting to the API on loopback, and a
//! DNS-rebinding site naming itself as the Host. All are refused before any state exists, while
//! the product brief's quick start (curl on loopback, JSON, no token) keeps working.

use sandboxd_testkit::TestServer;

/// Request headers, the status and the error code they must get.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

/// Send a raw request to the API with the given headers; returns (status, error code).
async fn send(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut req = s.client.request(method, format!("{}{}", s.api, path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.body(body.to_string()).send().await.unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn web_pages_cannot_drive_the_api() {
    let s = TestServer::start().await.unwrap();
    let preview_page = format!("http://s-abc-3000.preview.localhost:{}", 80);
    let post = reqwest::Method::POST;
    let create = r#"{"ports":[3000]}"#;
    let cases: Vec<Case> = vec![
        // fetch(..., {method: "POST", mode: "no-cors", body}) from a preview: text/plain.
        (
            vec![("origin", &preview_page), ("content-type", "text/plain")],
            403,
            "forbidden",
        ),
        // The same with a JSON type (needs a preflight, which the API never grants).
        (
            vec![
                ("origin", &preview_page),
                ("content-type", "application/json"),
            ],
            403,
            "forbidden",
        ),
        // A browser that marks the request instead of (or besides) sending Origin.
        (
            vec![
                ("sec-fetch-site", "cross-site"),
                ("content-type", "application/json"),
            ],
            403,
            "forbidden",
        ),
        // DNS rebinding: the attacker's name resolving to 127.0.0.1, same-origin to itself.
        (
            vec![
                ("host", "rebind.attacker.example:9090"),
                ("origin", "http://rebind.attacker.example:9090"),
                ("content-type", "application/json"),
            ],
            403,
            "forbidden",
        ),
        // An HTML form post.
        (
            vec![("content-type", "application/x-www-form-urlencoded")],
            415,
            "unsupported_media_type",
        ),
        (
            vec![("content-type", "text/plain")],
            415,
            "unsupported_media_type",
        ),
        (vec![], 415, "unsupported_media_type"),
    ];
    for (headers, status, code) in &cases {
        for path in ["/sandbox", "/v1/sandboxes"] {
            let got = send(&s, post.clone(), path, headers, create).await;
            assert_eq!(got, (*status, code.to_string()), "{path} {headers:?}");
        }
    }
    // Reading through a rebound name is refused too (a page could read the answers).
    let got = send(
        &s,
        reqwest::Method::GET,
        "/v1/sandboxes",
        &[("host", "rebind.attacker.example")],
        "",
    )
    .await;
    assert_eq!(got, (403, "forbidden".to_string()));
    // Nothing was created by any of them.
    let (status, list) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        list["sandboxes"].as_array().map(Vec::len),
        Some(0),
        "{list}"
    );
    assert!(s.containers().await.unwrap().is_empty());

    // The brief's quick start form: loopback, JSON, no token, no Origin.
    let (status, code) = send(
        &s,
        post.clone(),
        "/sandbox",
        &[("content-type", "application/json")],
        create,
    )
    .await;
    assert_eq!((status, code.as_str()), (201, ""));
    // Probes stay open to anything (they reveal nothing).
    let probe = send(
        &s,
        reqwest::Method::GET,
        "/healthz",
        &[("host", "rebind.attacker.example"), ("origin", "http://x")],
        "",
    )
    .await;
    assert_eq!(probe.0, 200);
}

#[tokio::test]
async fn configured_api_hosts_are_accepted() {
    let s = TestServer::start_with(|c| c.api_hosts = vec!["sandboxd.internal".into()])
        .await
        .unwrap();
    let get = reqwest::Method::GET;
    let ok = send(
        &s,
        get.clone(),
        "/v1/sandboxes",
        &[("host", "SANDBOXD.internal:9090")],
        "",
    )
    .await;
    assert_eq!(ok.0, 200);
    let other = send(&s, get, "/v1/sandboxes", &[("host", "other.internal")], "").await;
    assert_eq!(other, (403, "forbidden".to_string()));
}
