//! Preview host names, in the two forms the preview listener routes on, with an optional
//! `:port` suffix and in any letter case:
//!
//! - ours, `s-<id>-<port>.<preview-domain>`: the id may itself contain `-`, so the port is what
//!   follows the last `-`;
//! - E2B's, `<port>-<id>.<preview-domain>`: the port is what precedes the first `-`.
//!
//! The forms cannot clash: ours starts with `s-`, E2B's with a digit. E2B's SDK in plain-HTTP
//! mode names no sandbox in the Host at all: when the Host is `localhost`, an IP literal or
//! `sandbox.<preview-domain>`, the target is read from the `E2b-Sandbox-Id` and
//! `E2b-Sandbox-Port` headers instead ([`routes_by_headers`], [`parse_e2b_headers`]).

use crate::SandboxId;

/// The sandbox and port a preview request is aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewTarget {
    pub id: SandboxId,
    pub port: u16,
}

/// Parse a Host header value against the configured preview domain (`preview.localhost`).
/// Returns `None` for anything that is not a well-formed preview host (of our form).
pub fn parse_preview_host(host: &str, domain: &str) -> Option<PreviewTarget> {
    let label = first_label(host, domain)?;
    let rest = label.strip_prefix("s-")?;
    let (id, port) = rest.rsplit_once('-')?;
    target(id, port)
}

/// Parse a Host of E2B's form, `<port>-<id>.<preview-domain>`.
pub fn parse_e2b_host(host: &str, domain: &str) -> Option<PreviewTarget> {
    let label = first_label(host, domain)?;
    let (port, id) = label.split_once('-')?;
    target(id, port)
}

/// Whether a Host leaves the routing to the `E2b-Sandbox-*` headers: `localhost`, an IP
/// literal (IPv6 in brackets) or `sandbox.<preview-domain>`, with or without a port.
pub fn routes_by_headers(host: &str, domain: &str) -> bool {
    let Some(name) = strip_port(host) else {
        return false;
    };
    if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.strip_prefix("sandbox.") == Some(domain.as_str())
}

/// The target named by the `E2b-Sandbox-Id` and `E2b-Sandbox-Port` header values.
pub fn parse_e2b_headers(id: &str, port: &str) -> Option<PreviewTarget> {
    target(id.trim(), port.trim())
}

/// The host name, lowercased, without a trailing dot and without a numeric `:port` suffix;
/// `None` when the suffix is not a port. An IPv6 literal keeps its brackets.
fn strip_port(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    let name = match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.starts_with('[') || name.ends_with(']')) =>
        {
            name.to_string()
        }
        Some(_) if host.starts_with('[') && host.ends_with(']') => host,
        Some(_) => return None,
        None => host,
    };
    Some(name.strip_suffix('.').unwrap_or(&name).to_string())
}

/// The one label in front of the preview domain (`None` unless there is exactly one).
fn first_label(host: &str, domain: &str) -> Option<String> {
    let name = strip_port(host)?;
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    let label = name.strip_suffix(domain.as_str())?.strip_suffix('.')?;
    if label.is_empty() || label.contains('.') {
        return None;
    }
    Some(label.to_string())
}

fn target(id: &str, port: &str) -> Option<PreviewTarget> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    if port == 0 {
        return None;
    }
    let id = SandboxId::parse_lookup(id).ok()?;
    Some(PreviewTarget { id, port })
}

/// The preview host for a sandbox port (without scheme or listener port).
pub fn preview_host(id: &SandboxId, port: u16, domain: &str) -> String {
    format!("s-{}-{}.{}", id, port, domain.trim_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "preview.localhost";

    fn target(id: &str, port: u16) -> Option<PreviewTarget> {
        Some(PreviewTarget {
            id: SandboxId::parse_lookup(id).unwrap(),
            port,
        })
    }

    #[test]
    fn parses_plain_mixed_case_and_port_forms() {
        assert_eq!(
            parse_preview_host("s-abc-3000.preview.localhost", D),
            target("abc", 3000)
        );
        assert_eq!(
            parse_preview_host("S-ABC-3000.Preview.LocalHost", D),
            target("abc", 3000)
        );
        assert_eq!(
            parse_preview_host("s-abc-3000.preview.localhost:8080", D),
            target("abc", 3000)
        );
        assert_eq!(
            parse_preview_host("s-my-box-8080.preview.localhost.", D),
            target("my-box", 8080)
        );
        assert_eq!(
            parse_preview_host("s-a-65535.preview.localhost", D),
            target("a", 65535)
        );
    }

    #[test]
    fn rejects_malformed_hosts() {
        for bad in [
            "preview.localhost",
            "s-abc.preview.localhost",
            "s-abc-0.preview.localhost",
            "s-abc-70000.preview.localhost",
            "s--3000.preview.localhost",
            "x-abc-3000.preview.localhost",
            "s-abc-3000.other.localhost",
            "a.s-abc-3000.preview.localhost",
            "s-abc-3000.preview.localhost:",
            "s-abc-3000.preview.localhost:x",
            "s-ab_c-3000.preview.localhost",
            "s-abc-3000preview.localhost",
        ] {
            assert_eq!(parse_preview_host(bad, D), None, "{bad}");
        }
    }

    #[test]
    fn parses_e2b_hosts_beside_ours() {
        assert_eq!(
            parse_e2b_host("49983-abc.preview.localhost", D),
            target("abc", 49983)
        );
        assert_eq!(
            parse_e2b_host("3000-My-Box.Preview.Localhost:8443", D),
            target("my-box", 3000)
        );
        for bad in [
            "s-abc-3000.preview.localhost",
            "abc-3000.preview.localhost",
            "0-abc.preview.localhost",
            "70000-abc.preview.localhost",
            "3000-.preview.localhost",
            "3000-abc.other.localhost",
            "x.3000-abc.preview.localhost",
        ] {
            assert_eq!(parse_e2b_host(bad, D), None, "{bad}");
        }
        // Ours never parses as E2B's and the other way round.
        assert_eq!(parse_preview_host("3000-abc.preview.localhost", D), None);
        assert_eq!(parse_e2b_host("s-3000-abc.preview.localhost", D), None);
    }

    #[test]
    fn header_routing_only_for_local_ip_and_sandbox_hosts() {
        for yes in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:41234",
            "10.0.0.1",
            "[::1]:80",
            "[::1]",
            "sandbox.preview.localhost",
            "Sandbox.Preview.Localhost:8443",
        ] {
            assert!(routes_by_headers(yes, D), "{yes}");
        }
        for no in [
            "s-abc-3000.preview.localhost",
            "3000-abc.preview.localhost",
            "example.com",
            "sandbox.other.localhost",
            "localhost:x",
            "[zz]:80",
        ] {
            assert!(!routes_by_headers(no, D), "{no}");
        }
        assert_eq!(parse_e2b_headers("abc", "49983"), target("abc", 49983));
        assert_eq!(parse_e2b_headers("abc", "x"), None);
        assert_eq!(parse_e2b_headers("a b", "80"), None);
    }

    #[test]
    fn builds_hosts_that_parse_back() {
        let id = SandboxId::parse_new("my-box").unwrap();
        let host = preview_host(&id, 3000, D);
        assert_eq!(host, "s-my-box-3000.preview.localhost");
        assert_eq!(parse_preview_host(&host, D), target("my-box", 3000));
    }
}
