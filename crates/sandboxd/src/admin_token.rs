//! The admin token. Rule: `--api-token` (or `SANDBOXD_API_TOKEN`) wins; otherwise the token is
//! `<data-dir>/api-token`, generated (an `e2b_` key, 0600, owner-only data dir) at the first start
//! and kept afterwards. Its value is never logged. The CLI client reads the same file (same data
//! dir resolution as `serve`) when it is given no token, so local commands keep working when the
//! API requires one.

use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where the generated token lives.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("api-token")
}

/// The token in the data dir, if there is a readable, non-empty one.
pub fn read(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path_in(data_dir)).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The token of the data dir, generated when missing. The data dir must exist.
pub fn load_or_create(data_dir: &Path) -> Result<String> {
    if let Some(token) = read(data_dir) {
        return Ok(token);
    }
    let path = path_in(data_dir);
    let key = sandboxd_engine::new_api_key().context("generating the admin token")?;
    // create_new: if two processes race, one fails here instead of overwriting the other's.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", key.expose()).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated the admin API token");
    Ok(key.expose().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), None);
        let token = load_or_create(dir.path()).unwrap();
        assert!(token.starts_with("e2b_") && token.len() == 44);
        let mode = std::fs::metadata(path_in(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(dir.path()).unwrap(), token);
        assert_eq!(read(dir.path()), Some(token));
    }
}
