//! `sandboxd keys create|ls|revoke`: API key management through the running server's admin
//! routes (`/v1/keys`). The new key is printed once, on stdout, alone on its line; nothing else
//! ever shows it again.

use super::client::Api;
use anyhow::Result;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Issue a key: a tenant key (--tenant OWNER) or an admin key (--admin).
    Create {
        #[arg(long)]
        name: String,
        /// The tenant the key acts as: it sees only sandboxes it creates.
        #[arg(long, conflicts_with = "admin", required_unless_present = "admin")]
        tenant: Option<String>,
        /// An admin key (sees everything, manages keys, reads the audit log).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        api: Api,
    },
    /// List keys (no secrets).
    Ls {
        #[command(flatten)]
        api: Api,
    },
    /// Revoke a key by id; its next use is refused.
    Revoke {
        id: String,
        #[command(flatten)]
        api: Api,
    },
}

impl KeysCmd {
    pub async fn run(self) -> Result<()> {
        match self {
            KeysCmd::Create {
                name,
                tenant,
                admin,
                api,
            } => {
                let body = match (admin, tenant) {
                    (true, _) => json!({"name": name, "role": "admin"}),
                    (false, owner) => json!({"name": name, "role": "tenant", "owner": owner}),
                };
                let v = api.call(Method::POST, "/v1/keys", Some(body)).await?;
                eprintln!(
                    "created key {} ({}); it is shown this once:",
                    v["id"].as_str().unwrap_or(""),
                    v["role"].as_str().unwrap_or("")
                );
                println!("{}", v["key"].as_str().unwrap_or(""));
            }
            KeysCmd::Ls { api } => {
                let v = api.call(Method::GET, "/v1/keys", None).await?;
                for k in v["keys"].as_array().into_iter().flatten() {
                    let state = if k["revoked_at_ms"].is_null() {
                        "active"
                    } else {
                        "revoked"
                    };
                    println!(
                        "{:<22} {:<7} {:<16} …{} {:<8} {}",
                        k["id"].as_str().unwrap_or(""),
                        k["role"].as_str().unwrap_or(""),
                        k["owner"].as_str().unwrap_or("-"),
                        k["hint"].as_str().unwrap_or(""),
                        state,
                        k["name"].as_str().unwrap_or("")
                    );
                }
            }
            KeysCmd::Revoke { id, api } => {
                api.call(Method::DELETE, &format!("/v1/keys/{id}"), None)
                    .await?;
                println!("revoked {id}");
            }
        }
        Ok(())
    }
}
