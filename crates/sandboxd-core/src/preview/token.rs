//! Preview tokens. Rule: a token is `v1.<sandbox id>.<port>.<expiry, unix seconds>.<mac>`, where
//! the MAC is HMAC-SHA256 (hex) under the sandbox's preview key of the version, id, port and
//! expiry; it is accepted only for that sandbox and that port, only before its expiry, and only
//! while the key that signed it is the sandbox's key. Every character is URL-safe and
//! cookie-safe, so the same text travels as a query parameter, a header or a cookie.

use super::hmac::{equal, hmac_sha256};
use super::PreviewKey;
use crate::SandboxId;

/// The query parameter a preview URL carries its token in.
pub const QUERY_PARAM: &str = "sandboxd_preview_token";
/// The request header API clients and CLIs send a token in.
pub const HEADER: &str = "x-sandboxd-preview-token";
/// The cookie the proxy exchanges a query token for.
pub const COOKIE: &str = "sandboxd_preview_token";
/// Longest life a token may be minted with (7 days).
pub const MAX_TTL_S: u64 = 7 * 24 * 3600;
/// Longest text even considered a token (ids are at most 32 characters).
const MAX_LEN: usize = 160;
const VERSION: &str = "v1";

/// Why a presented token is refused (all are answered alike; this is for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a preview token")]
    Malformed,
    #[error("the token was not signed with this sandbox's current key")]
    BadSignature,
    #[error("the token is for another sandbox or port")]
    WrongTarget,
    #[error("the token has expired")]
    Expired,
}

fn mac(key: &PreviewKey, id: &str, port: u16, expires_s: i64) -> [u8; 32] {
    let message = format!("sandboxd-preview\0{VERSION}\0{id}\0{port}\0{expires_s}");
    hmac_sha256(key.bytes(), message.as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A token for `port` of sandbox `id`, valid until `expires_s` (unix seconds).
pub fn mint(key: &PreviewKey, id: &SandboxId, port: u16, expires_s: i64) -> String {
    let id = id.as_str();
    let sig = hex(&mac(key, id, port, expires_s));
    format!("{VERSION}.{id}.{port}.{expires_s}.{sig}")
}

/// Check `token` for `port` of sandbox `id` at `now_s`; returns its expiry (unix seconds).
pub fn verify(
    key: &PreviewKey,
    token: &str,
    id: &SandboxId,
    port: u16,
    now_s: i64,
) -> Result<i64, TokenError> {
    if token.len() > MAX_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(VERSION), Some(t_id), Some(t_port), Some(t_exp), Some(t_sig), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenError::Malformed);
    };
    let t_port: u16 = t_port.parse().map_err(|_| TokenError::Malformed)?;
    let t_exp: i64 = t_exp.parse().map_err(|_| TokenError::Malformed)?;
    let ours = hex(&mac(key, t_id, t_port, t_exp));
    if !equal(ours.as_bytes(), t_sig.as_bytes()) {
        return Err(TokenError::BadSignature);
    }
    if t_id != id.as_str() || t_port != port {
        return Err(TokenError::WrongTarget);
    }
    if t_exp <= now_s {
        return Err(TokenError::Expired);
    }
    Ok(t_exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::PREVIEW_KEY_BYTES;

    fn id(s: &str) -> SandboxId {
        SandboxId::parse_lookup(s).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_for_its_target_only() {
        let key = PreviewKey::from_random([1; PREVIEW_KEY_BYTES]);
        let t = mint(&key, &id("abc"), 3000, 1_000);
        assert!(t.starts_with("v1.abc.3000.1000."), "{t}");
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        assert_eq!(verify(&key, &t, &id("abc"), 3000, 999), Ok(1_000));
        assert_eq!(
            verify(&key, &t, &id("abc"), 3001, 999),
            Err(TokenError::WrongTarget)
        );
        assert_eq!(
            verify(&key, &t, &id("abd"), 3000, 999),
            Err(TokenError::WrongTarget)
        );
        assert_eq!(
            verify(&key, &t, &id("abc"), 3000, 1_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_keys_edits_and_garbage_are_refused() {
        let key = PreviewKey::from_random([1; PREVIEW_KEY_BYTES]);
        let rotated = PreviewKey::from_random([2; PREVIEW_KEY_BYTES]);
        let t = mint(&key, &id("abc"), 3000, 1_000);
        let target = id("abc");
        assert_eq!(
            verify(&rotated, &t, &target, 3000, 0),
            Err(TokenError::BadSignature)
        );
        // A later expiry with the old signature.
        let extended = t.replace(".1000.", ".9999.");
        assert_eq!(
            verify(&key, &extended, &target, 3000, 0),
            Err(TokenError::BadSignature)
        );
        let mut flipped = t.clone();
        let last = if flipped.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(flipped.len() - 1.., last);
        assert_eq!(
            verify(&key, &flipped, &target, 3000, 0),
            Err(TokenError::BadSignature)
        );
        for junk in [
            "",
            "garbage",
            "v1.abc.3000.1000",
            "v2.abc.3000.1000.00",
            &"a".repeat(500),
        ] {
            assert_eq!(
                verify(&key, junk, &target, 3000, 0),
                Err(TokenError::Malformed),
                "{junk}"
            );
        }
        assert_eq!(
            verify(&key, &format!("{t}.x"), &target, 3000, 0),
            Err(TokenError::Malformed)
        );
    }
}
