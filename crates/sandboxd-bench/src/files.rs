//! Figure 10, files through the agent, and the agent's own footprint. Rule: a file of 1 MiB and
//! one of 100 MiB are written and read back through sandboxd's files API (streamed, atomic, via
//! the in-sandbox agent) and through `docker cp` (the Engine API's archive endpoint, a tar around
//! the file) into the workspace of a raw container of the same image, in alternating rounds; each
//! read is checked for the right length. The agent's idle RSS is read from /proc in a sandbox that
//! has done nothing since it started.

use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{ensure, Context, Result};
use bollard::container::{DownloadFromContainerOptions, UploadToContainerOptions};
use bytes::Bytes;
use futures_util::StreamExt;
use sandboxd_engine::container::HOME;
use std::time::{Duration, Instant};

const FILES: &str = "10. Files and the agent";
const MIB: usize = 1024 * 1024;

/// Bytes that do not compress (a cheap xorshift stream).
fn payload(len: usize) -> Bytes {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// A one-file tar named `name`.
fn tar_of(name: &str, data: &[u8]) -> Result<Bytes> {
    let mut b = tar::Builder::new(Vec::with_capacity(data.len() + 1024));
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(1000);
    h.set_gid(1000);
    h.set_cksum();
    b.append_data(&mut h, name, data)?;
    Ok(Bytes::from(b.into_inner()?))
}

async fn api_put(env: &Env, id: &str, data: &Bytes) -> Result<()> {
    let url = format!("{}/v1/sandboxes/{id}/files?path=bench.bin", env.api.base());
    env.api
        .client()
        .put(url)
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

async fn api_get(env: &Env, id: &str, len: usize) -> Result<()> {
    let url = format!("{}/v1/sandboxes/{id}/files?path=bench.bin", env.api.base());
    let mut resp = env.api.client().get(url).send().await?.error_for_status()?;
    let mut got = 0;
    while let Some(chunk) = resp.chunk().await? {
        got += chunk.len();
    }
    ensure!(got == len, "files API read {got} bytes, wrote {len}");
    Ok(())
}

async fn raw_put(env: &Env, name: &str, tar: &Bytes) -> Result<()> {
    let opts = UploadToContainerOptions {
        path: HOME,
        ..Default::default()
    };
    env.docker
        .upload_to_container(name, Some(opts), tar.clone())
        .await?;
    Ok(())
}

async fn raw_get(env: &Env, name: &str, len: usize) -> Result<()> {
    let path = format!("{HOME}/bench.bin");
    let opts = DownloadFromContainerOptions { path };
    let mut s = env.docker.download_from_container(name, Some(opts));
    let mut got = 0;
    while let Some(chunk) = s.next().await {
        got += chunk?.len();
    }
    // The tar holds the file plus a header and padding.
    ensure!(got >= len, "docker cp read {got} bytes, wrote {len}");
    Ok(())
}

async fn timed<F: std::future::Future<Output = Result<()>>>(op: F) -> Result<Duration> {
    let t = Instant::now();
    op.await.map(|()| t.elapsed())
}

/// Write and read figures for one size, on sandbox `id` and raw container `name`.
async fn transfer(env: &Env, id: &str, name: &str, mib: usize) -> Result<Vec<Figure>> {
    let len = mib * MIB;
    let data = payload(len);
    let tar = tar_of("bench.bin", &data)?;
    let rounds = if mib >= 100 {
        env.plan.n.min(5)
    } else {
        env.plan.n
    };
    let (mut ws, mut wr, mut rs, mut rr) =
        (Series::new(), Series::new(), Series::new(), Series::new());
    for i in 0..rounds + 1 {
        let ours_first = i % 2 == 0;
        for ours in [ours_first, !ours_first] {
            let (w, r) = if ours {
                let w = timed(api_put(env, id, &data)).await;
                (w, timed(api_get(env, id, len)).await)
            } else {
                let w = timed(raw_put(env, name, &tar)).await;
                (w, timed(raw_get(env, name, len)).await)
            };
            if i == 0 {
                continue; // warm-up round
            }
            if ours {
                ws.record("files API write", w);
                rs.record("files API read", r);
            } else {
                wr.record("docker cp write", w);
                rr.record("docker cp read", r);
            }
        }
    }
    let mibps = |s: &Series| mib as f64 / (s.summary().p50 / 1000.0);
    let write = Figure::new(FILES, format!("file_write_{mib}mib"), "ms", &ws, Some(&wr))
        .extra("mib_per_s", mibps(&ws))
        .extra("raw_mib_per_s", mibps(&wr))
        .note("PUT .../files (streamed to a temp file, renamed into place) vs docker cp in");
    let read = Figure::new(FILES, format!("file_read_{mib}mib"), "ms", &rs, Some(&rr))
        .extra("mib_per_s", mibps(&rs))
        .extra("raw_mib_per_s", mibps(&rr))
        .note("GET .../files (streamed) vs docker cp out (a tar of the file)");
    Ok(vec![write, read])
}

/// VmRSS (MiB) of the agent in sandbox `id`, read through exec.
async fn agent_rss(env: &Env, id: &str) -> Result<f64> {
    let script = "for p in /proc/[0-9]*; do \
                  [ \"$(readlink $p/exe)\" = /.sandboxd/agent ] && grep VmRSS $p/status; done";
    let url = format!("{}/v1/sandboxes/{id}/exec", env.api.base());
    let body = serde_json::json!({"cmd": ["sh", "-c", script]});
    let v: serde_json::Value = env
        .api
        .client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let out = v["stdout"].as_str().unwrap_or("");
    let kb: f64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no agent VmRSS in {out:?}"))?;
    Ok(kb / 1024.0)
}

/// Figure 10 on one plain sandbox and one plain raw container.
pub async fn files_and_agent(env: &Env) -> Result<Vec<Figure>> {
    let id = env.api.create(None).await?;
    let name = match env.raw.create(None).await {
        Ok(n) => n,
        Err(e) => {
            let _ = env.api.purge(&id).await;
            return Err(e);
        }
    };
    let result = async {
        // Read first: the agent has served nothing yet but this exec.
        let rss = agent_rss(env, &id).await?;
        let mut out = vec![
            Figure::new(FILES, "agent_rss_idle", "MiB", &Series::single(rss), None)
                .target("< 5 MiB", rss < 5.0)
                .note("VmRSS of the in-sandbox agent after one exec"),
        ];
        env.raw.start(&name).await?;
        for mib in [1, 100] {
            out.extend(transfer(env, &id, &name, mib).await?);
        }
        Ok(out)
    }
    .await;
    let _ = env.api.purge(&id).await;
    let _ = env.raw.remove(&name).await;
    result
}
