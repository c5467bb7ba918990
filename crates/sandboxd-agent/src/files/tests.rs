//! `/files` over real HTTP on loopback, in tempdirs.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::query::sign;
use crate::connect::tests::start;

mod disk;

pub(super) struct Files {
    base: String,
    http: reqwest::Client,
}

impl Files {
    pub(super) async fn new() -> (Files, tempfile::TempDir) {
        let (base, agent) = start(Some("tok")).await;
        let dir = tempfile::tempdir().unwrap();
        agent.defaults.write().unwrap().workdir = Some(dir.path().to_path_buf());
        let http = reqwest::Client::new();
        (Files { base, http }, dir)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}/files", self.base);
        self.http
            .get(url)
            .query(&[("path", path)])
            .header("x-access-token", "tok")
    }

    pub(super) fn post(&self, path: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self.http.post(format!("{}/files", self.base));
        if let Some(p) = path {
            req = req.query(&[("path", p)]);
        }
        req.header("x-access-token", "tok")
    }
}

pub(super) async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// Deterministic pseudo-random bytes.
pub(super) fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn octet_stream_round_trip_of_50_mib() {
    let (f, dir) = Files::new().await;
    let data = noise(50 << 20);
    let want = Sha256::digest(&data);
    let resp = f
        .post(Some("big/blob.bin"))
        .header("content-type", "application/octet-stream");
    let (s, v) = status_json(resp.body(data).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    let path = dir.path().join("big/blob.bin");
    assert_eq!(v[0]["path"], path.to_str().unwrap());
    assert_eq!(
        (v[0]["name"].as_str(), v[0]["type"].as_str()),
        (Some("blob.bin"), Some("file"))
    );
    let resp = f.get("big/blob.bin").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["content-length"], (50u64 << 20).to_string().as_str());
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .contains("blob.bin"));
    let mut hasher = Sha256::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        hasher.update(chunk.unwrap());
    }
    assert_eq!(hasher.finalize(), want);
}

