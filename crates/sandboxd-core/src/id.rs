//! Sandbox ids: lowercase everywhere, because they end up in host names and browsers lowercase
//! those. Generated ids are ULIDs; chosen ids are 1–32 characters of `[a-z0-9-]`, not starting or
//! ending with `-`. Lookups accept any letter case; creation accepts only the canonical form.

use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id a caller may choose (a generated ULID is 26 characters).
pub const MAX_ID_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SandboxId(String);

impl SandboxId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        SandboxId(ulid::Ulid::new().to_string().to_ascii_lowercase())
    }

    /// An id chosen by a caller at creation: must already be canonical (lowercase).
    pub fn parse_new(raw: &str) -> Result<Self, ValidationError> {
        check(raw)?;
        Ok(SandboxId(raw.to_string()))
    }

    /// An id used to look a sandbox up: any letter case is accepted.
    pub fn parse_lookup(raw: &str) -> Result<Self, ValidationError> {
        let lower = raw.to_ascii_lowercase();
        check(&lower)?;
        Ok(SandboxId(lower))
    }

    /// Rebuild an id read back from our own store (already validated when written).
    pub fn from_trusted(raw: String) -> Self {
        SandboxId(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(raw: &str) -> Result<(), ValidationError> {
    let err = |m: &str| Err(ValidationError::new("id", m));
    if raw.is_empty() || raw.len() > MAX_ID_LEN {
        return err("must be 1 to 32 characters");
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return err("may contain only lowercase letters a-z, digits and '-'");
    }
    if raw.starts_with('-') || raw.ends_with('-') {
        return err("must not start or end with '-'");
    }
    Ok(())
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_lowercase_ulids() {
        let id = SandboxId::generate();
        assert_eq!(id.as_str().len(), 26);
        assert_eq!(id.as_str(), id.as_str().to_ascii_lowercase());
        assert!(SandboxId::parse_new(id.as_str()).is_ok());
        assert_ne!(SandboxId::generate(), SandboxId::generate());
    }

    #[test]
    fn chosen_ids_follow_the_rules() {
        for ok in ["a", "my-box", "0", "a-b-c", &"x".repeat(32)] {
            assert!(SandboxId::parse_new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "a b",
            "é",
            &"x".repeat(33),
        ] {
            assert!(SandboxId::parse_new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let id = SandboxId::parse_lookup("01HZABCDEF").unwrap();
        assert_eq!(id.as_str(), "01hzabcdef");
        assert!(SandboxId::parse_lookup("BAD_ID").is_err());
    }
}
