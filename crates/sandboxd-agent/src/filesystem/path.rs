//! Path rule: every path a client names is checked and made absolute here,
//! once, for the RPCs and `/files` alike. Always refused (invalid_argument):
//! NUL bytes, a component over 255 bytes, non-UTF-8 text. Two modes:
//!
//! * E2B (default): absolute paths anywhere, relative ones against the
//!   agent's working directory, `.`/`..` folded lexically, symlinks followed
//!   — safe because the agent runs inside the sandbox as its own user.
//! * strict (`x-sandboxd-root: <absolute dir>`, sent by sandboxd's own /v1
//!   files API): the path must be relative to that root, `..` and absolute
//!   paths are refused (invalid_argument), and a path whose existing
//!   components below the root include a symlink is refused
//!   (failed_precondition "path goes through a symlink"). The check is a
//!   policy for sandboxd's API, not a security boundary: the sandbox user
//!   owns these files anyway.

use std::path::{Component, Path, PathBuf};

use hyper::header::HeaderMap;

use crate::connect::{Code, RpcError};
use crate::state::Agent;

/// Header naming the strict-mode root.
pub const ROOT_HEADER: &str = "x-sandboxd-root";
/// Longest file name Linux accepts.
const MAX_COMPONENT: usize = 255;

/// Why a path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("{0}")]
    Invalid(String),
    #[error("path goes through a symlink: {0}")]
    Symlink(String),
}

impl PathError {
    pub fn code(&self) -> Code {
        match self {
            PathError::Invalid(_) => Code::InvalidArgument,
            PathError::Symlink(_) => Code::FailedPrecondition,
        }
    }
}

impl From<PathError> for RpcError {
    fn from(err: PathError) -> RpcError {
        RpcError::new(err.code(), err.to_string())
    }
}

/// How a request's paths are resolved.
#[derive(Debug, Clone)]
pub struct Resolver {
    workdir: PathBuf,
    /// `Some` in strict mode.
    root: Option<PathBuf>,
}

impl Resolver {
    /// The resolver for a request with `headers`.
    pub fn new(agent: &Agent, headers: &HeaderMap) -> Result<Resolver, PathError> {
        let root = match headers.get(ROOT_HEADER) {
            None => None,
            Some(value) => {
                let text = value
                    .to_str()
                    .map_err(|_| PathError::Invalid(format!("{ROOT_HEADER} is not ASCII")))?;
                check_text(text)?;
                if !text.starts_with('/') {
                    return Err(PathError::Invalid(format!(
                        "{ROOT_HEADER} must be an absolute directory, got {text:?}"
                    )));
                }
                Some(clean(Path::new(text)))
            }
        };
        Ok(Resolver {
            workdir: agent.workdir(),
            root,
        })
    }

    /// Like [`Resolver::resolve`], but in strict mode the root itself is
    /// refused (invalid_argument): for Remove, Move and upload targets, so
    /// sandboxd's API can never delete or replace the whole workspace.
    pub fn resolve_below(&self, raw: &str) -> Result<PathBuf, PathError> {
        let path = self.resolve(raw)?;
        if self.root.as_ref() == Some(&path) {
            return Err(PathError::Invalid(format!(
                "{raw:?} is the sandbox root itself; name something inside it"
            )));
        }
        Ok(path)
    }

    /// Checks `raw` and returns its absolute form. In strict mode this reads
    /// the filesystem (symlink checks): call it from blocking code.
    pub fn resolve(&self, raw: &str) -> Result<PathBuf, PathError> {
        check_text(raw)?;
        let path = Path::new(raw);
        let Some(root) = &self.root else {
            return Ok(clean(&self.workdir.join(path)));
        };
        let mut out = root.clone();
        for part in path.components() {
            match part {
                Component::Normal(name) => {
                    out.push(name);
                    match std::fs::symlink_metadata(&out) {
                        Ok(meta) if meta.file_type().is_symlink() => {
                            return Err(PathError::Symlink(raw.to_string()))
                        }
                        _ => {}
                    }
                }
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(PathError::Invalid(format!(
                        "{raw:?}: `..` is not allowed; paths are relative to the sandbox root"
                    )))
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Invalid(format!(
                        "{raw:?}: absolute paths are not allowed; give a path relative to the sandbox root"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// Refuses NUL bytes and over-long components.
pub fn check_text(raw: &str) -> Result<(), PathError> {
    if raw.contains('\0') {
        return Err(PathError::Invalid("the path contains a NUL byte".into()));
    }
    if let Some(long) = raw.split('/').find(|c| c.len() > MAX_COMPONENT) {
        return Err(PathError::Invalid(format!(
            "a path component is {} bytes; the limit is {MAX_COMPONENT}",
            long.len()
        )));
    }
    Ok(())
}

/// Checks raw bytes (e.g. a decoded query value) and makes them text.
pub fn from_bytes(raw: Vec<u8>) -> Result<String, PathError> {
    String::from_utf8(raw).map_err(|_| PathError::Invalid("the path is not valid UTF-8".into()))
}

/// Folds `.` and `..` lexically (`..` at the root stays at the root).
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks_and_cleaning() {
        assert!(check_text("a\0b").is_err());
        assert!(check_text(&"x".repeat(256)).is_err());
        assert!(check_text(&"x".repeat(255)).is_ok());
        assert!(from_bytes(vec![0xff, b'a']).is_err());
        assert_eq!(clean(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(clean(Path::new("/../..")), PathBuf::from("/"));
    }

    #[test]
    fn strict_mode_refuses_escapes_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        let r = Resolver {
            workdir: "/".into(),
            root: Some(dir.path().to_path_buf()),
        };
        assert_eq!(r.resolve("real/new").unwrap(), dir.path().join("real/new"));
        assert_eq!(r.resolve("").unwrap(), dir.path());
        assert!(matches!(r.resolve_below("."), Err(PathError::Invalid(_))));
        assert!(matches!(r.resolve("../x"), Err(PathError::Invalid(_))));
        assert!(matches!(r.resolve("/etc"), Err(PathError::Invalid(_))));
        assert!(matches!(
            r.resolve("link/passwd"),
            Err(PathError::Symlink(_))
        ));
        assert!(matches!(r.resolve("link"), Err(PathError::Symlink(_))));
        let e2b = Resolver {
            workdir: "/home/u".into(),
            root: None,
        };
        assert_eq!(e2b.resolve("a/../b").unwrap(), PathBuf::from("/home/u/b"));
        assert_eq!(e2b.resolve("/etc/x").unwrap(), PathBuf::from("/etc/x"));
    }
}
