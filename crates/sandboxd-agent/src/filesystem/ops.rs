//! Operations rule: Stat, ListDir, MakeDir, Move and Remove are plain
//! blocking functions over absolute, already-checked paths; each maps its
//! failures to one Connect code (missing → not_found, exists →
//! already_exists, wrong kind → invalid_argument/failed_precondition, too
//! many entries → resource_exhausted) and never leaves a half-done change
//! it could avoid. Callers run them in `spawn_blocking`.

use std::path::Path;

use super::entry::{entry, Names};
use crate::connect::{Code, RpcError};
use crate::proto::filesystem::EntryInfo;

/// Most entries one ListDir returns.
pub const MAX_ENTRIES: usize = 10_000;

fn io(err: std::io::Error, path: &Path) -> RpcError {
    RpcError::from_io(&err, &path.display().to_string())
}

pub fn stat(path: &Path) -> Result<EntryInfo, RpcError> {
    entry(path, &Names::load()).map_err(|e| io(e, path))
}

/// Entries under `path` down to `depth` levels (≥ 1); symlinked
/// directories are listed as entries but not descended into.
pub fn list_dir(path: &Path, depth: u32) -> Result<Vec<EntryInfo>, RpcError> {
    let meta = std::fs::metadata(path).map_err(|e| io(e, path))?;
    if !meta.is_dir() {
        return Err(RpcError::invalid(format!(
            "{} is not a directory",
            path.display()
        )));
    }
    let names = Names::load();
    let mut out = Vec::new();
    walk(path, depth.max(1), &names, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, depth: u32, names: &Names, out: &mut Vec<EntryInfo>) -> Result<(), RpcError> {
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(e, dir))?
        .filter_map(Result::ok)
        .map(|d| d.path())
        .collect();
    children.sort();
    for child in children {
        if out.len() >= MAX_ENTRIES {
            return Err(RpcError::new(
                Code::ResourceExhausted,
                format!(
                    "more than {MAX_ENTRIES} entries under {}; list with a smaller depth",
                    dir.display()
                ),
            ));
        }
        // Entries that vanish while listing are skipped.
        let Ok(info) = entry(&child, names) else {
            continue;
        };
        out.push(info);
        let real_dir = std::fs::symlink_metadata(&child).is_ok_and(|m| m.is_dir());
        if depth > 1 && real_dir {
            walk(&child, depth - 1, names, out)?;
        }
    }
    Ok(())
}

/// Creates `path` and its parents; an existing path is already_exists.
pub fn make_dir(path: &Path) -> Result<EntryInfo, RpcError> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(RpcError::new(
            Code::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    std::fs::create_dir_all(path).map_err(|e| io(e, path))?;
    stat(path)
}

/// Renames `from` to `to`, creating `to`'s parent.
pub fn rename(from: &Path, to: &Path) -> Result<EntryInfo, RpcError> {
    std::fs::symlink_metadata(from).map_err(|e| io(e, from))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
    }
    std::fs::rename(from, to).map_err(|e| io(e, to))?;
    stat(to)
}

/// Removes a file, a symlink (not its target) or a whole directory tree.
pub fn remove(path: &Path) -> Result<(), RpcError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| io(e, path))?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
    .map_err(|e| io(e, path))
}
