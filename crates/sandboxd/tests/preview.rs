//! The preview proxy against real sandboxes running our fixture server: bodies both ways, two
//! ports, Host forms, forwarding headers, SSE streaming, WebSocket, and the answers for unknown,
//! deleted, failed and refusing targets.

use reqwest::Method;
use sandboxd_testkit::ws::WsClient;
use sandboxd_testkit::TestServer;
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
    // (A preview host name is not a name of the API: refused before routing.)
    let r = s
        .client
        .get(format!("{}/", s.api))
        .header("host", s.preview_host(&id, 3000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
}

/// One client keep-alive connection carries many requests while its upstream side changes under
/// it: the app closes its end after a response (`/close`), requests go to another port of the
/// sandbox and back, a request streams a body. Every request gets its own real answer and the
/// client's connection stays open throughout.
#[tokio::test]
async fn one_client_connection_survives_app_closes_and_port_switches() {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE).await.unwrap();
    s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    let stream = tokio::net::TcpStream::connect(s.preview_addr())
        .await
        .unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let steps: [(&str, u16, &str, &str); 7] = [
        ("GET", 3000, "/", "hello from fixture on port 3000\n"),
        ("GET", 3000, "/close", "closing\n"),
        ("GET", 3000, "/", "hello from fixture on port 3000\n"),
        ("GET", 8080, "/", "hello from fixture on port 8080\n"),
        ("POST", 3000, "/echo", "body after a switch"),
        ("GET", 3000, "/close", "closing\n"),
        ("POST", 3000, "/echo", "body after a close"),
    ];
    for (method, port, path, want) in steps {
        sender
            .ready()
            .await
            .expect("the client connection stayed open");
        let body = if method == "POST" { want } else { "" };
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", s.preview_host(&id, port))
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200, "{method} {port} {path}");
        assert!(
            resp.headers().get("connection").is_none(),
            "hop-by-hop Connection from the app must not reach the client"
        );
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&got),
            want,
            "{method} {port} {path}"
        );
    }
    assert!(
        !conn.is_finished(),
        "the proxy closed the client's connection"
    );
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
    let docker = sandboxd_testkit::docker().await.unwrap();
    let doomed = format!("sandboxd-doomed:{}", s.instance);
    docker
        .tag_image(
            sandboxd_testkit::TEST_IMAGE,
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
    // Visitors are told what happened, not the engine's message (the API keeps the reason).
    assert!(
        !v["error"]["message"].as_str().unwrap().contains("doomed"),
        "{v}"
    );
}

/// A CA and a leaf for `*.preview.localhost`, made with the openssl CLI.
fn make_certs(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sandboxd-test-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=preview 2>/dev/null
printf 'subjectAltName=DNS:*.preview.localhost\nbasicConstraints=CA:FALSE\n' > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1 -extfile ext 2>/dev/null
"#;
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(ok.success(), "openssl failed");
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

#[tokio::test]
async fn serves_previews_over_tls_when_configured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::{self, pki_types::ServerName, RootCertStore};
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let s = TestServer::start_with(|c| c.preview_tls = Some((cert, key)))
        .await
        .unwrap();
    let id = s.create(FIXTURE).await.unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    let url = v["preview_urls"]["3000"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("https://s-{id}-3000.preview.localhost:")),
        "{url}"
    );

    let mut roots = RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    let ca_der = tokio_rustls::rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    roots.add(ca_der).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let host = s.preview_host(&id, 3000);
    let tcp = tokio::net::TcpStream::connect(s.preview_addr())
        .await
        .unwrap();
    let mut tls = connector
        .connect(ServerName::try_from(host.clone()).unwrap(), tcp)
        .await
        .unwrap();
    let req = format!("GET /headers HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tls.read_to_string(&mut out).await.unwrap_or_default();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("x-forwarded-proto: https"), "{out}");
    // Plain HTTP on the TLS listener is refused, not served.
    let r = s.preview(Method::GET, &id, 3000, "/").send().await;
    assert!(r.is_err() || r.unwrap().status() != 200);
}

/// Shutting sandboxd down ends what the preview listener had open — an idle keep-alive
/// connection and an upgraded WebSocket tunnel — in bounded time.
#[tokio::test]
async fn shutdown_ends_open_preview_connections() {
    let mut s = TestServer::start().await.unwrap();
    let id = s.create(FIXTURE).await.unwrap();
    s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
    let addr = s.preview_addr();
    let mut ws = WsClient::connect(addr, &s.preview_host(&id, 3000), "/ws")
        .await
        .unwrap();
    ws.send_text("before").await.unwrap();
    assert_eq!(ws.recv_text().await.unwrap(), "before");
    // An idle keep-alive connection that has served a request.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(io)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get("/")
        .header("host", s.preview_host(&id, 3000))
        .body(String::new())
        .unwrap();
    assert_eq!(sender.send_request(req).await.unwrap().status(), 200);
    let running = s.running.take().unwrap();
    tokio::time::timeout(Duration::from_secs(20), running.shutdown())
        .await
        .expect("shutdown is bounded");
    let after = tokio::time::timeout(Duration::from_secs(5), ws.recv_text())
        .await
        .expect("the tunnel stayed open after shutdown");
    assert!(after.is_err(), "got a frame after shutdown: {after:?}");
    let ended = tokio::time::timeout(Duration::from_secs(5), conn)
        .await
        .expect("the keep-alive connection stayed open after shutdown");
    assert!(ended.is_ok());
}
