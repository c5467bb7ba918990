//! The agent port is not a preview port. Rule: a preview request for port 49983 (the sandbox's
//! agent: processes, files, terminals) is forwarded only when it carries that sandbox's current
//! agent token in `X-Access-Token`, compared in constant time with the stored one; anything else
//! is refused with 401 before the engine resolves, wakes or counts anything. The agent checks
//! the token again, so this gate only keeps anonymous preview visitors from reaching it at all.
//! A request routed the E2B way to a sandbox that holds no token (unknown, or deleted: the
//! token dies with the record) gets E2B's "was not found" 502 instead, as E2B's proxy answers.

use crate::body::ProxyBody;
use crate::target::{Dialect, Routed};
use crate::{e2b, pages};
use hyper::{HeaderMap, Response, StatusCode};
use sandboxd_core::ErrorCode;
use sandboxd_engine::{Engine, AGENT_PORT};

/// The header the agent reads its token from.
pub const TOKEN_HEADER: &str = "x-access-token";

/// `None` when the request may go on, else the refusal to answer with.
pub async fn check(
    engine: &Engine,
    routed: &Routed,
    headers: &HeaderMap,
    html: bool,
) -> Option<Response<ProxyBody>> {
    let target = &routed.target;
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
        Ok(None) if routed.dialect == Dialect::E2b => Some(e2b::not_found(&target.id)),
        Ok(_) => refuse(),
        Err(e) => {
            tracing::warn!(error = %e, sandbox = %target.id, "agent token lookup failed");
            refuse()
        }
    }
}
