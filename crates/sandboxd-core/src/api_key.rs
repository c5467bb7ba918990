//! Rule: an API key is `e2b_` followed by 40 lowercase hex characters (20 random bytes; the
//! prefix lets E2B SDKs' format check pass), shown once when issued and otherwise known only by
//! its SHA-256 (64 lowercase hex), which is what the store keeps and looks keys up by. Comparing
//! hashes of fixed length leaks nothing about the secret, so no raw secret is ever compared.
//! A key never appears in a `Debug` rendering. Where the random bytes come from is the caller's
//! business (this crate does no I/O).

use sha2::{Digest, Sha256};
use std::fmt;

/// Random bytes in a key.
pub const API_KEY_BYTES: usize = 20;
/// Every key starts with this.
pub const API_KEY_PREFIX: &str = "e2b_";

/// A key's secret text.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn from_random(bytes: [u8; API_KEY_BYTES]) -> ApiKey {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        ApiKey(format!("{API_KEY_PREFIX}{hex}"))
    }

    /// The text itself (to show once, or to send as a header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash the store keeps.
    pub fn hash(&self) -> String {
        hash_secret(&self.0)
    }

    /// The last four characters, a hint for listings.
    pub fn hint(&self) -> String {
        self.0[self.0.len() - 4..].to_string()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// SHA-256 of any presented secret (a key or the admin token), as lowercase hex.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRole {
    /// Sees and manages everything, including keys and the audit log.
    Admin,
    /// Sees and acts only on the sandboxes it created (owner = this tenant name).
    Tenant(String),
}

impl KeyRole {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyRole::Admin => "admin",
            KeyRole::Tenant(_) => "tenant",
        }
    }

    pub fn owner(&self) -> Option<&str> {
        match self {
            KeyRole::Admin => None,
            KeyRole::Tenant(o) => Some(o),
        }
    }
}

/// A tenant name: 1-64 characters of a-z, A-Z, 0-9, `-`, `_`, `.`.
pub fn valid_owner(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_hash_and_hint() {
        let key = ApiKey::from_random([0xab; API_KEY_BYTES]);
        assert_eq!(key.expose().len(), 44);
        assert!(key.expose().starts_with("e2b_abab"));
        assert_eq!(key.hash().len(), 64);
        assert_eq!(key.hash(), hash_secret(key.expose()));
        assert_ne!(key.hash(), hash_secret("e2b_other"));
        assert_eq!(key.hint(), "abab");
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }

    #[test]
    fn owner_names() {
        assert!(valid_owner("team-a.1_x"));
        assert!(!valid_owner(""));
        assert!(!valid_owner("a b"));
        assert!(!valid_owner(&"x".repeat(65)));
    }
}
