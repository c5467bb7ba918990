//! `/archive` over real HTTP on loopback, in tempdirs.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::connect::tests::start;

struct Archive {
    url: String,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Archive {
    async fn new() -> Archive {
        let (base, _agent) = start(Some("tok")).await;
        Archive {
            url: format!("{base}/archive"),
            http: reqwest::Client::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, &self.url)
            .query(&[("path", path)])
            .header("x-access-token", "tok")
            .header("x-sandboxd-root", self.root().to_str().unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let resp = self.call(reqwest::Method::GET, path).send().await.unwrap();
        (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
    }

    async fn put(&self, path: &str, tar: Vec<u8>) -> (u16, Value) {
        let resp = self
            .call(reqwest::Method::POST, path)
            .body(tar)
            .send()
            .await
            .unwrap();
        let s = resp.status().as_u16();
        (s, resp.json().await.unwrap_or(Value::Null))
    }
}

/// One raw tar entry (names are written as given: hostile ones too).
fn raw_entry(name: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0; 1024]);
    out
}

/// `(name, kind, link target, content)` of every entry.
fn listing(tar: &[u8]) -> Vec<(String, tar::EntryType, Option<String>, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let link = e
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let kind = e.header().entry_type();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, kind, link, data));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn names_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn tar_down_stores_symlinks_and_up_round_trips() {
    let a = Archive::new().await;
    let src = a.root().join("src");
    std::fs::create_dir_all(src.join("sub/deep")).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    std::fs::write(src.join("sub/deep/b.bin"), vec![7u8; 200_000]).unwrap();
    std::os::unix::fs::symlink("sub/deep/b.bin", src.join("rel")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("abs")).unwrap();
    let (status, tar) = a.get("src").await;
    assert_eq!(status, 200);
    let l = listing(&tar);
    let names: Vec<_> = l.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        ["a.txt", "abs", "rel", "sub", "sub/deep", "sub/deep/b.bin"]
    );
    assert_eq!(l[1].1, tar::EntryType::Symlink);
    assert_eq!(l[1].2.as_deref(), Some("/etc/passwd"));
    assert!(l[1].3.is_empty(), "a symlink is never followed");
    assert_eq!(l[5].3.len(), 200_000);

    // Without the absolute link the archive goes back up into a new directory.
    std::fs::remove_file(src.join("abs")).unwrap();
    let (_, tar) = a.get("src").await;
    let (status, v) = a.put("copy/here", tar).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["files"], 3);
    let copy = a.root().join("copy/here");
    assert_eq!(std::fs::read(copy.join("a.txt")).unwrap(), b"alpha");
    assert_eq!(std::fs::read(copy.join("rel")).unwrap().len(), 200_000);
    assert_eq!(
        std::fs::read_link(copy.join("rel")).unwrap(),
        Path::new("sub/deep/b.bin")
    );
    assert_eq!(
        names_under(&copy),
        ["a.txt", "rel", "sub"],
        "no staging left"
    );

    // Extracting again merges: files replaced, directories kept.
    std::fs::write(copy.join("mine"), b"kept").unwrap();
    let tar = tar_of(&[raw_entry("a.txt", tar::EntryType::Regular, None, b"new")]);
    assert_eq!(a.put("copy/here", tar).await.0, 200);
    assert_eq!(std::fs::read(copy.join("a.txt")).unwrap(), b"new");
    assert_eq!(std::fs::read(copy.join("mine")).unwrap(), b"kept");
}

#[tokio::test]
async fn hostile_archives_are_refused_and_write_nothing() {
    use tar::EntryType as T;
    let a = Archive::new().await;
    std::fs::create_dir(a.root().join("dst")).unwrap();
    std::fs::write(a.root().join("dst/old"), b"old").unwrap();
    let ok = raw_entry("fine.txt", T::Regular, None, b"x");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("dotdot", raw_entry("../x", T::Regular, None, b"x"), 400),
        (
            "nested dotdot",
            raw_entry("a/../../x", T::Regular, None, b"x"),
            400,
        ),
        ("absolute", raw_entry("/tmp/x", T::Regular, None, b"x"), 400),
        (
            "hard link",
            raw_entry("h", T::Link, Some("fine.txt"), b""),
            400,
        ),
        ("device", raw_entry("dev", T::Char, None, b""), 400),
        (
            "abs symlink",
            raw_entry("l", T::Symlink, Some("/etc"), b""),
            400,
        ),
        (
            "escaping symlink",
            raw_entry("d/l", T::Symlink, Some("../../x"), b""),
            400,
        ),
        (
            "dir over file",
            raw_entry("old/", T::Directory, None, b""),
            412,
        ),
    ];
    for (what, hostile, code) in cases {
        let (status, v) = a.put("dst", tar_of(&[ok.clone(), hostile])).await;
        assert_eq!(status, code, "{what}: {v}");
        assert!(v["code"].is_string(), "{what}: Connect-shaped error {v}");
        assert_eq!(names_under(&a.root().join("dst")), ["old"], "{what}");
    }
    // A chain: each link alone stays inside, together they escape.
    let chain = tar_of(&[
        raw_entry("a/b/up", T::Symlink, Some("../.."), b""),
        raw_entry("esc", T::Symlink, Some("a/b/up/.."), b""),
    ]);
    assert_eq!(a.put("dst", chain).await.0, 400);
    // Writing through a link the archive made.
    let through = tar_of(&[
        raw_entry("sub/", T::Directory, None, b""),
        raw_entry("l", T::Symlink, Some("sub"), b""),
        raw_entry("l/f", T::Regular, None, b"x"),
    ]);
    assert_eq!(a.put("dst", through).await.0, 400);
    // A missing destination is not left behind either.
    let (status, _) = a
        .put(
            "new/dir",
            tar_of(&[raw_entry("../x", T::Regular, None, b"")]),
        )
        .await;
    assert_eq!(status, 400);
    assert!(!a.root().join("new").exists());
    assert_eq!(names_under(&a.root().join("dst")), ["old"]);
}

#[tokio::test]
async fn strict_mode_and_wrong_kinds() {
    let a = Archive::new().await;
    std::fs::write(a.root().join("file"), b"f").unwrap();
    std::os::unix::fs::symlink("/etc", a.root().join("etc")).unwrap();
    let (status, body) = a.get("etc").await;
    assert_eq!(status, 412, "{}", String::from_utf8_lossy(&body));
    assert_eq!(a.get("file").await.0, 400);
    assert_eq!(a.get("missing").await.0, 404);
    assert_eq!(a.get("../x").await.0, 400);
    assert_eq!(a.put("file", tar_of(&[])).await.0, 400);
    let resp = a
        .http
        .get(&a.url)
        .query(&[("path", "file")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "the token is required");
}
