//! E2B's ways of naming a sandbox on the preview listener, against real sandboxes: the
//! `<port>-<id>.<domain>` Host, the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers behind a
//! loopback Host, the agent port's token gate on both, E2B's 502 shapes (sandbox not found, port
//! not open) and an aborted client connection when the sandbox dies mid-stream.

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
