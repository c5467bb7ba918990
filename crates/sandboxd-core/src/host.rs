//! Preview host names: `s-<id>-<port>.<preview-domain>` with an optional `:port` suffix, in any
//! letter case. The id may itself contain `-`, so the port is what follows the last `-`.

use crate::SandboxId;

/// The sandbox and port a preview request is aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewTarget {
    pub id: SandboxId,
    pub port: u16,
}

/// Parse a Host header value against the configured preview domain (`preview.localhost`).
/// Returns `None` for anything that is not a well-formed preview host.
pub fn parse_preview_host(host: &str, domain: &str) -> Option<PreviewTarget> {
    let host = host.trim().to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_string()
        }
        Some(_) => return None,
        None => host,
    };
    let host = host.strip_suffix('.').unwrap_or(&host);
    let domain = domain.trim_matches('.').to_ascii_lowercase();
    let label = host.strip_suffix(domain.as_str())?.strip_suffix('.')?;
    if label.contains('.') {
        return None;
    }
    let rest = label.strip_prefix("s-")?;
    let (id, port) = rest.rsplit_once('-')?;
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
    fn builds_hosts_that_parse_back() {
        let id = SandboxId::parse_new("my-box").unwrap();
        let host = preview_host(&id, 3000, D);
        assert_eq!(host, "s-my-box-3000.preview.localhost");
        assert_eq!(parse_preview_host(&host, D), target("my-box", 3000));
    }
}
