//! Query rule: `/files` reads `path`, `username`, `signature` and
//! `signature_expiration` from its query string (form encoding; a path
//! that decodes to non-UTF-8 is invalid_argument), and an E2B signature is
//! `v1_` + unpadded base64 of sha256(`path:op:user:token[:expiration]`),
//! compared in constant time; a past expiration is refused with exactly
//! "signature is already expired".

use base64::Engine as _;
use percent_encoding::percent_decode;
use sha2::{Digest, Sha256};

use crate::connect::{Code, RpcError};
use crate::filesystem::path::{check_text, from_bytes, PathError};
use crate::state::Agent;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub path: Option<String>,
    pub username: Option<String>,
    pub signature: Option<String>,
    pub expiration: Option<String>,
}

impl Query {
    pub fn parse(raw: &str) -> Result<Query, PathError> {
        let mut q = Query::default();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let plus = value.replace('+', " ");
            let value = from_bytes(percent_decode(plus.as_bytes()).collect())?;
            match key {
                "path" => {
                    check_text(&value)?;
                    q.path = Some(value);
                }
                "username" => q.username = Some(value),
                "signature" => q.signature = Some(value),
                "signature_expiration" => q.expiration = Some(value),
                _ => {}
            }
        }
        Ok(q)
    }
}

fn unauthenticated(message: &str) -> RpcError {
    RpcError::new(Code::Unauthenticated, message)
}

/// The signature E2B's SDKs compute for `path`, `op`, `user`.
pub fn sign(path: &str, op: &str, user: &str, token: &str, expiration: Option<&str>) -> String {
    let mut text = format!("{path}:{op}:{user}:{token}");
    if let Some(exp) = expiration {
        text.push(':');
        text.push_str(exp);
    }
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "v1_{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// Lets a token-less request in only with a valid, unexpired signature.
pub fn check_signature(
    agent: &Agent,
    q: &Query,
    op: &str,
    header_sent: bool,
) -> Result<(), RpcError> {
    let (Some(signature), false, Some(token)) = (&q.signature, header_sent, agent.token()) else {
        return Err(unauthenticated("missing or wrong X-Access-Token"));
    };
    if let Some(exp) = &q.expiration {
        let exp: u64 = exp
            .parse()
            .map_err(|_| unauthenticated("signature_expiration must be unix seconds"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if exp < now {
            return Err(unauthenticated("signature is already expired"));
        }
    }
    let want = sign(
        q.path.as_deref().unwrap_or(""),
        op,
        q.username.as_deref().unwrap_or(""),
        token,
        q.expiration.as_deref(),
    );
    let same = want.len() == signature.len()
        && want
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(unauthenticated("invalid signature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = Query::parse("path=%2Fhome%2Fa+b.txt&username=user&x=1").unwrap();
        assert_eq!(q.path.as_deref(), Some("/home/a b.txt"));
        assert_eq!(q.username.as_deref(), Some("user"));
        assert!(Query::parse("path=%FF").is_err());
        assert!(Query::parse("path=a%00b").is_err());
    }

    #[test]
    fn signatures() {
        let s = sign("/a", "read", "", "tok", None);
        assert!(s.starts_with("v1_") && !s.ends_with('='));
        assert_ne!(s, sign("/a", "write", "", "tok", None));
        assert_ne!(s, sign("/a", "read", "", "tok", Some("9")));
    }
}
