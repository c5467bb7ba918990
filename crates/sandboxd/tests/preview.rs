//! The preview proxy against real sandboxes running our fixture server: bodies both ways, two
//! ports, Host forms, forwarding headers, SSE streaming, WebSocket, and the answers for unknown,
//! deleted, failed and refusing targets.

use reqwest::Method;
use sandboxd::testkit::ws::WsClient;
use sandboxd::testkit::TestServer;
use std::time::{Duration, Instant};

const FIXTURE: &str = r#"{"ports":[3000,8080],"start":"exec sandboxd-fixture 3000 8080"}"#;

#[tokio::test]
async fn proxies_http_with_bodies_ports_hosts_and_headers() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE).await.unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("port 3000"));
    let r = s.preview(Method::GET, &id, 8080, "/").send().await.unwrap();
    assert!(r.text().await.unwrap().contains("port 8080"), "second port");

    let body = "x".repeat(300_000);
    let r = s
        .preview(Method::POST, &id, 3000, "/echo")
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), body);

    // Mixed case and :port forms reach the same sandbox; the Host is passed on as sent.
    let addr = s.preview_addr();
    for host in [
        format!("S-{}-3000.Preview.LocalHost", id.to_uppercase()),
        format!("s-{id}-3000.preview.localhost:{}", addr.port()),
    ] {
        let r = s
            .client
            .get(format!("http://{addr}/headers"))
            .header("host", &host)
            .header("connection", "keep-alive, x-drop-me")
            .header("x-drop-me", "1")
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
        let seen = r.text().await.unwrap();
        assert!(seen.contains(&format!("host: {host}")), "{seen}");
        assert!(seen.contains("x-forwarded-proto: http"), "{seen}");
        assert!(
            seen.contains(&format!("x-forwarded-host: {host}")),
            "{seen}"
        );
        assert!(
            seen.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1"),
            "{seen}"
        );
        assert!(
            !seen.contains("x-drop-me"),
            "hop-by-hop header leaked: {seen}"
        );
    }
    // The API is not served on the preview listener, and the proxy is not on the API listener.
    let r = s
        .client
        .get(format!("http://{addr}/v1/sandboxes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = s
        .client
        .get(format!("{}/", s.api))
        .header("host", s.preview_host(&id, 3000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn streams_sse_and_tunnels_websockets() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE).await.unwrap();
    s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    let t0 = Instant::now();
    let mut r = s
        .preview(Method::GET, &id, 3000, "/sse?n=4&interval_ms=300")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = r.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
        arrivals.push(t0.elapsed());
    }
    assert_eq!(text.matches("data: event").count(), 4, "{text}");
    assert!(
        arrivals.len() >= 4,
        "events were not streamed one by one: {arrivals:?}"
    );
    assert!(
        arrivals[0] < Duration::from_millis(500),
        "first event late: {arrivals:?}"
    );
    assert!(arrivals[arrivals.len() - 1] - arrivals[0] >= Duration::from_millis(700));

    let mut ws = WsClient::connect(s.preview_addr(), &s.preview_host(&id, 3000), "/ws")
        .await
        .unwrap();
    for msg in ["hello", "second message", &"y".repeat(70_000)] {
        ws.send_text(msg).await.unwrap();
        assert_eq!(ws.recv_text().await.unwrap(), msg);
    }
    ws.close().await.unwrap();
}

#[tokio::test]
async fn unknown_deleted_failed_and_refusing_targets() {
    let s = TestServer::start_with(|c| c.wake_timeout = Duration::from_secs(2))
        .await
        .unwrap();
    // Unknown: 404, JSON for API clients, HTML for browsers.
    let r = s
        .preview(Method::GET, "nope", 3000, "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let r = s
        .preview(Method::GET, "nope", 3000, "/")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("<html"));
    let r = s
        .client
        .get(format!("http://{}/", s.preview_addr()))
        .header("host", "example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Deleted: 410 and no container comes back.
    let id = s.create(FIXTURE).await.unwrap();
    s.call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 410);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        s.containers().await.unwrap().is_empty(),
        "a deleted sandbox was woken"
    );

    // Refused: a running sandbox, nothing on the port (after the warm-up window): 502.
    let id = s.create(FIXTURE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let t = Instant::now();
    let r = s.preview(Method::GET, &id, 9999, "/").send().await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "refusal took {:?}",
        t.elapsed()
    );
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("9999"),
        "{v}"
    );

    // In error (its image vanished while stopped): 503 with the reason.
    let docker = sandboxd::testkit::docker().await.unwrap();
    let doomed = format!("sandboxd-doomed:{}", s.instance);
    docker
        .tag_image(
            sandboxd::testkit::TEST_IMAGE,
            Some(bollard::image::TagImageOptions {
                repo: doomed.split(':').next().unwrap(),
                tag: &s.instance,
            }),
        )
        .await
        .unwrap();
    let body = format!(r#"{{"image":"{doomed}","ports":[3000]}}"#);
    let id = s.create(&body).await.unwrap();
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    // Untag first (the image stays under its other tag), then lose the container.
    docker.remove_image(&doomed, None, None).await.unwrap();
    docker
        .remove_container(
            &s.container_name(&id),
            Some(bollard::container::RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    assert!(st >= 400);
    let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "sandbox_error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("doomed"),
        "{v}"
    );
}
