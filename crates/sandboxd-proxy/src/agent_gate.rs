//! The agent port is not a preview port. Rule: a preview request for port 49983 (the sandbox's
//! agent: processes, files, terminals) is forwarded only when it carries that sandbox's current
//! agent token in `X-Access-Token`, compared in constant time with the stored one; anything else
//! is refused with 401 before the engine resolves, wakes or counts anything. The agent checks
//! the token again, so this gate only keeps anonymous preview visitors from reaching it at all.

use crate::body::ProxyBody;
use crate::pages;
use hyper::{HeaderMap, Response, StatusCode};
use sandboxd_core::{ErrorCode, PreviewTarget};
use sandboxd_engine::{Engine, AGENT_PORT};

/// The header the agent reads its token from.
pub const TOKEN_HEADER: &str = "x-access-token";

/// `None` when the request may go on, else the refusal to answer with.
pub async fn check(
    engine: &Engine,
    target: &PreviewTarget,
    headers: &HeaderMap,
    html: bool,
) -> Option<Response<ProxyBody>> {
    if target.port != AGENT_PORT {
        return None;
    }
    let refuse = || {
        Some(pages::error(
            ErrorCode::Unauthorized,
            StatusCode::UNAUTHORIZED,
            "the agent port needs the sandbox's access token",
            html,
            None,
        ))
    };
    // Exactly one header: a second copy could be read differently by the agent.
    let mut presented = headers.get_all(TOKEN_HEADER).iter();
    let (Some(token), None) = (presented.next(), presented.next()) else {
        return refuse();
    };
    match engine.agent_token(&target.id).await {
        Ok(Some(stored)) if stored.matches(token.as_bytes()) => None,
        Ok(_) => refuse(),
        Err(e) => {
            tracing::warn!(error = %e, sandbox = %target.id, "agent token lookup failed");
            refuse()
        }
    }
}
