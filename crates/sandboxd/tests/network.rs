//! The network guard, checked from inside real sandboxes against a network namespace this test
//! makes (a veth pair on this machine: no traffic leaves it). The namespace answers on a private
//! address (a LAN neighbour), on 169.254.169.254 (a cloud metadata service) and on an address of
//! 198.51.100.0/24 (a documentation range, standing in for the internet). The host reaches all
//! three; a sandbox with egress `open` reaches only the last; one with `none` reaches none; one
//! with an allow-list reaches only what it lists, and listing a private range opens nothing.
//! Sandboxes learn nothing about each other from the engine's DNS, and a guard removed by hand
//! comes back within one reconcile sweep.

#[path = "network/neighbour.rs"]
mod neighbour;

use neighbour::{host_reaches, must, sandbox_reaches, sh, Neighbour};
use sandboxd_testkit::TestServer;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn sandboxes_reach_the_internet_only_and_none_reaches_nothing() {
    let s = TestServer::start().await.unwrap();
    let nb = Neighbour::create(20..120);
    let accepted = nb.serve().await;
    for a in [nb.lan, nb.metadata, nb.public, nb.other] {
        assert!(host_reaches(a).await, "the host does not reach {a}");
    }
    let open = s.create(r#"{"egress":"open"}"#).await.unwrap();
    let none = s.create(r#"{"egress":"none"}"#).await.unwrap();
    let listed = format!(
        r#"{{"egress":{{"allow":["{}/32","10.0.0.0/8","169.254.169.254/32"]}}}}"#,
        nb.public
    );
    let allow = s.create(&listed).await.unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{none}"), None)
        .await
        .unwrap();
    assert_eq!(v["egress"], "none", "{v}");

    assert!(
        sandbox_reaches(&s, &open, nb.public).await,
        "egress open does not reach a public address"
    );
    assert!(
        sandbox_reaches(&s, &open, nb.other).await,
        "egress open does not reach another public address"
    );
    assert!(!sandbox_reaches(&s, &open, nb.lan).await, "reached the LAN");
    assert!(
        !sandbox_reaches(&s, &open, nb.metadata).await,
        "reached the metadata address"
    );
    for a in [nb.public, nb.lan, nb.metadata] {
        assert!(
            !sandbox_reaches(&s, &none, a).await,
            "egress none reached {a}"
        );
    }
    assert!(
        sandbox_reaches(&s, &allow, nb.public).await,
        "the allow-list does not reach what it lists"
    );
    for a in [nb.other, nb.lan, nb.metadata] {
        assert!(
            !sandbox_reaches(&s, &allow, a).await,
            "the allow-list reached {a}"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        7,
        "only the host's four probes, the open sandbox's two and the allow-list's one arrived"
    );
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{allow}"), None)
        .await
        .unwrap();
    assert_eq!(v["egress"]["allow"][0], format!("{}/32", nb.public), "{v}");
    // Every refused attempt above was dropped, and counted.
    let (_, text) = s.call("GET", "/metrics", None).await.unwrap();
    let text = text.as_str().unwrap_or_default().to_string();
    let denied: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sandboxd_egress_denied_packets_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no denied counter in {text}"));
    assert!(denied >= 9, "denied packets counted: {denied}");
    let (st, v) = s
        .call(
            "POST",
            "/v1/sandboxes",
            Some(r#"{"egress":{"allow":["2001:db8::/32"]}}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 400, "{v}");

    // IPv6 is off inside sandboxes (no path to guard, link-local ones included).
    let (_, out, _) = s
        .sh(&open, "cat /proc/sys/net/ipv6/conf/all/disable_ipv6")
        .await
        .unwrap();
    assert_eq!(out.trim(), "1");
}

#[tokio::test]
async fn sandboxes_learn_nothing_about_each_other_from_dns() {
    let s = TestServer::start().await.unwrap();
    // The prober has egress `none`, so names the engine does not know go nowhere.
    let a = s.create(r#"{"egress":"none"}"#).await.unwrap();
    let b = s.create("").await.unwrap();
    let b_name = s.container_name(&b);
    assert!(!b_name.contains(&b), "container name {b_name} shows the id");
    let docker = sandboxd_testkit::docker().await.unwrap();
    let info = docker.inspect_container(&b_name, None).await.unwrap();
    let b_ip = info
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.into_values().next())
        .and_then(|e| e.ip_address)
        .unwrap();
    // The old names (`s-<id>`, `s-<id>_<instance>`) and the bare id resolve to nothing.
    for name in [format!("s-{b}_{}", s.instance), format!("s-{b}"), b.clone()] {
        let (_, out, _) = s
            .sh(&a, &format!("timeout 8 nslookup {name} 2>&1"))
            .await
            .unwrap();
        assert!(!out.contains(&b_ip), "{name} resolved to B: {out}");
    }
    // A reverse lookup of B's address does not give B's id.
    let (_, out, _) = s
        .sh(&a, &format!("timeout 8 nslookup {b_ip} 2>&1"))
        .await
        .unwrap();
    assert!(!out.contains(&b), "reverse lookup shows B's id: {out}");
}

fn bridge_of(network: &serde_json::Value) -> String {
    network["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_guard_removed_by_hand_comes_back_within_one_sweep() {
    let s = TestServer::start_with(|c| c.reconcile_interval = Duration::from_secs(1))
        .await
        .unwrap();
    let out = Command::new("docker")
        .args(["network", "inspect", &format!("sandboxd-{}", s.instance)])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bridge = bridge_of(&v[0]);
    let guard_drop =
        format!("INPUT -i {bridge} -m comment --comment \"sandboxd host guard\" -j DROP");
    let chain = format!("SANDBOXD-{bridge}");
    let jump = format!("DOCKER-USER -i {bridge} -j {chain}");
    must(&format!("iptables -w -C {guard_drop}"));
    must(&format!("iptables -w -C {jump}"));
    must(&format!("iptables -w -D {guard_drop}"));
    must(&format!("iptables -w -D {jump}"));
    must(&format!("iptables -w -F {chain}"));
    let back = || {
        sh(&format!("iptables -w -C {guard_drop}"))
            && sh(&format!("iptables -w -C {jump}"))
            && sh(&format!(
                "iptables -w -S {chain} | grep -q 'sandboxd egress'"
            ))
    };
    let mut restored = false;
    for _ in 0..40 {
        if back() {
            restored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(restored, "guard not restored within 4 s (sweep every 1 s)");
    let (st, v) = s.call("GET", "/readyz", None).await.unwrap();
    assert_eq!(st, 200, "{v}");
}

#[tokio::test]
async fn a_container_with_an_old_name_is_replaced_at_start() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"legacy"}"#).await.unwrap();
    s.sh(&id, "echo kept > ~/workspace/f").await.unwrap();
    let cfg = {
        let mut c = TestServer::config(s.data.path());
        c.instance = s.instance.clone();
        c
    };
    let name = s.container_name(&id);
    let (data, instance) = s.stop_keep().await;
    // As a build from before hashed names left it.
    let old = format!("s-{id}_{instance}");
    let d = sandboxd_testkit::docker().await.unwrap();
    d.rename_container(
        &name,
        bollard::container::RenameContainerOptions { name: old.clone() },
    )
    .await
    .unwrap();

    let s = TestServer::start_in(data, cfg).await.unwrap();
    let containers = s.containers().await.unwrap();
    assert_eq!(
        containers,
        vec![name.clone()],
        "old name kept or new one missing"
    );
    let (_, out, _) = s.sh(&id, "cat ~/workspace/f").await.unwrap();
    assert_eq!(out, "kept\n");
}
