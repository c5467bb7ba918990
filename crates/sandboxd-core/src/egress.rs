//! A sandbox's egress policy: where it may open connections. Whatever the policy, the host,
//! link-local (cloud metadata), private, CGNAT and multicast ranges stay closed; a policy only
//! narrows what is left. `open` (the default) is the internet; `none` is nothing (DNS forwarding
//! included); an allow-list is DNS plus the listed IPv4 CIDRs and domain names. A rule must name
//! addresses, so the runtime resolves each listed name with the host's resolver whenever it
//! writes the rules (at every create and every reconcile sweep) and opens the IPv4 addresses it
//! got; a name that does not resolve opens nothing. Wildcards cannot be resolved and are refused.

use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// Most entries (CIDRs and names) one allow-list may hold.
pub const MAX_ALLOW: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "EgressSchema", into = "EgressSchema")]
pub enum Egress {
    /// The internet, nothing else.
    #[default]
    Open,
    /// No outbound connections at all.
    None,
    /// DNS and these IPv4 CIDRs and domain names (validated and normalized by
    /// [`Egress::validate`]).
    Allow(Vec<String>),
}

/// The wire form: `"open"`, `"none"` or `{"allow": ["203.0.113.0/24", …]}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Egress))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EgressSchema {
    Named(EgressName),
    Allow {
        /// IPv4 CIDRs and domain names the sandbox may connect to (a name opens the IPv4
        /// addresses the host's resolver gives for it, refreshed every reconcile sweep; private
        /// and link-local addresses stay closed whatever is listed).
        allow: Vec<String>,
    },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EgressName {
    Open,
    None,
}

impl From<EgressSchema> for Egress {
    fn from(w: EgressSchema) -> Self {
        match w {
            EgressSchema::Named(EgressName::Open) => Egress::Open,
            EgressSchema::Named(EgressName::None) => Egress::None,
            EgressSchema::Allow { allow } => Egress::Allow(allow),
        }
    }
}

impl From<Egress> for EgressSchema {
    fn from(e: Egress) -> Self {
        match e {
            Egress::Open => EgressSchema::Named(EgressName::Open),
            Egress::None => EgressSchema::Named(EgressName::None),
            Egress::Allow(allow) => EgressSchema::Allow { allow },
        }
    }
}

impl Egress {
    /// Check an allow-list and normalize it: CIDRs to their network (`203.0.113.7/24` →
    /// `203.0.113.0/24`), names to lower case without a trailing dot.
    pub fn validate(self) -> Result<Self, ValidationError> {
        let Egress::Allow(list) = self else {
            return Ok(self);
        };
        if list.len() > MAX_ALLOW {
            return Err(ValidationError::new(
                "egress.allow",
                format!("at most {MAX_ALLOW} entries"),
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for c in &list {
            let n = normalize_entry(c).ok_or_else(|| {
                ValidationError::new(
                    "egress.allow",
                    format!(
                        "{c:?} is neither an IPv4 CIDR such as 203.0.113.0/24 nor a domain name \
                         such as api.example.com (no wildcards, no IPv6)"
                    ),
                )
            })?;
            if !out.contains(&n) {
                out.push(n);
            }
        }
        Ok(Egress::Allow(out))
    }

    /// The text form kept in the store and on container labels: `open`, `none`,
    /// `allow:<cidr>,<cidr>`.
    pub fn to_text(&self) -> String {
        match self {
            Egress::Open => "open".into(),
            Egress::None => "none".into(),
            Egress::Allow(l) => format!("allow:{}", l.join(",")),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Egress::Open),
            "none" => Some(Egress::None),
            _ => {
                let list = s.strip_prefix("allow:")?;
                let cidrs: Option<Vec<String>> = list
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(normalize_entry)
                    .collect();
                Some(Egress::Allow(cidrs?))
            }
        }
    }

    /// The domain names of an allow-list (empty for other policies).
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        let list: &[String] = match self {
            Egress::Allow(l) => l,
            _ => &[],
        };
        list.iter().map(String::as_str).filter(|e| !e.contains('/'))
    }
}

/// A CIDR (normalized) or a domain name (lower case, no trailing dot).
fn normalize_entry(c: &str) -> Option<String> {
    if c.contains('/') {
        normalize(c)
    } else {
        domain(c)
    }
}

/// A DNS name of at least two labels, letters, digits and inner hyphens (underscores allowed for
/// service names), at most 253 bytes; not an address (a bare IPv4 address must be written as a
/// /32 CIDR, so its meaning is never ambiguous).
fn domain(c: &str) -> Option<String> {
    let d = c.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 || d.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()));
    (labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok).then_some(d)
}

fn normalize(c: &str) -> Option<String> {
    let (addr, len) = c.trim().split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(format!(
        "{}/{len}",
        std::net::Ipv4Addr::from(u32::from(addr) & mask)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_round_trip() {
        for (json, e) in [
            (r#""open""#, Egress::Open),
            (r#""none""#, Egress::None),
            (
                r#"{"allow":["203.0.113.0/24"]}"#,
                Egress::Allow(vec!["203.0.113.0/24".into()]),
            ),
        ] {
            let parsed: Egress = serde_json::from_str(json).unwrap();
            assert_eq!(parsed, e);
            assert_eq!(serde_json::to_string(&e).unwrap(), json);
            assert_eq!(Egress::parse(&e.to_text()), Some(e));
        }
        assert!(serde_json::from_str::<Egress>(r#""closed""#).is_err());
    }

    #[test]
    fn allow_lists_are_checked_and_normalized() {
        let e = Egress::Allow(vec!["203.0.113.7/24".into(), "203.0.113.0/24".into()]);
        assert_eq!(
            e.validate().unwrap(),
            Egress::Allow(vec!["203.0.113.0/24".into()])
        );
        for bad in [
            "*.example.com",
            "localhost",
            "exa mple.com",
            "-x.example.com",
            "2001:db8::/32",
            "1.2.3.4",
            "1.2.3.4/33",
            "",
        ] {
            let err = Egress::Allow(vec![bad.into()]).validate().unwrap_err();
            assert_eq!(err.field, "egress.allow", "{bad}");
        }
        let mixed = Egress::Allow(vec!["API.Example.com.".into(), "198.51.100.9/32".into()])
            .validate()
            .unwrap();
        assert_eq!(
            mixed,
            Egress::Allow(vec!["api.example.com".into(), "198.51.100.9/32".into()])
        );
        assert_eq!(mixed.domains().collect::<Vec<_>>(), ["api.example.com"]);
        assert_eq!(Egress::parse(&mixed.to_text()), Some(mixed));
        let many = Egress::Allow((0..65).map(|i| format!("198.51.{i}.0/24")).collect());
        assert!(many.validate().is_err());
    }
}
