//! A sandbox's egress policy: where it may open connections. Whatever the policy, the host,
//! link-local (cloud metadata), private, CGNAT and multicast ranges stay closed; a policy only
//! narrows what is left. `open` (the default) is the internet; `none` is nothing (DNS forwarding
//! included); an allow-list is DNS plus the listed IPv4 CIDRs. Domains are not supported: a name
//! resolves to addresses that change, and a rule must name addresses.

use crate::ValidationError;
use serde::{Deserialize, Serialize};

/// Most CIDRs one allow-list may hold.
pub const MAX_ALLOW: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "EgressSchema", into = "EgressSchema")]
pub enum Egress {
    /// The internet, nothing else.
    #[default]
    Open,
    /// No outbound connections at all.
    None,
    /// DNS and these IPv4 CIDRs (validated and normalized by [`Egress::validate`]).
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
        /// IPv4 CIDRs the sandbox may connect to (private and link-local ones stay closed).
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
    /// Check an allow-list and normalize its CIDRs (`203.0.113.7/24` → `203.0.113.0/24`).
    pub fn validate(self) -> Result<Self, ValidationError> {
        let Egress::Allow(list) = self else {
            return Ok(self);
        };
        if list.len() > MAX_ALLOW {
            return Err(ValidationError::new(
                "egress.allow",
                format!("at most {MAX_ALLOW} CIDRs"),
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for c in &list {
            let n = normalize(c).ok_or_else(|| {
                ValidationError::new(
                    "egress.allow",
                    format!("{c:?} is not an IPv4 CIDR such as 203.0.113.0/24 (domains are not supported)"),
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
                    .map(normalize)
                    .collect();
                Some(Egress::Allow(cidrs?))
            }
        }
    }
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
        for bad in ["example.com", "2001:db8::/32", "1.2.3.4", "1.2.3.4/33"] {
            let err = Egress::Allow(vec![bad.into()]).validate().unwrap_err();
            assert_eq!(err.field, "egress.allow", "{bad}");
        }
        let many = Egress::Allow((0..65).map(|i| format!("198.51.{i}.0/24")).collect());
        assert!(many.validate().is_err());
    }
}
