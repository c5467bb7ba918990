//! Agent state rule: one [`Agent`] per process holds the access token (fixed
//! for the agent's life), the defaults set by `POST /init` (extra env vars,
//! default working directory), and the registries of the services; every
//! handler reaches them through an `Arc<Agent>`, never through globals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::{filesystem, process};

/// Who the agent runs as (the sandbox's one user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// The name in the image's `/etc/passwd`, if it has one.
    pub name: Option<String>,
    pub home: PathBuf,
}

impl Identity {
    /// The running process's identity; the home is `$HOME`, else the
    /// passwd entry's, else `/`.
    pub fn current() -> Identity {
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let entry = passwd_entry(&passwd, uid);
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| entry.as_ref().map(|(_, home)| PathBuf::from(home)))
            .unwrap_or_else(|| PathBuf::from("/"));
        Identity {
            uid,
            gid,
            name: entry.map(|(name, _)| name),
            home,
        }
    }

    /// Whether a client naming `user` means this identity: its own name,
    /// `user` (E2B templates' name for the sandbox user) or `sandbox`.
    pub fn answers_to(&self, user: &str) -> bool {
        user == "user" || user == "sandbox" || self.name.as_deref() == Some(user)
    }
}

/// `(name, home)` of `uid` in passwd-format `text`.
pub fn passwd_entry(text: &str, uid: u32) -> Option<(String, String)> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 6 && fields[2].parse::<u32>().ok() == Some(uid) {
            Some((fields[0].to_string(), fields[5].to_string()))
        } else {
            None
        }
    })
}

/// What `POST /init` can change.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Added to every process's environment (below per-call `envs`).
    pub envs: BTreeMap<String, String>,
    /// Working directory when a call names none (the home otherwise).
    pub workdir: Option<PathBuf>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Agent {
    token: Option<String>,
    pub identity: Identity,
    pub defaults: RwLock<Defaults>,
    pub processes: process::Registry,
    pub watchers: filesystem::Watchers,
}

impl Agent {
    pub fn new(token: Option<String>, identity: Identity) -> Agent {
        Agent {
            token,
            identity,
            defaults: RwLock::new(Defaults::default()),
            processes: process::Registry::default(),
            watchers: filesystem::Watchers::default(),
        }
    }

    /// Whether the agent has a token at all (without one it serves only `/health`).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Constant-time comparison of `given` with the token.
    pub fn token_matches(&self, given: &[u8]) -> bool {
        let Some(token) = &self.token else {
            return false;
        };
        let want = token.as_bytes();
        if want.len() != given.len() {
            return false;
        }
        want.iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// The token itself, for checking E2B's signed file URLs.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A snapshot of the `/init` defaults.
    pub fn defaults(&self) -> Defaults {
        // A poisoned lock only means a panic mid-update of plain data.
        match self.defaults.read() {
            Ok(d) => d.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The directory relative paths and cwd-less processes start from.
    pub fn workdir(&self) -> PathBuf {
        self.defaults()
            .workdir
            .unwrap_or_else(|| self.identity.home.clone())
    }

    /// `path` made absolute against the working directory (no resolution).
    pub fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.workdir().join(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup_and_user_names() {
        let text = "root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000::/home/sandbox:/bin/sh\n";
        assert_eq!(
            passwd_entry(text, 1000),
            Some(("sandbox".into(), "/home/sandbox".into()))
        );
        assert_eq!(passwd_entry(text, 7), None);
        let id = Identity {
            uid: 1000,
            gid: 1000,
            name: Some("dev".into()),
            home: "/home/dev".into(),
        };
        assert!(id.answers_to("user") && id.answers_to("dev") && !id.answers_to("root"));
    }

    #[test]
    fn token_comparison() {
        let id = Identity::current();
        let agent = Agent::new(Some("abc".into()), id.clone());
        assert!(agent.token_matches(b"abc"));
        assert!(!agent.token_matches(b"abd") && !agent.token_matches(b"ab"));
        assert!(!Agent::new(None, id).token_matches(b""));
    }
}
