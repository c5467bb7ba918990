//! Merge rule for extraction: the staged tree moves into the destination
//! only after a full check that a staged directory meets a directory or
//! nothing, and a staged file or link meets a file, a link or nothing
//! (failed_precondition otherwise, before anything moves); then files and
//! links replace by rename and directories merge.

use std::fs;
use std::path::Path;

use super::super::{io as io_err, Refusal};
use crate::connect::{Code, RpcError};

/// Before anything moves: a staged directory may only meet a directory (or
/// nothing), a staged file or link only a file, a link or nothing.
pub fn check_merge(staged: &Path, dest: &Path) -> Result<(), Refusal> {
    for item in fs::read_dir(staged).map_err(|e| io_err(&e, staged))? {
        let item = item.map_err(|e| io_err(&e, staged))?;
        let there = dest.join(item.file_name());
        let Ok(existing) = fs::symlink_metadata(&there) else {
            continue;
        };
        let staged_dir = item.file_type().is_ok_and(|t| t.is_dir());
        match (staged_dir, existing.is_dir()) {
            (true, true) => check_merge(&item.path(), &there)?,
            (false, false) => {}
            (true, false) | (false, true) => {
                return Err(RpcError::new(
                    Code::FailedPrecondition,
                    format!(
                        "{} exists as a {}; the archive has a {} there",
                        there.display(),
                        if existing.is_dir() {
                            "directory"
                        } else {
                            "file"
                        },
                        if staged_dir { "directory" } else { "file" }
                    ),
                )
                .into())
            }
        }
    }
    Ok(())
}

/// Moves the staged tree into `dest` (after [`check_merge`] passed).
pub fn merge(staged: &Path, dest: &Path) -> Result<(), Refusal> {
    for item in fs::read_dir(staged).map_err(|e| io_err(&e, staged))? {
        let item = item.map_err(|e| io_err(&e, staged))?;
        let there = dest.join(item.file_name());
        let both_dirs = item.file_type().is_ok_and(|t| t.is_dir())
            && fs::symlink_metadata(&there).is_ok_and(|m| m.is_dir());
        if both_dirs {
            merge(&item.path(), &there)?;
        } else {
            fs::rename(item.path(), &there).map_err(|e| io_err(&e, &there))?;
        }
    }
    Ok(())
}
