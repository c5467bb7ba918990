//! The thin client: each subcommand is one HTTP request to a running `sandboxd serve`. Output is
//! the API's JSON, except `exec`, which streams the command's output and exits with its code,
//! `ps` (see `follow`), and `cp`, which streams files (see `copy`).

mod copy;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum ClientCmd {
    /// Create a sandbox.
    Create {
        #[arg(long = "port", short = 'p')]
        ports: Vec<u16>,
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        image: Option<String>,
        /// KEY=VALUE, repeatable.
        #[arg(long = "env", short = 'e')]
        env: Vec<String>,
        /// Command our init runs (and restarts) at every start.
        #[arg(long)]
        start: Option<String>,
        #[command(flatten)]
        api: Api,
    },
    /// List sandboxes.
    Ls {
        #[command(flatten)]
        api: Api,
    },
    /// Run a command in a sandbox, streaming its output: sandboxd exec ID -- CMD... (-it: in a
    /// terminal, attached)
    Exec {
        id: String,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
        #[arg(long)]
        timeout: Option<u64>,
        /// Attach stdin (with -t).
        #[arg(short = 'i', long)]
        interactive: bool,
        /// Run the command in a terminal (PTY) attached to this one.
        #[arg(short = 't', long)]
        tty: bool,
        #[command(flatten)]
        api: Api,
    },
    /// Open an interactive login shell in a sandbox (exit with `exit` or Ctrl-D).
    Shell {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// List the processes the sandbox's agent started (running and recently exited).
    Ps {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Stop a sandbox.
    Stop {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Start a sandbox.
    Start {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Delete a sandbox, keeping its workspace.
    Rm {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Delete a sandbox and its workspace.
    Purge {
        id: String,
        #[command(flatten)]
        api: Api,
    },
    /// Manage API keys (admin): create, ls, revoke.
    Keys {
        #[command(subcommand)]
        cmd: super::keys::KeysCmd,
    },
    /// Copy a file or directory into or out of a sandbox: sandboxd cp SRC DST, where exactly one
    /// side is ID:PATH (PATH relative to the sandbox's home; directories go as tar streams).
    Cp {
        src: String,
        dst: String,
        #[command(flatten)]
        api: Api,
    },
    /// Show what the sandbox's init and start command printed.
    Logs {
        id: String,
        #[arg(long, default_value_t = 200)]
        tail: usize,
        #[command(flatten)]
        api: Api,
    },
}

#[derive(clap::Args, Debug)]
pub struct Api {
    /// API base URL.
    #[arg(long, env = "SANDBOXD_API", default_value = "http://127.0.0.1:9090")]
    api: String,
    /// Token (admin or tenant key). Default: <data-dir>/api-token when readable.
    #[arg(long, env = "SANDBOXD_API_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data dir of the local sandboxd (where its generated admin token is read from).
    #[arg(long, env = "SANDBOXD_DATA_DIR", default_value = "/var/lib/sandboxd")]
    data_dir: std::path::PathBuf,
}

impl Api {
    /// The base URL, without a trailing slash.
    pub(super) fn base(&self) -> &str {
        self.api.trim_end_matches('/')
    }

    /// The token to send: the flag or env, else the data dir's admin token file.
    pub(super) fn token(&self) -> Option<String> {
        self.token
            .clone()
            .or_else(|| crate::admin_token::read(&self.data_dir))
    }

    /// A request to the API with the token, not yet sent.
    pub(super) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::RequestBuilder {
        let client = reqwest::Client::new();
        let mut req = client.request(
            method,
            format!("{}{}", self.api.trim_end_matches('/'), path),
        );
        if let Some(t) = &self.token() {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req
    }

    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let resp = self
            .request(method, path, body)
            .send()
            .await
            .with_context(|| format!("calling {}", self.api))?;
        let status = resp.status();
        let text = resp.text().await?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        };
        if !status.is_success() {
            let msg = value["error"]["message"].as_str().unwrap_or(&text);
            let code = value["error"]["code"].as_str().unwrap_or("error");
            bail!("{status} {code}: {msg}");
        }
        Ok(value)
    }
}

fn print(v: &Value) {
    if !v.is_null() {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    }
}

impl ClientCmd {
    pub async fn run(self) -> Result<i32> {
        use reqwest::Method;
        match self {
            ClientCmd::Create {
                ports,
                id,
                image,
                env,
                start,
                api,
            } => {
                let mut envs = serde_json::Map::new();
                for kv in env {
                    let (k, v) = kv.split_once('=').context("--env takes KEY=VALUE")?;
                    envs.insert(k.to_string(), json!(v));
                }
                let mut body = json!({"ports": ports, "env": envs});
                for (k, v) in [("id", id), ("image", image), ("start", start)] {
                    if let Some(v) = v {
                        body[k] = json!(v);
                    }
                }
                print(&api.call(Method::POST, "/v1/sandboxes", Some(body)).await?);
            }
            ClientCmd::Ls { api } => {
                let v = api.call(Method::GET, "/v1/sandboxes", None).await?;
                for s in v["sandboxes"].as_array().into_iter().flatten() {
                    println!(
                        "{:<28} {:<9} {}",
                        s["id"].as_str().unwrap_or(""),
                        s["status"].as_str().unwrap_or(""),
                        s["image"].as_str().unwrap_or("")
                    );
                }
            }
            ClientCmd::Shell { id, api } => return super::terminal::attach(&api, &id, None).await,
            ClientCmd::Exec {
                id,
                cmd,
                timeout,
                api,
                interactive,
                tty,
            } => {
                if tty {
                    if timeout.is_some() {
                        bail!("--timeout is not available with -t");
                    }
                    return super::terminal::attach(&api, &id, Some(&cmd)).await;
                }
                if interactive {
                    bail!("-i needs -t here (sandboxd exec -it ID -- CMD...)");
                }
                return super::follow::exec(&api, &id, cmd, timeout).await;
            }
            ClientCmd::Ps { id, api } => super::follow::ps(&api, &id).await?,
            ClientCmd::Stop { id, api } => print(
                &api.call(Method::POST, &format!("/v1/sandboxes/{id}/stop"), None)
                    .await?,
            ),
            ClientCmd::Start { id, api } => print(
                &api.call(Method::POST, &format!("/v1/sandboxes/{id}/start"), None)
                    .await?,
            ),
            ClientCmd::Rm { id, api } => print(
                &api.call(Method::DELETE, &format!("/v1/sandboxes/{id}"), None)
                    .await?,
            ),
            ClientCmd::Purge { id, api } => print(
                &api.call(
                    Method::DELETE,
                    &format!("/v1/sandboxes/{id}?purge=true"),
                    None,
                )
                .await?,
            ),
            ClientCmd::Keys { cmd } => cmd.run().await?,
            ClientCmd::Cp { src, dst, api } => copy::run(&api, &src, &dst).await?,
            ClientCmd::Logs { id, tail, api } => {
                let v = api
                    .call(
                        Method::GET,
                        &format!("/v1/sandboxes/{id}/logs?tail={tail}"),
                        None,
                    )
                    .await?;
                for l in v["lines"].as_array().into_iter().flatten() {
                    println!("{}", l["text"].as_str().unwrap_or(""));
                }
            }
        }
        Ok(0)
    }
}
