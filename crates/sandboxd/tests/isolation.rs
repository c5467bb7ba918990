//! Isolation, checked from inside real sandboxes: no capabilities, NoNewPrivs, read-only root,
//! uid 1000, limits enforced, no path to other sandboxes (their agents included) or to the
//! host's own ports; the agent port answers on the preview listener only with the sandbox's
//! token.

use sandboxd_testkit::TestServer;
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test]
async fn sandbox_processes_have_least_privilege_and_limits() {
    let s = TestServer::start().await.unwrap();
    let id = s
        .create(r#"{"resources":{"memory_mb":192,"pids":64,"cpus":0.25}}"#)
        .await
        .unwrap();
    let (_, out, _) = s
        .sh(
            &id,
            "grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status",
        )
        .await
        .unwrap();
    for line in out.lines() {
        let (key, value) = line.split_once(':').unwrap();
        let value = value.trim();
        if key == "NoNewPrivs" {
            assert_eq!(value, "1");
        } else {
            assert_eq!(value, "0000000000000000", "{key}");
        }
    }
    assert_eq!(out.lines().count(), 5, "{out}");
    let (_, out, _) = s.sh(&id, "id -u; id -g").await.unwrap();
    assert_eq!(out, "1000\n1000\n");
    let (code, _, err) = s.sh(&id, "touch /etc/x").await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("Read-only file system"), "{err}");
    let (code, _, _) = s.sh(&id, "touch /tmp/x ~/x").await.unwrap();
    assert_eq!(code, 0, "tmp and home stay writable");

    // Limits as the kernel sees them (cgroup v1 here; v2 paths as a fallback).
    let (_, out, _) = s
        .sh(&id, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
        .await
        .unwrap();
    assert_eq!(out.trim(), (192u64 * 1024 * 1024).to_string());
    let (_, out, _) = s
        .sh(
            &id,
            "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
        )
        .await
        .unwrap();
    assert_eq!(out.trim(), "64");

    // A fork bomb hits the pids limit; the exec timeout kills all of it (the bomb's shells share
    // the command's process group), and the sandbox and its init carry on.
    let bomb = r#"{"cmd":["sh","-c","b(){ b | b & }; b; sleep 30"],"timeout_s":3}"#;
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(bomb))
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["timed_out"], true, "{v}");
    // The kernel refused forks at the limit: pids.events counts them (cgroup v1 and v2).
    let (code, out, err) = s
        .sh(
            &id,
            "cat /sys/fs/cgroup/pids/pids.events 2>/dev/null || cat /sys/fs/cgroup/pids.events",
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let refused: u64 = out
        .split_whitespace()
        .skip_while(|w| *w != "max")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no max count in pids.events: {out:?}"));
    assert!(refused > 0, "the bomb never reached the limit: {out}");
    let (code, out, _) = s
        .sh(
            &id,
            "cat /sys/fs/cgroup/pids/pids.current 2>/dev/null || cat /sys/fs/cgroup/pids.current",
        )
        .await
        .unwrap();
    assert_eq!(code, 0);
    let current: u32 = out.trim().parse().unwrap_or_else(|_| panic!("{out:?}"));
    assert!(current < 10, "bomb processes left behind: {current}");
    let (code, out, _) = s.sh(&id, "echo alive").await.unwrap();
    assert_eq!((code, out.as_str()), (0, "alive\n"));
}

