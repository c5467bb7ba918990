//! Symlink rule for extraction: an archive's symlink must stay inside the
//! destination — its target is relative, does not climb above the
//! destination when read lexically from the link's directory, and, once the
//! whole archive is staged, still resolves inside when the archive's other
//! links are followed (chains can escape where each link alone looks
//! inside). At most 40 links are followed per check.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::super::{io as io_err, Refusal};
use super::invalid;

/// Most symlinks followed while checking one link's target.
const MAX_HOPS: u32 = 40;

/// A symlink at `rel` with target `link` stays inside, read lexically.
pub fn lexically_inside(rel: &Path, link: &Path) -> Result<(), Refusal> {
    let outside = || {
        invalid(format!(
            "symlink {rel:?} -> {link:?} points outside the destination"
        ))
    };
    if link.is_absolute() {
        return Err(outside());
    }
    let mut depth = rel.components().count() as i64 - 1;
    for part in link.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return Err(outside());
        }
    }
    Ok(())
}

/// Every symlink under `dir` must resolve inside `root`, following the
/// other links of the archive (chains could escape where each link alone
/// looks inside).
pub fn check_links(root: &Path, dir: &Path) -> Result<(), Refusal> {
    for item in fs::read_dir(dir).map_err(|e| io_err(&e, dir))? {
        let item = item.map_err(|e| io_err(&e, dir))?;
        let path = item.path();
        let kind = item.file_type().map_err(|e| io_err(&e, &path))?;
        if kind.is_dir() {
            check_links(root, &path)?;
        } else if kind.is_symlink() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if !resolves_inside(root, &rel) {
                return Err(invalid(format!(
                    "symlink {rel:?} resolves outside the destination"
                )));
            }
        }
    }
    Ok(())
}

/// Follows the symlink at `rel` (relative to `root`) component by component.
fn resolves_inside(root: &Path, rel: &Path) -> bool {
    let mut at: Vec<OsString> = rel.components().map(|c| c.as_os_str().to_owned()).collect();
    let mut pending: VecDeque<OsString> = VecDeque::new();
    let mut hops = 0;
    // Start by expanding the link itself.
    let Some(_) = at.pop() else { return false };
    let Ok(first) = fs::read_link(root.join(rel)) else {
        return false;
    };
    pending.extend(first.components().map(|c| c.as_os_str().to_owned()));
    while let Some(part) = pending.pop_front() {
        match part.to_str() {
            Some("..") => {
                if at.pop().is_none() {
                    return false;
                }
            }
            Some(".") | Some("") => {}
            Some("/") => return false,
            _ => {
                at.push(part);
                let here: PathBuf = root.join(at.iter().collect::<PathBuf>());
                if let Ok(target) = fs::read_link(&here) {
                    hops += 1;
                    if hops > MAX_HOPS || target.is_absolute() {
                        return false;
                    }
                    at.pop();
                    for (i, c) in target.components().enumerate() {
                        pending.insert(i, c.as_os_str().to_owned());
                    }
                }
            }
        }
    }
    true
}
