//! Helpers for integration tests and the bench: the tiny test image (busybox, a `bash` shim and
//! our fixture server at `/usr/local/bin/sandboxd-fixture`), and a private control plane
//! (own instance name, data dir, loopback port) that removes every container, network and
//! directory it made when dropped — even when the test panics.
//!
//! Rule of the crate: it is where test payload lives (the embedded fixture binary, see
//! [`fixture`]), so it is only ever a dev-dependency of `sandboxd` (and a dependency of the
//! `sandboxd-bench` binary); the release `sandboxd` binary never links it. It runs `sandboxd`'s
//! own `serve` in-process, hence it depends on the `sandboxd` library.

pub mod dexec;
pub mod fixture;
pub mod ws;

use anyhow::{Context, Result};
use bollard::container::ListContainersOptions;
use bollard::Docker;
use sandboxd::serve::{self, Running, ServeConfig};
use sandboxd_image::ensure_test_image;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Tag of the busybox image tests run sandboxes from.
pub const TEST_IMAGE: &str = "sandboxd-test:latest";

/// Create body for a sandbox whose start command serves the fixture app on port 3000.
pub const FIXTURE_APP: &str = r#"{"ports":[3000],"start":"exec sandboxd-fixture 3000"}"#;

/// `bash` for images without it: enough for `bash -lc '...'` in the brief's quick start.
const BASH_SHIM: &str = "#!/bin/sh\nexec /bin/sh \"$@\"\n";

static IMAGE: OnceCell<()> = OnceCell::const_new();

pub async fn docker() -> Result<Docker> {
    Ok(Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?)
}

/// Build (once per process; a no-op when current) the test image.
pub async fn test_image() -> Result<&'static str> {
    IMAGE
        .get_or_try_init(|| async {
            let dir =
                std::env::temp_dir().join(format!("sandboxd-testimage-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let shim = dir.join("bash");
            std::fs::write(&shim, BASH_SHIM)?;
            std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
            let fixture = crate::fixture::write_fixture(&dir)?;
            let docker = docker().await?;
            let files = [
                (shim, "/bin/bash"),
                (fixture, "/usr/local/bin/sandboxd-fixture"),
            ];
            let result = ensure_test_image(&docker, TEST_IMAGE, &files).await;
            let _ = std::fs::remove_dir_all(&dir);
            result
        })
        .await?;
    Ok(TEST_IMAGE)
}

/// A private sandboxd for one test.
pub struct TestServer {
    pub running: Option<Running>,
    pub api: String,
    pub api_addr: SocketAddr,
    pub instance: String,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

impl TestServer {
    /// Defaults for tests: test image, small limits, short grace.
    pub fn config(data_dir: &Path) -> ServeConfig {
        let mut cfg = ServeConfig::defaults();
        cfg.data_dir = data_dir.to_path_buf();
        cfg.instance = format!("t{:08x}", rand_u32());
        cfg.api_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        cfg.preview_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        cfg.image = TEST_IMAGE.to_string();
        cfg.build_image = false;
        cfg.limits.default.memory_mb = 256;
        cfg.limits.default.cpus = 0.5;
        cfg.limits.default.pids = 256;
        cfg.limits.default.tmp_mb = 64;
        cfg.reconcile_interval = Duration::from_secs(5);
        cfg
    }

    pub async fn start() -> Result<Self> {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Result<Self> {
        test_image().await?;
        let data = tempfile::tempdir()?;
        let mut cfg = Self::config(data.path());
        adjust(&mut cfg);
        Self::start_in(data, cfg).await
    }

    /// Start on an existing data dir and config (used to restart a server).
    pub async fn start_in(data: tempfile::TempDir, cfg: ServeConfig) -> Result<Self> {
        // Without an explicit token, a server that requires one uses its generated token file.
        let needs_file = cfg.require_token || !cfg.api_addr.ip().is_loopback();
        let explicit = cfg.api_token.clone();
        let instance = cfg.instance.clone();
        let running = serve::start(cfg).await?;
        let token = explicit.or_else(|| {
            needs_file
                .then(|| sandboxd::admin_token::read(data.path()))
                .flatten()
        });
        let api_addr = running.api_addr;
        let host = if api_addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], api_addr.port()))
        } else {
            api_addr
        };
        Ok(Self {
            running: Some(running),
            api: format!("http://{host}"),
            api_addr,
            instance,
            data,
            client: reqwest::Client::new(),
            token,
        })
    }

    /// Stop the control plane but keep its data and sandboxes (to restart it).
    pub async fn stop_keep(mut self) -> (tempfile::TempDir, String) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        // Test support only: a machine that cannot make a temp dir cannot run the tests at all.
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().expect("tempdir"));
        let instance = std::mem::take(&mut self.instance);
        (data, instance)
    }

    pub fn workspaces(&self) -> PathBuf {
        self.data.path().join("workspaces")
    }

    /// The engine's name for a sandbox's container (a keyed hash of the id: see
    /// `sandboxd_engine::container::NameKey`).
    pub fn container_name(&self, id: &str) -> String {
        // Test support: the server made the key at start, so a missing key is a broken test.
        let key = sandboxd_engine::container::NameKey::load(self.data.path())
            .expect("the server's name key");
        sandboxd_engine::container::name(&key, &self.instance, id)
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics_text(&self) -> Result<String> {
        Ok(self
            .client
            .get(format!("{}/metrics", self.api))
            .send()
            .await?
            .text()
            .await?)
    }

    /// The value of one series in `GET /metrics` (`series` is the name with its labels, as
    /// printed); 0 when absent.
    pub async fn metric(&self, series: &str) -> Result<f64> {
        Ok(self
            .metrics_text()
            .await?
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0))
    }

    /// Send a request; returns (status, parsed JSON body or Null).
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.client.request(method, format!("{}{}", self.api, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.context("request")?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// Create a sandbox and return its id (panics with the body on failure: test helper).
    pub async fn create(&self, body: &str) -> Result<String> {
        let (status, v) = self.call("POST", "/v1/sandboxes", Some(body)).await?;
        anyhow::ensure!(status == 201, "create failed: {status} {v}");
        Ok(v["id"].as_str().context("id")?.to_string())
    }

    /// Run a shell command in a sandbox; returns (exit code, stdout, stderr).
    pub async fn sh(&self, id: &str, script: &str) -> Result<(i64, String, String)> {
        let body = serde_json::json!({"cmd": ["sh", "-c", script]}).to_string();
        let (status, v) = self
            .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(&body))
            .await?;
        anyhow::ensure!(status == 200, "exec failed: {status} {v}");
        Ok((
            v["exit_code"].as_i64().unwrap_or(-1),
            v["stdout"].as_str().unwrap_or("").to_string(),
            v["stderr"].as_str().unwrap_or("").to_string(),
        ))
    }

    /// Containers of this installation, by name.
    pub async fn containers(&self) -> Result<Vec<String>> {
        containers_of(&self.instance).await
    }
}

