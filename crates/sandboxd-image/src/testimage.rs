//! The tiny busybox image of integration tests and the bench. The rule it owns: the image is a
//! pure function of its inputs (the static busybox, the extra files, this recipe), built as a
//! deterministic in-memory tar with fixed timestamps — so concurrent callers load the identical
//! image ID, nothing is ever deleted, and a matching `sandboxd.recipe` label makes a call a no-op.
//!
//! Why it lives in the image crate and not in the testkit: it is an image builder like the
//! others — it shares their loader (a layer tar imported with the recipe label), host-tool
//! checks and progress lines, which stay private here. It embeds nothing: the fixture app and
//! other test files are passed in as host paths by `sandboxd-testkit`, so linking this crate
//! brings no test payload into the release binary.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use bollard::Docker;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::host::{ensure_tool, is_static_binary};
use super::load::{load_layer, normalize_tag, ImageMeta, Layer};
use super::progress::Progress;
use super::recipe::{rfc3339, ImageSpec};
use super::{image_label, LABEL_RECIPE};

/// Bump when the layout below changes.
const TEST_RECIPE_VERSION: &str = "2";
/// mtime of every file and the image's creation time: 2024-01-01T00:00:00Z.
const FIXED_TIME: u64 = 1_704_067_200;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      sandbox:x:1000:1000::/home/sandbox:/bin/sh\n\
                      nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";

enum Entry {
    Dir { mode: u32, owner: u64 },
    File { mode: u32, data: Vec<u8> },
    Symlink(String),
}

/// Make sure image `name` (`:latest` if untagged) is the busybox test image with
/// `extra_files` (host path, absolute path in the image) copied in, modes kept, owned by root.
pub async fn ensure_test_image(
    docker: &Docker,
    name: &str,
    extra_files: &[(PathBuf, &str)],
) -> Result<()> {
    let log = |line: &str| tracing::info!("{line}");
    let progress = Progress::new(&log);
    let busybox = ensure_tool("busybox", "busybox-static", is_static_binary, &progress).await?;
    let binary =
        std::fs::read(&busybox).with_context(|| format!("reading {}", busybox.display()))?;
    let out = tokio::process::Command::new(&busybox)
        .arg("--list-full")
        .output()
        .await?;
    if !out.status.success() {
        bail!("{} --list-full failed ({})", busybox.display(), out.status);
    }
    let applets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let mut extras = Vec::new();
    for (host, dest) in extra_files {
        let data = std::fs::read(host)
            .with_context(|| format!("reading extra file {}", host.display()))?;
        let mode = std::fs::metadata(host)?.permissions().mode() & 0o7777;
        extras.push((dest.to_string(), mode, data));
    }
    let layer = rootfs_tar(binary, &applets, extras)?;

    let mut spec = ImageSpec {
        env: vec![(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        )],
        labels: BTreeMap::new(),
        user: String::new(),
        workdir: String::new(),
        cmd: vec!["/bin/sh".into()],
    };
    let hash = test_recipe_hash(&spec, &layer);
    let tag = normalize_tag(name);
    if image_label(docker, &tag, LABEL_RECIPE).await?.as_deref() == Some(hash.as_str()) {
        return Ok(());
    }
    spec.labels.insert(LABEL_RECIPE.into(), hash);
    let meta = ImageMeta {
        tag,
        spec,
        created: rfc3339(FIXED_TIME),
        created_by: "sandboxd test image".into(),
    };
    load_layer(docker, Layer::Bytes(Bytes::from(layer)), meta, &progress).await?;
    Ok(())
}

fn test_recipe_hash(spec: &ImageSpec, layer: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("sandboxd-test-image\0{TEST_RECIPE_VERSION}\0"));
    h.update(spec.changes().join("\n"));
    h.update(b"\0");
    h.update(layer);
    format!("{:x}", h.finalize())
}

