//! Domain names in egress allow-lists become addresses here. Rule: a name opens exactly the IPv4
//! addresses the host's resolver (the one Docker's embedded DNS forwards the sandbox's queries
//! to) gave for it when the rules were last written; a name that does not resolve in time opens
//! nothing. Every write of the rules (each create, each reconcile sweep) resolves again, and the
//! chain's fingerprint changes when an answer does, so the rules follow the names.

use sandboxd_core::Egress;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// How long one name may take to resolve before it opens nothing this round.
const RESOLVE_FOR: Duration = Duration::from_secs(3);

/// What each name resolved to (sorted, IPv4 only; empty when it did not resolve).
pub(crate) type Resolved = BTreeMap<String, Vec<Ipv4Addr>>;

/// Resolve every name at once, each within [`RESOLVE_FOR`].
pub(crate) async fn resolve_all(names: BTreeSet<String>) -> Resolved {
    let lookups = names.into_iter().map(|name| async move {
        let found = tokio::time::timeout(RESOLVE_FOR, tokio::net::lookup_host((name.as_str(), 0)));
        let mut addrs: Vec<Ipv4Addr> = match found.await {
            Ok(Ok(it)) => it
                .filter_map(|a| match a.ip() {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            Ok(Err(e)) => {
                tracing::warn!(%name, error = %e, "an egress allow-list name does not resolve; it opens nothing");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(%name, "resolving an egress allow-list name timed out; it opens nothing");
                Vec::new()
            }
        };
        addrs.sort();
        addrs.dedup();
        (name, addrs)
    });
    futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .collect()
}

/// The policy as the chain applies it: every name of an allow-list replaced by its addresses
/// (as /32s), so the rules name addresses only.
pub(crate) fn expand(egress: Egress, resolved: &Resolved) -> Egress {
    let Egress::Allow(list) = egress else {
        return egress;
    };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for entry in list {
        if entry.contains('/') {
            out.push(entry);
        } else {
            let addrs = resolved.get(&entry).map(Vec::as_slice).unwrap_or_default();
            out.extend(addrs.iter().map(|a| format!("{a}/32")));
        }
    }
    out.sort();
    out.dedup();
    Egress::Allow(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_their_addresses_and_unresolved_ones_open_nothing() {
        let resolved = Resolved::from([
            (
                "api.example.com".to_string(),
                vec![
                    Ipv4Addr::new(198, 51, 100, 7),
                    Ipv4Addr::new(198, 51, 100, 8),
                ],
            ),
            ("gone.example.com".to_string(), vec![]),
        ]);
        let e = Egress::Allow(vec![
            "api.example.com".into(),
            "203.0.113.0/24".into(),
            "gone.example.com".into(),
            "unknown.example.com".into(),
        ]);
        assert_eq!(
            expand(e, &resolved),
            Egress::Allow(vec![
                "198.51.100.7/32".into(),
                "198.51.100.8/32".into(),
                "203.0.113.0/24".into(),
            ])
        );
        assert_eq!(expand(Egress::Open, &resolved), Egress::Open);
        let only_unresolved = Egress::Allow(vec!["gone.example.com".into()]);
        assert_eq!(
            expand(only_unresolved, &resolved),
            Egress::Allow(vec![]),
            "a list whose names resolve to nothing still closes everything else"
        );
    }

    #[tokio::test]
    async fn localhost_resolves_through_the_host_resolver() {
        let r = resolve_all(BTreeSet::from(["localhost".to_string()])).await;
        assert!(r["localhost"].contains(&Ipv4Addr::LOCALHOST), "{r:?}");
    }
}
