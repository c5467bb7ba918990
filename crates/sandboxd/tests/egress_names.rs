//! Egress allow-lists that name domains, against the real engine and the host's resolver: the
//! test gives a name of its own to a stand-in "internet" address (a line in the host's
//! `/etc/hosts`, removed on drop), and a sandbox whose allow-list names it reaches that address
//! and nothing else; when the name moves to another address, the rules follow within a reconcile
//! sweep (the old address closes, the new one opens). A name that resolves into a private range
//! opens nothing.

#[path = "network/neighbour.rs"]
mod neighbour;

use neighbour::{sandbox_reaches, Neighbour};
use sandboxd_testkit::{rand_u32, TestServer};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Names of this test in the host's `/etc/hosts`; its lines go away on drop (panics too).
struct HostsEntries {
    tag: String,
}

impl HostsEntries {
    fn new() -> Self {
        Self {
            tag: format!("sandboxd-test-{:08x}", rand_u32()),
        }
    }

    fn name(&self, label: &str) -> String {
        format!("{label}.{}.test", self.tag)
    }

    /// Point `label`'s name at `addr` (replacing what it pointed at).
    fn set(&self, label: &str, addr: Ipv4Addr) {
        let name = self.name(label);
        let text = std::fs::read_to_string("/etc/hosts").unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.split_whitespace().any(|w| w == name))
            .map(str::to_string)
            .collect();
        lines.push(format!("{addr} {name}"));
        std::fs::write("/etc/hosts", lines.join("\n") + "\n").unwrap();
    }
}

impl Drop for HostsEntries {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string("/etc/hosts") {
            let kept: Vec<&str> = text.lines().filter(|l| !l.contains(&self.tag)).collect();
            let _ = std::fs::write("/etc/hosts", kept.join("\n") + "\n");
        }
    }
}

#[tokio::test]
async fn an_allow_listed_name_opens_its_addresses_and_follows_them() {
    let s = TestServer::start_with(|c| c.reconcile_interval = Duration::from_secs(1))
        .await
        .unwrap();
    let nb = Neighbour::create_without_metadata(120..220);
    let _accepted = nb.serve().await;
    let hosts = HostsEntries::new();
    hosts.set("api", nb.public);
    hosts.set("lan", nb.lan);
    let body = format!(
        r#"{{"egress":{{"allow":["{}","{}"]}}}}"#,
        hosts.name("api").to_uppercase(),
        hosts.name("lan")
    );
    let id = s.create(&body).await.unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(
        v["egress"]["allow"][0],
        hosts.name("api"),
        "normalized: {v}"
    );

    assert!(
        sandbox_reaches(&s, &id, nb.public).await,
        "the listed name's address is closed"
    );
    assert!(
        !sandbox_reaches(&s, &id, nb.other).await,
        "an unlisted address is open"
    );
    assert!(
        !sandbox_reaches(&s, &id, nb.lan).await,
        "a listed name resolving into a private range opened it"
    );

    // The name moves: within a few sweeps (every 1 s) the new address opens and the old closes.
    hosts.set("api", nb.other);
    let mut moved = false;
    for _ in 0..10 {
        if sandbox_reaches(&s, &id, nb.other).await {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        moved,
        "the rules did not follow the name to its new address"
    );
    assert!(
        !sandbox_reaches(&s, &id, nb.public).await,
        "the name's old address stayed open"
    );

    // Names that cannot be resolved are refused at create, with nothing created.
    let before = s.containers().await.unwrap().len();
    let (st, v) = s
        .call(
            "POST",
            "/v1/sandboxes",
            Some(r#"{"egress":{"allow":["*.example.com"]}}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"]["code"], "invalid_request", "{v}");
    assert_eq!(s.containers().await.unwrap().len(), before);
}
