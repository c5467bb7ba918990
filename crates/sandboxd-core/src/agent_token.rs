//! Rule: a sandbox's agent access token is 32 random bytes written as 64 lowercase hex
//! characters, and it never appears in a `Debug` rendering (so a log line or an error that
//! formats a struct holding one cannot leak it). It is not serializable on purpose: nothing
//! public (the sandbox JSON) may carry it. Where the bytes come from is the caller's business
//! (this crate does no I/O).

use std::fmt;

/// Length of a token in random bytes.
pub const AGENT_TOKEN_BYTES: usize = 32;

/// The secret every request to a sandbox's agent carries (`X-Access-Token`), except
/// `GET /health`.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentToken(String);

impl AgentToken {
    /// The token of these random bytes.
    pub fn from_random(bytes: [u8; AGENT_TOKEN_BYTES]) -> AgentToken {
        AgentToken(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stored token, if it has the shape of one.
    pub fn parse(text: &str) -> Option<AgentToken> {
        let valid = text.len() == AGENT_TOKEN_BYTES * 2
            && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        valid.then(|| AgentToken(text.to_string()))
    }

    /// The token itself (for the agent's environment, the store and request headers only).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, compared in time that does not depend on where the
    /// two differ (a guesser learns nothing from how long a refusal takes).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let ours = self.0.as_bytes();
        if presented.len() != ours.len() {
            return false;
        }
        let diff = ours
            .iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_the_bytes_and_parses_back() {
        let mut bytes = [0u8; AGENT_TOKEN_BYTES];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let token = AgentToken::from_random(bytes);
        assert_eq!(token.expose().len(), 64);
        assert!(token.expose().starts_with("ab00"));
        assert!(token.expose().ends_with("01"));
        assert_eq!(AgentToken::parse(token.expose()), Some(token));
    }

    #[test]
    fn rejects_what_is_not_a_token() {
        assert_eq!(AgentToken::parse(""), None);
        assert_eq!(AgentToken::parse(&"A".repeat(64)), None);
        assert_eq!(AgentToken::parse(&"a".repeat(63)), None);
        assert_eq!(AgentToken::parse(&"g".repeat(64)), None);
    }

    #[test]
    fn matches_only_itself() {
        let token = AgentToken::from_random([0x5a; AGENT_TOKEN_BYTES]);
        assert!(token.matches(token.expose().as_bytes()));
        assert!(!token.matches(b""));
        assert!(!token.matches(&token.expose().as_bytes()[1..]));
        let mut other = token.expose().as_bytes().to_vec();
        other[63] = b'0';
        assert!(!token.matches(&other));
    }

    #[test]
    fn debug_never_shows_it() {
        let token = AgentToken::from_random([0x5a; AGENT_TOKEN_BYTES]);
        let shown = format!("{token:?}");
        assert!(!shown.contains("5a5a"), "{shown}");
    }
}
