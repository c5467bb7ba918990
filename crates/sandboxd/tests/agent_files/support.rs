//! Helpers of the files tests: calls relative to one sandbox's `/v1/sandboxes/{id}/`, raw tar
//! entries (hostile names included), an SSE reader for the watch, and bounded waits.

use futures_util::StreamExt;
use sandboxd_testkit::TestServer;
use serde_json::Value;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Files<'a> {
    pub s: &'a TestServer,
    pub id: String,
}

impl<'a> Files<'a> {
    pub async fn new(s: &'a TestServer, id: &str) -> Files<'a> {
        let id = s.create(&format!(r#"{{"id":"{id}"}}"#)).await.unwrap();
        Files { s, id }
    }

    pub fn request(&self, method: reqwest::Method, rel: &str) -> reqwest::RequestBuilder {
        let url = format!("{}/v1/sandboxes/{}/{rel}", self.s.api, self.id);
        self.s.client.request(method, url)
    }

    pub async fn call(&self, method: &str, rel: &str) -> (u16, Value) {
        self.s
            .call(method, &format!("/v1/sandboxes/{}/{rel}", self.id), None)
            .await
            .unwrap()
    }

    pub async fn json(&self, method: &str, rel: &str, body: &str) -> (u16, Value) {
        let path = format!("/v1/sandboxes/{}/{rel}", self.id);
        self.s.call(method, &path, Some(body)).await.unwrap()
    }

    pub async fn put(&self, rel: &str, body: Vec<u8>, content_type: &str) -> (u16, Value) {
        let resp = self
            .request(reqwest::Method::PUT, rel)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// (status, content type, body).
    pub async fn get(&self, rel: &str) -> (u16, String, Vec<u8>) {
        let resp = self
            .request(reqwest::Method::GET, rel)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ct, resp.bytes().await.unwrap().to_vec())
    }

    /// `ls -A` of the home, sorted.
    pub async fn home_listing(&self) -> Vec<String> {
        let (_, out, _) = self.s.sh(&self.id, "ls -A /home/sandbox").await.unwrap();
        let mut names: Vec<String> = out.lines().map(String::from).collect();
        names.sort();
        names
    }

    /// Opens a watch; its events arrive as `"<kind> <path>"` in the returned list.
    pub async fn watch(&self, rel: &str) -> Arc<Mutex<Vec<String>>> {
        let resp = self
            .request(reqwest::Method::GET, rel)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let out = seen.clone();
        tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            let mut text = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .map(str::trim)
                            .map(String::from)
                    };
                    if let (Some(kind), Some(data)) = (field("event:"), field("data:")) {
                        let v: Value = serde_json::from_str(&data).unwrap_or_default();
                        let path = v["path"].as_str().unwrap_or("").to_string();
                        out.lock().unwrap().push(format!("{kind} {path}"));
                    }
                }
            }
        });
        seen
    }
}

/// Bounded wait for `check` to give a value.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deterministic bytes for chunk `seed`.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One regular-file tar entry with its name written as given (hostile ones too).
pub fn raw_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

pub fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = entries.concat();
    out.extend_from_slice(&[0; 1024]);
    out
}

/// Sorted entry names, symlinks as `name -> target`.
pub fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let mut name = e
            .path()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        if let Some(link) = e.link_name().unwrap() {
            name = format!("{name} -> {}", link.display());
        }
        let mut sink = Vec::new();
        e.read_to_end(&mut sink).unwrap();
        names.push(name);
    }
    names.sort();
    names
}

/// Runs the `sandboxd` client binary against `api`; returns its exit code.
pub async fn cli(api: &str, args: impl IntoIterator<Item = String>) -> i32 {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sandboxd"))
        .args(args)
        .env("SANDBOXD_API", api)
        .output()
        .await
        .unwrap();
    if !out.status.success() {
        eprintln!("cli: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.code().unwrap_or(-1)
}