#[tokio::test]
async fn multipart_gzip_and_errors() {
    let (f, dir) = Files::new().await;
    let root = dir.path();
    let abs = root.join("abs/x.txt");
    let mut form = Vec::new();
    for (name, body) in [("rel/dir/a.txt", "alpha"), (abs.to_str().unwrap(), "beta")] {
        write!(form, "--BOUND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n{body}\r\n").unwrap();
    }
    form.extend_from_slice(b"--BOUND--\r\n");
    let req = f
        .post(None)
        .header("content-type", "multipart/form-data; boundary=BOUND");
    let (s, v) = status_json(req.body(form).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(
        std::fs::read_to_string(root.join("rel/dir/a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(std::fs::read_to_string(&abs).unwrap(), "beta");
    let meta = std::fs::metadata(&abs).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o644
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"unzipped!").unwrap();
    let req = f.post(Some("z.txt")).header("content-encoding", "gzip");
    let req = req.header("x-metadata-owner", "bob");
    let (s, v) = status_json(req.body(gz.finish().unwrap()).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(xattr(&root.join("z.txt"), "user.e2b.owner"), b"bob");
    assert_eq!(
        std::fs::read_to_string(root.join("z.txt")).unwrap(),
        "unzipped!"
    );
    let req = f.post(Some("z.txt")).header("content-encoding", "gzip");
    let (s, _) = status_json(req.body("not gzip").send().await.unwrap()).await;
    assert_eq!(s, 400);
    assert_eq!(
        std::fs::read_to_string(root.join("z.txt")).unwrap(),
        "unzipped!"
    );

    let (s, v) = status_json(f.get("nope").send().await.unwrap()).await;
    assert_eq!((s, v["code"].as_u64()), (404, Some(404)));
    let (s, _) = status_json(f.get("rel").send().await.unwrap()).await;
    assert_eq!(s, 400);
    let (s, _) = status_json(f.post(Some("rel")).body("x").send().await.unwrap()).await;
    assert_eq!(s, 400);
    let (s, _) = status_json(
        f.get("z.txt")
            .query(&[("username", "root")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403);
    assert_no_temp_files(root);
}

/// An xattr's value (empty when absent).
fn xattr(path: &Path, name: &str) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 64];
    // SAFETY: NUL-terminated strings and a buffer of buf.len() bytes.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    buf.truncate(usize::try_from(len).unwrap_or(0));
    buf
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(crate::filesystem::UPLOAD_SUFFIX))
        .collect()
}

pub(super) fn assert_no_temp_files(dir: &Path) {
    assert!(temp_files(dir).is_empty(), "{:?}", temp_files(dir));
}

#[tokio::test]
async fn interrupted_upload_keeps_the_old_file() {
    let (f, dir) = Files::new().await;
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("keep"), b"old").unwrap();
    let watch = root.clone();
    let saw_temp = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let saw = saw_temp.clone();
    // Sends a chunk, waits until the agent's temp file exists, then fails
    // the body, which aborts the request mid-stream.
    let body = futures_util::stream::unfold(0, move |step| {
        let (watch, saw) = (watch.clone(), saw.clone());
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(vec![b'n'; 64 * 1024]), 1)),
                1 => {
                    for _ in 0..500 {
                        if !temp_files(&watch).is_empty() {
                            saw.store(true, std::sync::atomic::Ordering::SeqCst);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Some((Err(std::io::Error::other("client gives up")), 2))
                }
                _ => None,
            }
        }
    });
    let req = f.post(Some("keep")).body(reqwest::Body::wrap_stream(body));
    assert!(req.send().await.is_err(), "the request was aborted");
    assert!(
        saw_temp.load(std::sync::atomic::Ordering::SeqCst),
        "the agent was mid-write"
    );
    for _ in 0..500 {
        if temp_files(&root).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_no_temp_files(&root);
    assert_eq!(std::fs::read(root.join("keep")).unwrap(), b"old");
}

#[tokio::test]
async fn signatures_and_strict_mode() {
    let (f, dir) = Files::new().await;
    let root = dir.path();
    std::fs::write(root.join("s.txt"), b"signed").unwrap();
    let url = format!("{}/files", f.base);
    let good = sign("s.txt", "read", "", "tok", None);
    let resp = f
        .http
        .get(&url)
        .query(&[("path", "s.txt"), ("signature", &good)])
        .send()
        .await;
    assert_eq!(resp.unwrap().text().await.unwrap(), "signed");
    let wrong = sign("s.txt", "write", "", "tok", None);
    let resp = f
        .http
        .get(&url)
        .query(&[("path", "s.txt"), ("signature", &wrong)])
        .send()
        .await;
    assert_eq!(resp.unwrap().status(), 401);
    let expired = sign("s.txt", "read", "", "tok", Some("1000"));
    let q = [
        ("path", "s.txt"),
        ("signature", &expired),
        ("signature_expiration", "1000"),
    ];
    let resp = f.http.get(&url).query(&q).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"code":401,"message":"signature is already expired"}"#
    );
    let up = sign("w.txt", "write", "user", "tok", Some("99999999999"));
    let q = [
        ("path", "w.txt"),
        ("username", "user"),
        ("signature", &up),
        ("signature_expiration", "99999999999"),
    ];
    let resp = f.http.post(&url).query(&q).body("w").send().await.unwrap();
    assert_eq!(resp.status(), 200);

    std::os::unix::fs::symlink("/etc", root.join("esc")).unwrap();
    let strict = |p: &str| f.get(p).header("x-sandboxd-root", root.to_str().unwrap());
    assert_eq!(strict("s.txt").send().await.unwrap().status(), 200);
    for bad in ["../s.txt", "/etc/hostname", "esc/hostname"] {
        let (s, v) = status_json(strict(bad).send().await.unwrap()).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    let req = f
        .post(Some("esc/new"))
        .header("x-sandboxd-root", root.to_str().unwrap());
    let (s, v) = status_json(req.body("x").send().await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("symlink"));
}
