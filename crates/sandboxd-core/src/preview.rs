//! Who may see a sandbox's previews. Rule: a `public` preview answers anyone (as before
//! previews had modes); a `private` one answers only requests carrying a preview token signed
//! with the sandbox's own preview key ([`token`]). The key is 32 random bytes, kept in the store
//! and the engine's memory, never serialized and never shown by `Debug`; rotating it revokes
//! every token minted with it. Where the bytes come from is the caller's business (no I/O here).

pub mod hmac;
pub mod token;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use token::{mint, verify, TokenError, COOKIE, HEADER, MAX_TTL_S, QUERY_PARAM};

/// A sandbox's preview mode.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preview {
    /// Anyone who knows the URL (the default unless `--default-preview private`).
    #[default]
    Public,
    /// Only requests with a valid preview token (query, header or cookie).
    Private,
}

impl Preview {
    pub fn as_str(self) -> &'static str {
        match self {
            Preview::Public => "public",
            Preview::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Preview::Public),
            "private" => Some(Preview::Private),
            _ => None,
        }
    }
}

/// Length of a preview key in bytes.
pub const PREVIEW_KEY_BYTES: usize = 32;

/// The secret a sandbox's preview tokens are signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct PreviewKey([u8; PREVIEW_KEY_BYTES]);

impl PreviewKey {
    pub fn from_random(bytes: [u8; PREVIEW_KEY_BYTES]) -> Self {
        PreviewKey(bytes)
    }

    /// The stored form: 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A stored key, if it has the shape of one.
    pub fn parse_hex(text: &str) -> Option<Self> {
        if text.len() != PREVIEW_KEY_BYTES * 2 {
            return None;
        }
        let mut out = [0u8; PREVIEW_KEY_BYTES];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(PreviewKey(out))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PreviewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreviewKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for m in [Preview::Public, Preview::Private] {
            assert_eq!(Preview::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(Preview::parse("secret"), None);
        assert!(serde_json::from_str::<Preview>("\"hidden\"").is_err());
    }

    #[test]
    fn keys_round_trip_through_hex_and_never_show() {
        let mut bytes = [7u8; PREVIEW_KEY_BYTES];
        bytes[0] = 0xab;
        let key = PreviewKey::from_random(bytes);
        let hex = key.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("ab07"));
        assert_eq!(PreviewKey::parse_hex(&hex), Some(key.clone()));
        assert_eq!(PreviewKey::parse_hex("ab"), None);
        assert_eq!(PreviewKey::parse_hex(&"zz".repeat(32)), None);
        assert!(!format!("{key:?}").contains("ab07"));
    }
}
