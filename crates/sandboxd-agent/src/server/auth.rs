//! Caller rule: a request is let in only with the sandbox's access token in
//! `X-Access-Token` (or, for `/files`, a valid E2B signature checked there);
//! a user named by `Authorization: Basic` or `username=` must be the
//! sandbox's own user under one of its accepted names — asking for root (or
//! anyone else) is refused rather than silently served as the sandbox user.

use base64::Engine as _;
use hyper::header::{HeaderMap, AUTHORIZATION};

use crate::state::Agent;

/// Header carrying the access token.
pub const TOKEN_HEADER: &str = "x-access-token";

/// Whether the request carries the agent's token.
pub fn token_ok(agent: &Agent, headers: &HeaderMap) -> bool {
    headers
        .get(TOKEN_HEADER)
        .is_some_and(|value| agent.token_matches(value.as_bytes()))
}

/// Why a named user is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("the Authorization header is not Basic credentials")]
    Malformed,
    #[error("user {0:?} does not exist in this sandbox (its only user answers to `user`, `sandbox` or its own name); a sandbox cannot run anything as root")]
    Unknown(String),
}

/// The user named in `Authorization: Basic base64(user:password)`, if any.
pub fn basic_user(headers: &HeaderMap) -> Result<Option<String>, UserError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| UserError::Malformed)?;
    let Some(encoded) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Err(UserError::Malformed);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| UserError::Malformed)?;
    let raw = String::from_utf8(raw).map_err(|_| UserError::Malformed)?;
    let user = raw.split(':').next().unwrap_or("").to_string();
    Ok((!user.is_empty()).then_some(user))
}

/// Checks that `user` (if named) is the sandbox's own user.
pub fn check_user(agent: &Agent, user: Option<&str>) -> Result<(), UserError> {
    match user {
        None | Some("") => Ok(()),
        Some(name) if agent.identity.answers_to(name) => Ok(()),
        Some(name) => Err(UserError::Unknown(name.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Identity;
    use hyper::header::HeaderValue;

    fn agent() -> Agent {
        let id = Identity {
            uid: 1000,
            gid: 1000,
            name: Some("sandbox".into()),
            home: "/home/sandbox".into(),
        };
        Agent::new(Some("t0k".into()), id)
    }

    #[test]
    fn token_and_basic_user() {
        let a = agent();
        let mut h = HeaderMap::new();
        assert!(!token_ok(&a, &h));
        h.insert(TOKEN_HEADER, HeaderValue::from_static("t0k"));
        assert!(token_ok(&a, &h));
        // "user:" base64
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjo="));
        assert_eq!(basic_user(&h).unwrap().as_deref(), Some("user"));
        assert!(check_user(&a, Some("user")).is_ok());
        // "root:"
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic cm9vdDo="));
        let root = basic_user(&h).unwrap();
        assert!(matches!(
            check_user(&a, root.as_deref()),
            Err(UserError::Unknown(_))
        ));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_user(&h), Err(UserError::Malformed));
    }
}
