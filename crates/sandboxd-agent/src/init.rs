//! `POST /init` rule: sandboxd (holding the token) may set extra
//! environment variables for every later process, the default working
//! directory and the default user; a different access token, another user or
//! a relative or missing workdir is refused with 400 and changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;

use crate::server::body::{self, Response};
use crate::state::Agent;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct InitRequest {
    #[serde(alias = "env_vars")]
    env_vars: BTreeMap<String, String>,
    #[serde(alias = "access_token")]
    access_token: Option<String>,
    #[serde(alias = "default_user")]
    default_user: Option<String>,
    #[serde(alias = "default_workdir")]
    default_workdir: Option<String>,
    /// Sent by E2B's orchestrator; accepted and ignored.
    #[allow(dead_code)]
    timestamp: Option<String>,
}

pub async fn serve(agent: Arc<Agent>, req: Request<Incoming>) -> Response {
    let bytes = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(err) => return body::http_error(StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
    };
    let init: InitRequest = if bytes.is_empty() {
        InitRequest::default()
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(init) => init,
            Err(err) => return body::http_error(StatusCode::BAD_REQUEST, err.to_string()),
        }
    };
    match apply(&agent, init) {
        Ok(()) => body::empty(StatusCode::NO_CONTENT),
        Err(msg) => body::http_error(StatusCode::BAD_REQUEST, msg),
    }
}

fn apply(agent: &Agent, init: InitRequest) -> Result<(), String> {
    if let Some(token) = &init.access_token {
        if !agent.token_matches(token.as_bytes()) {
            return Err(
                "the access token is set by sandboxd at create and cannot be changed through /init"
                    .into(),
            );
        }
    }
    if let Some(user) = &init.default_user {
        if !agent.identity.answers_to(user) {
            return Err(format!("default user {user:?} is not this sandbox's user"));
        }
    }
    for key in init.env_vars.keys() {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return Err(format!("invalid environment variable name {key:?}"));
        }
    }
    let workdir = match init.default_workdir.as_deref() {
        None | Some("") => None,
        Some(dir) => {
            let path = PathBuf::from(dir);
            if !path.is_absolute() || !path.is_dir() {
                return Err(format!(
                    "default workdir {dir:?} is not an existing absolute directory"
                ));
            }
            Some(path)
        }
    };
    let mut defaults = agent
        .defaults
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    defaults.envs.extend(init.env_vars);
    if workdir.is_some() {
        defaults.workdir = workdir;
    }
    Ok(())
}
