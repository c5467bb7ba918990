//! E2B's ways of naming a sandbox on the preview listener, against real sandboxes: the
//! `<port>-<id>.<domain>` Host, the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers behind a
//! loopback Host, the agent port's token gate on both, E2B's 502 shapes (sandbox not found, port
//! not open), an aborted client connection when the sandbox dies mid-stream, and a client stream
//! (StreamInput) forwarded message by message, before its request body ends.

use sandboxd_core::SandboxId;
use sandboxd_testkit::{docker, TestServer};
use std::time::{Duration, Instant};

const APP: &str = r#"{"ports":[3000],"start":"exec sandboxd-fixture 3000"}"#;

async fn server() -> TestServer {
    TestServer::start_with(|c| c.wake_timeout = Duration::from_secs(3))
        .await
        .unwrap()
}

async fn token(s: &TestServer, id: &str) -> String {
    let engine = &s.running.as_ref().unwrap().engine;
    let id = SandboxId::parse_lookup(id).unwrap();
    let t = engine.agent_token(&id).await.unwrap().expect("a token");
    t.expose().to_string()
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

#[tokio::test]
async fn e2b_host_and_header_routing_reach_the_same_ports() {
    let s = server().await;
    let id = s.create(APP).await.unwrap();
    let addr = s.preview_addr();
    let r = s
        .client
        .get(format!("http://{addr}/"))
        .header(
            "host",
            format!("3000-{id}.preview.localhost:{}", addr.port()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("port 3000"));
    let r = s
        .client
        .get(format!("http://{addr}/"))
        .header("e2b-sandbox-id", &id)
        .header("e2b-sandbox-port", "3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "header routing on a loopback Host");
    // The headers mean nothing on a host that names something else.
    let r = s
        .client
        .get(format!("http://{addr}/"))
        .header("host", "example.com")
        .header("e2b-sandbox-id", &id)
        .header("e2b-sandbox-port", "3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The agent port: the token opens it, its absence does not (header routing too).
    let agent = |tok: Option<String>| {
        let mut req = s
            .client
            .get(format!("http://{addr}/health"))
            .header("e2b-sandbox-id", &id)
            .header("e2b-sandbox-port", "49983");
        if let Some(t) = tok {
            req = req.header("x-access-token", t);
        }
        req.send()
    };
    assert_eq!(agent(None).await.unwrap().status(), 401);
    let tok = token(&s, &id).await;
    assert_eq!(agent(Some(tok.clone())).await.unwrap().status(), 204);

    // A closed port: E2B's "port is not open" 502.
    let r = s
        .client
        .get(format!("http://{addr}/"))
        .header("host", format!("3999-{id}.preview.localhost"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let v = json(r).await;
    assert!(
        v["message"].as_str().unwrap().contains("port is not open"),
        "{v}"
    );
    assert_eq!(v["sandboxId"], id.as_str());

    // Unknown and deleted sandboxes: "The sandbox was not found", on any port.
    let (status, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert!(status < 300, "delete: {status}");
    for (host, sandbox) in [
        (format!("3000-{id}.preview.localhost"), id.as_str()),
        ("3000-nosuchbox.preview.localhost".into(), "nosuchbox"),
    ] {
        let r = s
            .client
            .get(format!("http://{addr}/"))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 502, "{host}");
        let v = json(r).await;
        assert_eq!(v["message"], "The sandbox was not found", "{v}");
        assert_eq!(v["sandboxId"], sandbox);
        assert_eq!(v["code"], 502);
    }
    let r = agent(Some(tok)).await.unwrap();
    assert_eq!(r.status(), 502, "the agent port of a deleted sandbox");
    assert_eq!(json(r).await["message"], "The sandbox was not found");
}

#[tokio::test]
async fn a_sandbox_dying_mid_stream_aborts_the_client_connection() {
    let s = server().await;
    let id = s.create(APP).await.unwrap();
    let addr = s.preview_addr();
    let mut r = s
        .client
        .get(format!("http://{addr}/sse?n=600&interval_ms=100"))
        .header("host", format!("3000-{id}.preview.localhost"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().expect("a first event");
    assert!(String::from_utf8_lossy(&first).contains("data:"));
    let d = docker().await.unwrap();
    d.kill_container::<String>(&s.container_name(&id), None)
        .await
        .unwrap();
    // The stream must end in an error, not a clean end; bounded by the 60 s the app would take.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ended = loop {
        assert!(Instant::now() < deadline, "the stream outlived its sandbox");
        match tokio::time::timeout(Duration::from_secs(30), r.chunk()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => break Ok(()),
            Ok(Err(e)) => break Err(e),
            Err(_) => panic!("no end and no error 30 s after the kill"),
        }
    };
    assert!(ended.is_err(), "a dead sandbox's stream ended cleanly");
}

/// One Connect envelope (flags 0) around a JSON message.
fn envelope(json: &serde_json::Value) -> Vec<u8> {
    let body = json.to_string().into_bytes();
    let mut out = vec![0u8];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[tokio::test]
async fn a_client_stream_reaches_the_agent_before_its_body_ends() {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = server().await;
    let id = s.create("{}").await.unwrap();
    let tok = token(&s, &id).await;
    let addr = s.preview_addr();
    let b64 = base64::engine::general_purpose::STANDARD;
    // A `cat` whose output streams back on the Start response.
    let start = serde_json::json!({"process": {"cmd": "cat"}, "stdin": true});
    let mut out = s
        .client
        .post(format!("http://{addr}/process.Process/Start"))
        .header("e2b-sandbox-id", &id)
        .header("e2b-sandbox-port", "49983")
        .header("x-access-token", &tok)
        .header("content-type", "application/connect+json")
        .header("connect-protocol-version", "1")
        .body(envelope(&start))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    let first = String::from_utf8_lossy(&out.chunk().await.unwrap().unwrap()).to_string();
    let pid: u64 = first
        .split("\"pid\":")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {first}"));
    // StreamInput over a raw connection: the start and one data message, body left open.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /process.Process/StreamInput HTTP/1.1\r\nHost: {addr}\r\n\
         E2b-Sandbox-Id: {id}\r\nE2b-Sandbox-Port: 49983\r\nX-Access-Token: {tok}\r\n\
         Content-Type: application/connect+json\r\nConnect-Protocol-Version: 1\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let ping = b64.encode("ping\n");
    for msg in [
        serde_json::json!({"start": {"process": {"pid": pid}}}),
        serde_json::json!({"data": {"input": {"stdin": ping}}}),
    ] {
        let frame = envelope(&msg);
        conn.write_all(format!("{:x}\r\n", frame.len()).as_bytes())
            .await
            .unwrap();
        conn.write_all(&frame).await.unwrap();
        conn.write_all(b"\r\n").await.unwrap();
    }
    // The echo arrives while the client stream is still open: nothing buffered it.
    let echoed = b64.encode("ping\n");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.contains(&echoed) {
        assert!(
            Instant::now() < deadline,
            "no echo while the stream is open: {seen}"
        );
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, out.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("the Start stream ended early: {other:?} after {seen}"),
        }
    }
    // Ending the client stream completes the call.
    conn.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("an answer once the stream ends")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