#[tokio::test]
async fn sandboxes_cannot_reach_each_other_or_the_host() {
    // The API listens beyond loopback here (with a token) so the host guard is what stops it.
    let s = TestServer::start_with(|c| {
        c.api_addr = SocketAddr::from(([0, 0, 0, 0], 0));
        c.api_token = Some("test-token".into());
    })
    .await
    .unwrap();
    let a = s.create("").await.unwrap();
    let b = s
        .create(r#"{"start":"while true; do echo pong | nc -l -p 8080; done"}"#)
        .await
        .unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{b}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running");
    let b_ip = ip_of(&s, &b).await;
    // The host reaches B's listener (so the listener is really up)...
    let mut up = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect((b_ip, 8080)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "B's listener never came up");
    // ...but A does not.
    let (code, _, _) = s
        .sh(&a, &format!("echo hi | nc -w 2 {b_ip} 8080"))
        .await
        .unwrap();
    assert_ne!(code, 0, "sandbox A reached sandbox B");

    // The API (listening on all addresses) is not reachable from a sandbox, on the gateway address.
    let port = s.api_addr.port();
    let (_, gw, _) = s
        .sh(&a, "ip route | awk '/default/ {print $3}'")
        .await
        .unwrap();
    let gw = gw.trim().to_string();
    assert!(!gw.is_empty());
    let (code, _, _) = s
        .sh(
            &a,
            &format!("printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {gw} {port}"),
        )
        .await
        .unwrap();
    assert_ne!(code, 0, "sandbox reached the API on the gateway");
    // The host itself still reaches the API.
    let (st, _) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(st, 200);
}

async fn ip_of(s: &TestServer, id: &str) -> std::net::IpAddr {
    let docker = sandboxd_testkit::docker().await.unwrap();
    let info = docker
        .inspect_container(&s.container_name(id), None)
        .await
        .unwrap();
    let nets = info.network_settings.unwrap().networks.unwrap();
    nets.values()
        .next()
        .unwrap()
        .ip_address
        .clone()
        .unwrap()
        .parse()
        .unwrap()
}

/// The agent port (49983): closed to other sandboxes like every port, and through the preview
/// listener open only to requests carrying the sandbox's agent token — and then streaming.
#[tokio::test]
async fn agent_port_is_closed_to_other_sandboxes_and_gated_on_previews() {
    let s = TestServer::start().await.unwrap();
    let a = s.create("").await.unwrap();
    let b = s.create("").await.unwrap();
    let b_ip = ip_of(&s, &b).await;
    let mut up = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect((b_ip, 49983)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "B's agent never listened");
    let (code, _, _) = s
        .sh(
            &a,
            &format!("printf 'GET /health HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {b_ip} 49983"),
        )
        .await
        .unwrap();
    assert_ne!(code, 0, "sandbox A reached sandbox B's agent");

    let engine = &s.running.as_ref().unwrap().engine;
    let b_id = sandboxd_core::SandboxId::parse_lookup(&b).unwrap();
    let token = engine.agent_token(&b_id).await.unwrap().unwrap();
    let list = |token: Option<&str>| {
        let mut req = s
            .preview(reqwest::Method::POST, &b, 49983, "/process.Process/List")
            .header("content-type", "application/json")
            .header("connect-protocol-version", "1")
            .body("{}");
        if let Some(t) = token {
            req = req.header("x-access-token", t.to_string());
        }
        req.send()
    };
    assert_eq!(list(None).await.unwrap().status(), 401);
    assert_eq!(list(Some(&"0".repeat(64))).await.unwrap().status(), 401);
    let a_id = sandboxd_core::SandboxId::parse_lookup(&a).unwrap();
    let a_token = engine.agent_token(&a_id).await.unwrap().unwrap();
    let other = list(Some(a_token.expose())).await.unwrap();
    assert_eq!(other.status(), 401, "A's token opened B's agent");
    let ok = list(Some(token.expose())).await.unwrap();
    assert_eq!(ok.status(), 200);
    let v: serde_json::Value = ok.json().await.unwrap();
    assert!(v.is_object(), "{v}");

    // A Connect stream through the proxy arrives while the process still runs (not buffered).
    let start =
        serde_json::json!({"process": {"cmd": "/bin/sh", "args": ["-c", "echo first; sleep 30"]}});
    let json = serde_json::to_vec(&start).unwrap();
    let mut body = vec![0u8];
    body.extend_from_slice(&(json.len() as u32).to_be_bytes());
    body.extend_from_slice(&json);
    let mut resp = s
        .preview(reqwest::Method::POST, &b, 49983, "/process.Process/Start")
        .header("content-type", "application/connect+json")
        .header("connect-protocol-version", "1")
        .header("x-access-token", token.expose().to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut seen = Vec::new();
    let first = tokio::time::timeout(Duration::from_secs(15), async {
        // "first\n" in base64.
        while !String::from_utf8_lossy(&seen).contains("Zmlyc3QK") {
            match resp.chunk().await.unwrap() {
                Some(chunk) => seen.extend_from_slice(&chunk),
                None => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        first,
        Ok(true),
        "stream: {}",
        String::from_utf8_lossy(&seen)
    );
}