/// The rootfs as a tar: busybox at /bin/busybox, its applets as symlinks at their usual paths
/// (`bin/sh`, `usr/bin/nc`, ...), users root and sandbox (1000), then `extras` (path, mode, data).
fn rootfs_tar(
    busybox: Vec<u8>,
    applets: &[String],
    extras: Vec<(String, u32, Vec<u8>)>,
) -> Result<Vec<u8>> {
    let mut tree: BTreeMap<String, Entry> = BTreeMap::new();
    let dirs = [
        ("bin", 0o755),
        ("sbin", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("etc", 0o755),
    ];
    let more = [
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("root", 0o700),
        ("tmp", 0o1777),
        ("var/tmp", 0o1777),
    ];
    for (path, mode) in dirs.into_iter().chain(more) {
        add_dir(&mut tree, path, mode, 0);
    }
    add_dir(&mut tree, "home/sandbox", 0o755, 1000);
    tree.insert(
        "bin/busybox".into(),
        Entry::File {
            mode: 0o755,
            data: busybox,
        },
    );
    for applet in applets
        .iter()
        .map(|a| a.trim().trim_start_matches('/'))
        .filter(|a| !a.is_empty())
    {
        if let Some((dir, _)) = applet.rsplit_once('/') {
            add_dir(&mut tree, dir, 0o755, 0);
        }
        tree.entry(applet.to_string())
            .or_insert_with(|| Entry::Symlink("/bin/busybox".into()));
    }
    tree.insert(
        "etc/passwd".into(),
        Entry::File {
            mode: 0o644,
            data: PASSWD.into(),
        },
    );
    tree.insert(
        "etc/group".into(),
        Entry::File {
            mode: 0o644,
            data: GROUP.into(),
        },
    );
    for (dest, mode, data) in extras {
        let rel = Path::new(&dest)
            .strip_prefix("/")
            .unwrap_or(Path::new(&dest));
        if dest.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            bail!("extra file destination {dest:?} must be a plain absolute path");
        }
        let rel = rel.to_string_lossy().into_owned();
        if let Some((dir, _)) = rel.rsplit_once('/') {
            add_dir(&mut tree, dir, 0o755, 0);
        }
        tree.insert(rel, Entry::File { mode, data });
    }

    let mut builder = tar::Builder::new(Vec::new());
    for (path, entry) in &tree {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(FIXED_TIME);
        let (kind, mode, owner, data): (_, _, _, &[u8]) = match entry {
            Entry::Dir { mode, owner } => (tar::EntryType::Directory, *mode, *owner, &[]),
            Entry::File { mode, data } => (tar::EntryType::Regular, *mode, 0, data),
            Entry::Symlink(target) => {
                h.set_link_name(target)?;
                (tar::EntryType::Symlink, 0o777, 0, &[])
            }
        };
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner);
        h.set_gid(owner);
        h.set_size(data.len() as u64);
        builder.append_data(&mut h, path, data)?;
    }
    Ok(builder.into_inner()?)
}

/// Add `path` and its missing parents as directories (existing entries are kept).
fn add_dir(tree: &mut BTreeMap<String, Entry>, path: &str, mode: u32, owner: u64) {
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let last = prefix.len() == path.trim_end_matches('/').len();
        let (m, o) = if last { (mode, owner) } else { (0o755, 0) };
        tree.entry(prefix.clone())
            .or_insert(Entry::Dir { mode: m, owner: o });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType, u32, u64)> {
        let mut archive = tar::Archive::new(tar);
        let entries = archive.entries().unwrap().map(|e| e.unwrap());
        entries
            .map(|e| {
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn rootfs_is_deterministic_and_laid_out() {
        let applets: Vec<String> = ["bin/sh", "usr/bin/nc", "bin/busybox"]
            .map(String::from)
            .to_vec();
        let extra = || vec![("/opt/fixture/server".to_string(), 0o755, b"bin".to_vec())];
        let a = rootfs_tar(b"BB".to_vec(), &applets, extra()).unwrap();
        assert_eq!(a, rootfs_tar(b"BB".to_vec(), &applets, extra()).unwrap());
        let list = entries(&a);
        let find = |p: &str| {
            list.iter()
                .find(|e| e.0.trim_end_matches('/') == p)
                .cloned()
                .unwrap()
        };
        assert_eq!(find("bin/busybox").1, tar::EntryType::Regular);
        assert_eq!(find("bin/sh").1, tar::EntryType::Symlink);
        assert_eq!(find("usr/bin/nc").1, tar::EntryType::Symlink);
        assert_eq!(find("home/sandbox").3, 1000);
        assert_eq!(find("tmp").2, 0o1777);
        assert_eq!(find("opt").1, tar::EntryType::Directory);
        assert_eq!(find("opt/fixture/server").2, 0o755);
        let spec = ImageSpec {
            env: vec![],
            labels: BTreeMap::new(),
            user: String::new(),
            workdir: String::new(),
            cmd: vec![],
        };
        let b = rootfs_tar(b"BB2".to_vec(), &applets, extra()).unwrap();
        assert_ne!(test_recipe_hash(&spec, &a), test_recipe_hash(&spec, &b));
    }

    #[test]
    fn extra_paths_must_be_plain() {
        assert!(rootfs_tar(vec![], &[], vec![("/../etc/x".into(), 0o644, vec![])]).is_err());
        assert!(rootfs_tar(vec![], &[], vec![("".into(), 0o644, vec![])]).is_err());
    }
}
