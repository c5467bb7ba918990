//! A minimal server-sent-events reader for tests: reads the response chunk by chunk as it
//! arrives (so a test sees an event while the stream is still open) and yields whole events;
//! comments (keepalives) are skipped.

use anyhow::{Context, Result};
use sandboxd_testkit::TestServer;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub event: String,
    pub id: Option<u64>,
    pub data: Value,
}

pub struct Sse {
    resp: reqwest::Response,
    buf: String,
    pub status: u16,
}

impl Sse {
    /// `GET path` with optional `Last-Event-ID`.
    pub async fn open(s: &TestServer, path: &str, last_id: Option<u64>) -> Result<Sse> {
        let mut req = s.client.get(format!("{}{}", s.api, path));
        if let Some(id) = last_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.context("request")?;
        Ok(Sse {
            status: resp.status().as_u16(),
            resp,
            buf: String::new(),
        })
    }

    /// The next event; `None` when the stream ended. Fails after `limit` without one.
    pub async fn next(&mut self, limit: Duration) -> Result<Option<Ev>> {
        tokio::time::timeout(limit, self.next_inner())
            .await
            .context("no event in time")?
    }

    async fn next_inner(&mut self) -> Result<Option<Ev>> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(ev) = parse(&block)? {
                    return Ok(Some(ev));
                }
                continue;
            }
            match self.resp.chunk().await? {
                Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                None => return Ok(None),
            }
        }
    }

    /// Every event until the stream ends (bounded by `limit` per event).
    pub async fn all(&mut self, limit: Duration) -> Result<Vec<Ev>> {
        let mut out = Vec::new();
        while let Some(ev) = self.next(limit).await? {
            out.push(ev);
        }
        Ok(out)
    }
}

fn parse(block: &str) -> Result<Option<Ev>> {
    let (mut event, mut id, mut data) = (String::from("message"), None, String::new());
    let mut any = false;
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        any = true;
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        let v = v.strip_prefix(' ').unwrap_or(v);
        match k {
            "event" => event = v.to_string(),
            "id" => id = Some(v.parse()?),
            "data" => data.push_str(v),
            _ => {}
        }
    }
    if !any {
        return Ok(None);
    }
    let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
    Ok(Some(Ev { event, id, data }))
}

/// The text of stdout events, concatenated.
pub fn stdout(evs: &[Ev]) -> String {
    evs.iter()
        .filter(|e| e.event == "stdout")
        .map(|e| e.data["text"].as_str().unwrap_or_default())
        .collect()
}