pub async fn containers_of(instance: &str) -> Result<Vec<String>> {
    let docker = docker().await?;
    let opts = ListContainersOptions {
        all: true,
        filters: HashMap::from([(
            "label".to_string(),
            vec![format!("io.sandboxd.instance={instance}")],
        )]),
        ..Default::default()
    };
    Ok(docker
        .list_containers(Some(opts))
        .await?
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
        .map(|n| n.trim_start_matches('/').to_string())
        .collect())
}

/// Remove every container and the network of an installation (see [`sandboxd::uninstall`]).
pub async fn remove_instance(instance: &str) -> Result<()> {
    sandboxd::uninstall::remove_from_engine(instance, sandboxd::uninstall::Whose::Any).await?;
    Ok(())
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.instance.is_empty() {
            return;
        }
        let instance = self.instance.clone();
        let data_dir = self.data.path().to_path_buf();
        // The server's tasks live on the runtime this drop blocks: abort them, never await them.
        if let Some(r) = self.running.take() {
            r.abort();
        }
        // Drop may run inside a runtime that is shutting down: clean up on a fresh one.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Err(e) = remove_instance(&instance).await {
                    eprintln!("testkit: cleanup of {instance} failed: {e:#}");
                }
                // Its containers are gone: release the workspaces' mounts before the data dir
                // is deleted.
                if let Err(e) = sandboxd::workspaces::unmount_all(&data_dir) {
                    eprintln!("testkit: unmounting workspaces of {instance} failed: {e:#}");
                }
            });
        })
        .join();
    }
}

/// A random-enough number for unique instance names (tests and the bench).
pub fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

impl TestServer {
    /// The Host header of a sandbox port's preview URL.
    pub fn preview_host(&self, id: &str, port: u16) -> String {
        format!("s-{id}-{port}.preview.localhost")
    }

    /// A request to the preview listener for `id:port` (Host header set, no auth).
    pub fn preview(
        &self,
        method: reqwest::Method,
        id: &str,
        port: u16,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let addr = self
            .running
            .as_ref()
            .map(|r| r.preview_addr)
            .unwrap_or(self.api_addr);
        self.client
            .request(method, format!("http://{addr}{path}"))
            .header("host", self.preview_host(id, port))
    }

    pub fn preview_addr(&self) -> SocketAddr {
        self.running
            .as_ref()
            .map(|r| r.preview_addr)
            .unwrap_or(self.api_addr)
    }
}
