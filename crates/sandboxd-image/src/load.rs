//! Turning a root filesystem tar into a tagged image. The rule it owns: an image we make is one
//! layer plus an image config we write ourselves, streamed to the engine's image-load endpoint
//! (bollard `import_image_stream`, i.e. `docker load`) as a `docker save` archive — so a 500 MB
//! rootfs never sits in memory, the config needs no `--change` parsing, and equal inputs give
//! an equal image ID (the ID is the sha256 of the config JSON).
//!
//! bollard's `import_image` is `docker load`, not `docker import`; `create_image` with `fromSrc`
//! would be `docker import` but takes the whole tar as one in-memory body.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context as _, Result};
use bollard::image::ImportImageOptions;
use bollard::Docker;
use bytes::Bytes;
use futures_util::{stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::progress::Progress;
#[cfg(test)]
use super::recipe::rfc3339;
use super::recipe::ImageSpec;

/// Where the layer tar comes from.
pub(crate) enum Layer {
    File(PathBuf),
    Bytes(Bytes),
}

/// What goes into the image config besides the layer.
pub(crate) struct ImageMeta {
    pub tag: String,
    pub spec: ImageSpec,
    pub created: String,
    pub created_by: String,
}

const CHUNK: usize = 256 * 1024;

/// Load `layer` as image `meta.tag`; returns the image ID (`sha256:...`).
pub(crate) async fn load_layer(
    docker: &Docker,
    layer: Layer,
    meta: ImageMeta,
    progress: &Progress<'_>,
) -> Result<String> {
    let tag = normalize_tag(&meta.tag);
    let (size, source) = match layer {
        Layer::File(path) => {
            let file = tokio::fs::File::open(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            (file.metadata().await?.len(), Source::File(file))
        }
        Layer::Bytes(b) => (b.len() as u64, Source::Bytes(Some(b))),
    };
    let sent = Arc::new(AtomicU64::new(0));
    let failure = Arc::new(Mutex::new(None::<String>));
    let image_id = Arc::new(Mutex::new(None::<String>));
    let st = State {
        part: Part::Head,
        source,
        size,
        seen: 0,
        sent: sent.clone(),
        hasher: Sha256::new(),
        meta: ImageMeta {
            tag: tag.clone(),
            ..meta
        },
        failure: failure.clone(),
        image_id: image_id.clone(),
    };
    let body = stream::unfold(st, |mut st| async move { st.next().await.map(|b| (b, st)) });
    let mut responses = docker.import_image_stream(ImportImageOptions { quiet: true }, body, None);
    let mut result = Ok(());
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(5));
    ticker.tick().await;
    loop {
        let item = tokio::select! {
            item = responses.next() => item,
            _ = ticker.tick() => {
                let mb = sent.load(Ordering::Relaxed) / 1_000_000;
                progress.step(format!("docker load: {mb} of {} MB sent", size / 1_000_000));
                continue;
            }
        };
        match item {
            Some(Ok(info)) => {
                let msg = info.stream.as_deref().map(str::trim).unwrap_or_default();
                if !msg.is_empty() {
                    progress.step(format!("docker load: {msg}"));
                }
            }
            Some(Err(e)) => result = Err(anyhow!(e)),
            None => break,
        }
    }
    // A read error on our side shows up at the engine as a truncated archive: report ours.
    if let Some(err) = lock(&failure).take() {
        return Err(anyhow!("reading the layer tar: {err}"));
    }
    result.with_context(|| format!("loading image {tag}"))?;
    let id = lock(&image_id)
        .take()
        .ok_or_else(|| anyhow!("image load of {tag} ended early"))?;
    Ok(id)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update of a plain Option.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Source {
    File(tokio::fs::File),
    Bytes(Option<Bytes>),
}

enum Part {
    Head,
    Body,
    Tail,
    Done,
}

struct State {
    part: Part,
    source: Source,
    size: u64,
    seen: u64,
    sent: Arc<AtomicU64>,
    hasher: Sha256,
    meta: ImageMeta,
    failure: Arc<Mutex<Option<String>>>,
    image_id: Arc<Mutex<Option<String>>>,
}

impl State {
    /// The next chunk of the `docker save` archive: layer.tar, config.json, manifest.json.
    async fn next(&mut self) -> Option<Bytes> {
        match self.part {
            Part::Head => {
                self.part = Part::Body;
                Some(Bytes::from(entry_header("layer.tar", self.size)))
            }
            Part::Body => match self.read_chunk().await {
                Ok(Some(chunk)) => {
                    self.hasher.update(&chunk);
                    self.seen += chunk.len() as u64;
                    self.sent.store(self.seen, Ordering::Relaxed);
                    Some(chunk)
                }
                Ok(None) if self.seen == self.size => {
                    self.part = Part::Tail;
                    Some(Bytes::from(vec![0u8; padding(self.size)]))
                }
                Ok(None) => self.fail(format!(
                    "layer is {} bytes, expected {}",
                    self.seen, self.size
                )),
                Err(e) => self.fail(e.to_string()),
            },
            Part::Tail => {
                self.part = Part::Done;
                let diff_id = format!("sha256:{:x}", std::mem::take(&mut self.hasher).finalize());
                let config = image_config_json(&self.meta, &diff_id);
                *lock(&self.image_id) = Some(format!("sha256:{:x}", Sha256::digest(&config)));
                let manifest = serde_json::json!([{
                    "Config": "config.json",
                    "RepoTags": [self.meta.tag],
                    "Layers": ["layer.tar"],
                }]);
                let mut out = Vec::new();
                for (name, body) in [
                    ("config.json", config),
                    ("manifest.json", manifest.to_string().into_bytes()),
                ] {
                    out.extend(entry_header(name, body.len() as u64));
                    out.extend(&body);
                    out.resize(out.len() + padding(body.len() as u64), 0);
                }
                out.resize(out.len() + 1024, 0);
                Some(Bytes::from(out))
            }
            Part::Done => None,
        }
    }

    async fn read_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        match &mut self.source {
            Source::Bytes(b) => Ok(b.take()),
            Source::File(f) => {
                let mut buf = vec![0u8; CHUNK];
                let n = f.read(&mut buf).await?;
                buf.truncate(n);
                Ok((n > 0).then(|| Bytes::from(buf)))
            }
        }
    }

    fn fail(&mut self, err: String) -> Option<Bytes> {
        *lock(&self.failure) = Some(err);
        self.part = Part::Done;
        None
    }
}

fn entry_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    // Names here are short ASCII constants, which always fit a tar header.
    h.set_path(name)
        .unwrap_or_else(|e| unreachable!("tar name {name}: {e}"));
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn padding(size: u64) -> usize {
    ((512 - size % 512) % 512) as usize
}

/// The image config JSON (`docker inspect` shows its `config` part as `Config`).
pub(crate) fn image_config_json(meta: &ImageMeta, diff_id: &str) -> Vec<u8> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "created": meta.created,
        "config": meta.spec.container_config(),
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": meta.created, "created_by": meta.created_by }],
    })
    .to_string()
    .into_bytes()
}

/// `name` with `:latest` added when it has no tag (image load insists on `name:tag`).
pub(crate) fn normalize_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_get_latest() {
        assert_eq!(
            normalize_tag("sandboxd-test/busybox"),
            "sandboxd-test/busybox:latest"
        );
        assert_eq!(normalize_tag("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(normalize_tag("sandboxd/default:v2"), "sandboxd/default:v2");
    }

    #[test]
    fn config_json_is_deterministic_and_complete() {
        let meta = ImageMeta {
            tag: "t:latest".into(),
            spec: ImageSpec::default_image(),
            created: rfc3339(0),
            created_by: "test".into(),
        };
        let a = image_config_json(&meta, "sha256:00");
        assert_eq!(a, image_config_json(&meta, "sha256:00"));
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["rootfs"]["diff_ids"][0], "sha256:00");
        assert_eq!(v["config"]["User"], "1000:1000");
        assert_eq!(padding(512), 0);
        assert_eq!(padding(513), 511);
    }
}
