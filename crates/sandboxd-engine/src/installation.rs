//! A data dir belongs to one installation: it serves one instance name (`state/instance`,
//! written once the instance's network was claimed) and has a random installation id
//! (`state/installation`, minted at its first start) that the runtime puts on the instance's
//! network and containers. Rule: a start under another instance name is refused here; a start
//! whose instance belongs to another installation is refused by the runtime's network claim.
//! The data dir and `state/` are made private (0700) here, before anything is written in them.

use crate::{EngineConfig, EngineError};
use sandboxd_runtime::Installation;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |e| EngineError::Internal(format!("{}: {e}", path.display()))
}

/// Create the data dir and `state/` (0700, tightened if they exist), check the instance name,
/// and read or mint the installation id.
pub fn claim(data_dir: &Path, instance: &str) -> Result<Installation, EngineError> {
    let state = EngineConfig::db_path_in(data_dir).with_file_name("");
    for dir in [data_dir, state.as_path()] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io_err(dir))?;
    }
    let data_dir = std::fs::canonicalize(data_dir).map_err(io_err(data_dir))?;
    let established = check_instance(&data_dir, instance)?;
    let path = state.join("installation");
    let id = match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        Ok(_) => {
            return Err(io_err(&path)(std::io::Error::other(
                "empty installation id",
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = sandboxd_core::SandboxId::generate().to_string();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io_err(&path))?;
            writeln!(f, "{id}")
                .and_then(|()| f.sync_all())
                .map_err(io_err(&path))?;
            id
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    Ok(Installation {
        id,
        data_dir,
        established,
    })
}

/// Refuse a data dir recorded for another instance name; says whether it has served this one.
pub(crate) fn check_instance(data_dir: &Path, instance: &str) -> Result<bool, EngineError> {
    let marker = EngineConfig::instance_marker_in(data_dir);
    match std::fs::read_to_string(&marker) {
        Ok(name) if name.trim() == instance => Ok(true),
        Ok(name) => Err(EngineError::Conflict(format!(
            "data dir {} belongs to installation {:?}, not {:?}; use --instance {} or another --data-dir",
            data_dir.display(),
            name.trim(),
            instance,
            name.trim()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(&marker)(e)),
    }
}

/// Record the instance name once the runtime accepted this installation for it.
pub(crate) fn record_instance(data_dir: &Path, instance: &str) -> Result<(), EngineError> {
    if check_instance(data_dir, instance)? {
        return Ok(());
    }
    let marker = EngineConfig::instance_marker_in(data_dir);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&marker)
        .map_err(io_err(&marker))?;
    writeln!(f, "{instance}")
        .and_then(|()| f.sync_all())
        .map_err(io_err(&marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_id_is_minted_once_and_kept_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = claim(&dir, "default").unwrap();
        assert!(!first.established);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("state")), 0o700);
        assert_eq!(mode(&dir.join("state/installation")), 0o600);
        record_instance(&dir, "default").unwrap();
        assert_eq!(mode(&dir.join("state/instance")), 0o600);
        let again = claim(&dir, "default").unwrap();
        assert_eq!(again.id, first.id);
        assert!(again.established);
        let other = claim(&tmp.path().join("other"), "default").unwrap();
        assert_ne!(other.id, first.id);
    }

    #[test]
    fn another_instance_name_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        claim(tmp.path(), "a").unwrap();
        record_instance(tmp.path(), "a").unwrap();
        assert!(matches!(
            claim(tmp.path(), "b"),
            Err(EngineError::Conflict(_))
        ));
    }
}
