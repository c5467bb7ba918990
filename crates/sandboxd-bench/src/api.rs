//! Rule: every call the bench makes to the sandboxd API goes through here, over one keep-alive
//! client (as a real caller would), and anything but the expected status is an error carrying
//! the status and body. An exec counts only when the command really ran and exited 0.

use anyhow::{bail, Context, Result};
use reqwest::{Client, Method};
use serde_json::Value;
use std::time::Duration;

#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    instance: String,
    /// The child's data dir (its name key says what its containers are called).
    data_dir: std::path::PathBuf,
}

impl Api {
    pub fn new(base: &str, instance: &str, data_dir: &std::path::Path) -> Result<Self> {
        let client = Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Api {
            client,
            base: base.to_string(),
            instance: instance.to_string(),
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The API's base URL (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn call(&self, method: Method, path: &str, body: Option<String>) -> Result<(u16, Value)> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    async fn call_expecting(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        want: u16,
    ) -> Result<Value> {
        let (status, v) = self.call(method.clone(), path, body).await?;
        if status != want {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }

    /// `POST /v1/keys`: a tenant key (`e2b_` + hex) for E2B SDK clients. Returns the key.
    pub async fn create_key(&self, name: &str) -> Result<String> {
        let body = serde_json::json!({"name": name, "role": "tenant", "owner": name}).to_string();
        let v = self
            .call_expecting(Method::POST, "/v1/keys", Some(body), 201)
            .await?;
        Ok(v["key"]
            .as_str()
            .context("no key in the answer")?
            .to_string())
    }

    /// `POST /v1/sandboxes`; `None` sends an empty body. Returns the id.
    pub async fn create(&self, body: Option<&str>) -> Result<String> {
        let v = self
            .call_expecting(Method::POST, "/v1/sandboxes", body.map(str::to_string), 201)
            .await?;
        Ok(v["id"]
            .as_str()
            .context("create answered without an id")?
            .to_string())
    }

    /// `POST .../exec` of `["true"]`, which must exit 0.
    pub async fn exec_true(&self, id: &str) -> Result<()> {
        let body = r#"{"cmd":["true"]}"#.to_string();
        let v = self
            .call_expecting(
                Method::POST,
                &format!("/v1/sandboxes/{id}/exec"),
                Some(body),
                200,
            )
            .await?;
        match v["exit_code"].as_i64() {
            Some(0) => Ok(()),
            other => bail!("exec of true in {id} exited with {other:?}: {v}"),
        }
    }

    pub async fn stop(&self, id: &str) -> Result<()> {
        self.call_expecting(Method::POST, &format!("/v1/sandboxes/{id}/stop"), None, 200)
            .await
            .map(drop)
    }

    /// `POST .../freeze`, retried (bounded) while the last request's connection still holds
    /// the sandbox (409 until the proxy has seen the client close it).
    pub async fn freeze(&self, id: &str) -> Result<()> {
        let path = format!("/v1/sandboxes/{id}/freeze");
        let started = std::time::Instant::now();
        loop {
            let (status, v) = self.call(Method::POST, &path, None).await?;
            match status {
                200 => return Ok(()),
                409 if started.elapsed() < std::time::Duration::from_secs(5) => {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await
                }
                _ => bail!("POST {path}: {status} {v}"),
            }
        }
    }

    pub async fn start(&self, id: &str) -> Result<()> {
        self.call_expecting(
            Method::POST,
            &format!("/v1/sandboxes/{id}/start"),
            None,
            200,
        )
        .await
        .map(drop)
    }

    /// Remove container and workspace.
    pub async fn purge(&self, id: &str) -> Result<()> {
        let (status, v) = self
            .call(
                Method::DELETE,
                &format!("/v1/sandboxes/{id}?purge=true"),
                None,
            )
            .await?;
        if !(200..300).contains(&status) {
            bail!("purge of {id}: {status} {v}");
        }
        Ok(())
    }

    /// The engine name of a sandbox's container.
    pub fn container(&self, id: &str) -> Result<String> {
        use sandboxd_engine::container::{name, NameKey};
        let key = NameKey::load(&self.data_dir).context("reading sandboxd's name key")?;
        Ok(name(&key, &self.instance, id))
    }

    /// The network sandboxd put its containers on.
    pub fn network(&self) -> String {
        format!("sandboxd-{}", self.instance)
    }

    /// The Host header of a sandbox port's preview URL.
    pub fn preview_host(id: &str, port: u16) -> String {
        format!("s-{id}-{port}.preview.localhost")
    }
}
