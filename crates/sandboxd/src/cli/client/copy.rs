//! `sandboxd cp SRC DST`: exactly one side is `ID:PATH` (PATH relative to the sandbox's home,
//! empty = the home). A file streams as is (`PUT`/`GET …/files`); a directory — detected, no
//! `-r` — streams as a tar built or unpacked on a blocking thread (`…/files/archive`), so
//! neither side ever holds a whole file or tree in memory. Like `cp`, a destination that is an
//! existing directory receives the source under its own name.

use super::Api;
use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// One side of a copy.
#[derive(Debug, PartialEq, Eq)]
enum Side {
    Local(PathBuf),
    Remote { id: String, path: String },
}

/// `ID:PATH` when the part before the first `:` is non-empty and has no `/`; a local path
/// otherwise (write `./a:b` for a local file with a colon).
fn side(arg: &str) -> Side {
    match arg.split_once(':') {
        Some((id, path)) if !id.is_empty() && !id.contains('/') => Side::Remote {
            id: id.to_string(),
            path: path.to_string(),
        },
        _ => Side::Local(PathBuf::from(arg)),
    }
}

pub async fn run(api: &Api, src: &str, dst: &str) -> Result<()> {
    match (side(src), side(dst)) {
        (Side::Remote { id, path }, Side::Local(to)) => download(api, &id, &path, &to).await,
        (Side::Local(from), Side::Remote { id, path }) => upload(api, &from, &id, &path).await,
        _ => bail!("exactly one of SRC and DST must be ID:PATH"),
    }
}

/// The response, or the API's error envelope as an error.
async fn check(resp: reqwest::Response) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("error");
    bail!(
        "{status} {code}: {}",
        v["error"]["message"].as_str().unwrap_or("")
    )
}

/// The last component of a remote path (the sandbox id for the home itself).
fn base_name<'a>(path: &'a str, id: &'a str) -> &'a str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != ".")
        .unwrap_or(id)
}

async fn download(api: &Api, id: &str, path: &str, to: &Path) -> Result<()> {
    let files = format!("/v1/sandboxes/{id}/files");
    let mut resp = check(
        api.request(Method::GET, &files, None)
            .query(&[("path", path)])
            .send()
            .await?,
    )
    .await?;
    let is_dir = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let target = if to.is_dir() {
        to.join(base_name(path, id))
    } else {
        to.to_path_buf()
    };
    if !is_dir {
        let mut file = tokio::fs::File::create(&target)
            .await
            .with_context(|| format!("creating {}", target.display()))?;
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            file.write_all(&chunk).await?;
            bytes += chunk.len() as u64;
        }
        file.flush().await?;
        eprintln!("{id}:{path} -> {} ({bytes} bytes)", target.display());
        return Ok(());
    }
    drop(resp);
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let resp = api
        .request(Method::GET, &format!("{files}/archive"), None)
        .query(&[("path", path)])
        .send()
        .await?;
    let mut chunks = check(resp).await?.bytes_stream();
    let (tx, rx) = mpsc::channel::<Option<Bytes>>(8);
    let dir = target.clone();
    let unpack = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            chunk: Bytes::new(),
        };
        tar::Archive::new(reader).unpack(&dir)
    });
    let mut clean = true;
    while let Some(chunk) = chunks.next().await {
        let sent = match chunk {
            Ok(c) => tx.send(Some(c)).await.is_ok(),
            Err(_) => false,
        };
        if !sent {
            clean = false;
            break;
        }
    }
    if clean {
        let _ = tx.send(None).await;
    }
    drop(tx);
    unpack
        .await?
        .with_context(|| format!("unpacking into {}", target.display()))?;
    eprintln!("{id}:{path} -> {}", target.display());
    Ok(())
}

async fn upload(api: &Api, from: &Path, id: &str, path: &str) -> Result<()> {
    let meta = std::fs::metadata(from).with_context(|| format!("reading {}", from.display()))?;
    let name = from
        .file_name()
        .and_then(|n| n.to_str())
        .context("the source names no file")?;
    let files = format!("/v1/sandboxes/{id}/files");
    // Into an existing remote directory: under the source's name.
    let probe = api
        .request(Method::GET, &files, None)
        .query(&[("path", path)])
        .send()
        .await?;
    let into_dir = path.trim_matches('/').is_empty()
        || (probe.status().is_success()
            && probe
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("application/json")));
    drop(probe);
    let remote = match (into_dir, path.trim_matches('/')) {
        (true, "") => name.to_string(),
        (true, dir) => format!("{dir}/{name}"),
        (false, _) => path.to_string(),
    };
    let (route, content_type, body) = if meta.is_dir() {
        let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let dir = from.to_path_buf();
        tokio::task::spawn_blocking(move || write_tar(&dir, tx));
        let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        (
            format!("{files}/archive"),
            "application/x-tar",
            reqwest::Body::wrap_stream(chunks),
        )
    } else {
        let file = tokio::fs::File::open(from).await?;
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        (
            files,
            "application/octet-stream",
            reqwest::Body::wrap_stream(chunks),
        )
    };
    let resp = api
        .request(Method::PUT, &route, None)
        .query(&[("path", remote.as_str())])
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await?;
    let v: serde_json::Value = check(resp).await?.json().await?;
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(())
}

/// Tars `dir` (symlinks as symlinks) into `tx`; an error is sent last, aborting the upload.
fn write_tar(dir: &Path, tx: mpsc::Sender<io::Result<Bytes>>) {
    let mut out = ChannelWriter {
        tx: tx.clone(),
        buf: Vec::new(),
    };
    let result = {
        let mut builder = tar::Builder::new(&mut out);
        builder.follow_symlinks(false);
        builder
            .append_dir_all("", dir)
            .and_then(|()| builder.finish())
    };
    if let Err(e) = result.and_then(|()| out.flush()) {
        let _ = tx.blocking_send(Err(e));
    }
}

struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 256 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

/// Reads forwarded chunks; `None` is the clean end, a dropped sender a cut-short download.
struct ChannelReader {
    rx: mpsc::Receiver<Option<Bytes>>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Some(c)) => self.chunk = c,
                Some(None) => return Ok(0),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "download cut short",
                    ))
                }
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_and_names() {
        let remote = |id: &str, path: &str| Side::Remote {
            id: id.into(),
            path: path.into(),
        };
        assert_eq!(side("sb1:src/a.txt"), remote("sb1", "src/a.txt"));
        assert_eq!(side("sb1:"), remote("sb1", ""));
        assert_eq!(side("./a:b"), Side::Local("./a:b".into()));
        assert_eq!(side("/tmp/x"), Side::Local("/tmp/x".into()));
        assert_eq!(base_name("src/dir/", "sb1"), "dir");
        assert_eq!(base_name("", "sb1"), "sb1");
    }
}
