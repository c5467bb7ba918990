//! Entry rule: one function turns a path into E2B's `EntryInfo`. A symlink
//! is described by its TARGET (type, size, mode, time) with
//! `symlinkTarget` = the resolved absolute path; anything that is not a
//! directory is `FILE_TYPE_FILE`; `mode` is the permission bits and
//! `permissions` their `ls -l` text with `d` or `-` (never `l`); owner and
//! group are names from the sandbox's own /etc/passwd and /etc/group (the
//! numeric id when missing).

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::proto::filesystem::{EntryInfo, FileType};
use crate::proto::json::timestamp;

/// uid/gid → name tables, read once per request.
#[derive(Debug, Clone, Default)]
pub struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    /// Reads the sandbox's /etc/passwd and /etc/group (missing files give
    /// numeric names).
    pub fn load() -> Names {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Names {
            users: table(&read("/etc/passwd")),
            groups: table(&read("/etc/group")),
        }
    }

    fn user(&self, uid: u32) -> String {
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| uid.to_string())
    }

    fn group(&self, gid: u32) -> String {
        self.groups
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| gid.to_string())
    }
}

/// `name:x:id:…` lines → id → name.
fn table(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

/// The entry for `path` (absolute). A dangling symlink is described by the
/// link itself, as a file.
pub fn entry(path: &Path, names: &Names) -> std::io::Result<EntryInfo> {
    let link = std::fs::symlink_metadata(path)?;
    let (meta, target) = if link.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).ok().unwrap_or_else(|| {
            let raw = std::fs::read_link(path).unwrap_or_default();
            super::path::clean(&path.parent().unwrap_or(Path::new("/")).join(raw))
        });
        let meta = std::fs::metadata(path).unwrap_or(link);
        (meta, Some(target.to_string_lossy().into_owned()))
    } else {
        (link, None)
    };
    Ok(describe(path, &meta, target, names))
}

fn describe(path: &Path, meta: &Metadata, target: Option<String>, names: &Names) -> EntryInfo {
    let dir = meta.is_dir();
    let mode = meta.mode() & 0o777;
    let nanos = u32::try_from(meta.mtime_nsec()).unwrap_or(0);
    EntryInfo {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into()),
        kind: if dir {
            FileType::Directory
        } else {
            FileType::File
        },
        path: path.to_string_lossy().into_owned(),
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        mode,
        permissions: permissions(dir, mode),
        owner: names.user(meta.uid()),
        group: names.group(meta.gid()),
        modified_time: timestamp(meta.mtime(), nanos),
        symlink_target: target,
        metadata: Default::default(),
    }
}

/// `drwxr-xr-x` / `-rw-r--r--`.
pub fn permissions(dir: bool, mode: u32) -> String {
    let mut out = String::with_capacity(10);
    out.push(if dir { 'd' } else { '-' });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn permission_text_and_tables() {
        assert_eq!(permissions(false, 0o644), "-rw-r--r--");
        assert_eq!(permissions(true, 0o755), "drwxr-xr-x");
        let t = table("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
        assert_eq!(t.get(&1000).map(String::as_str), Some("user"));
        let names = Names::default();
        assert_eq!(names.user(4242), "4242");
    }

    #[test]
    fn symlinks_describe_their_target() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("lf")).unwrap();
        std::os::unix::fs::symlink("d", dir.path().join("ld")).unwrap();
        let names = Names::load();
        let e = entry(&dir.path().join("lf"), &names).unwrap();
        assert_eq!((e.kind, e.size, e.mode), (FileType::File, 5, 0o644));
        assert_eq!(e.permissions, "-rw-r--r--");
        let real = std::fs::canonicalize(&file).unwrap();
        assert_eq!(e.symlink_target.as_deref(), real.to_str());
        let d = entry(&dir.path().join("ld"), &names).unwrap();
        assert_eq!(d.kind, FileType::Directory);
        assert!(d.permissions.starts_with('d'));
        assert_eq!(d.name, "ld");
        let plain = entry(&file, &names).unwrap();
        assert!(plain.symlink_target.is_none() && plain.modified_time.ends_with('Z'));
    }
}
