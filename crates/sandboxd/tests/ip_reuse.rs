//! A sandbox started on an IP that a removed sandbox had, while another sandbox keeps the bridge
//! up, is reachable at once: the host's cached neighbour entry (the removed container's MAC) is
//! dropped at start, so the agent answers without waiting out the entry's ~30 s lifetime.

use sandboxd_core::SandboxId;
use sandboxd_testkit::{docker, TestServer};
use std::net::IpAddr;
use std::time::{Duration, Instant};

async fn ip_of(s: &TestServer, id: &str) -> IpAddr {
    let d = docker().await.unwrap();
    let info = d
        .inspect_container(&s.container_name(id), None)
        .await
        .unwrap();
    let nets = info.network_settings.unwrap().networks.unwrap();
    let ip = nets.values().find_map(|n| n.ip_address.clone()).unwrap();
    ip.parse().unwrap()
}

#[tokio::test]
async fn a_reused_ip_is_reachable_at_once() {
    let s = TestServer::start().await.unwrap();
    let engine = s.running.as_ref().unwrap().engine.clone();
    let agent = |id: String| {
        let engine = engine.clone();
        async move {
            let t = Instant::now();
            let id = SandboxId::parse_lookup(&id).unwrap();
            engine.agent(&id).await.expect("agent ready");
            t.elapsed()
        }
    };
    let keeper = s.create("{}").await.unwrap();
    agent(keeper.clone()).await;
    let mut reused = 0;
    for _ in 0..3 {
        let gone = s.create("{}").await.unwrap();
        agent(gone.clone()).await; // the host now caches its MAC
        let freed = ip_of(&s, &gone).await;
        let (st, _) = s
            .call("DELETE", &format!("/v1/sandboxes/{gone}"), None)
            .await
            .unwrap();
        assert!(st < 300, "delete: {st}");
        let next = s.create("{}").await.unwrap();
        let took = agent(next.clone()).await;
        if ip_of(&s, &next).await == freed {
            reused += 1;
            assert!(
                took < Duration::from_secs(5),
                "agent on a reused IP after {took:?}"
            );
        }
        let _ = s
            .call("DELETE", &format!("/v1/sandboxes/{next}"), None)
            .await
            .unwrap();
    }
    assert!(
        reused > 0,
        "Docker never reused an IP: the case was not exercised"
    );
}
