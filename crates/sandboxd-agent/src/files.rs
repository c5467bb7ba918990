//! `/files` rule: whole-file download (`GET`) and upload (`POST`) over plain
//! HTTP, as E2B's SDKs call them. A request is let in with the access token,
//! or — only when no token header is sent — with a valid E2B signature for
//! its path, operation (`read`/`write`) and user; a user named by
//! `username=` must be the sandbox's own. Paths go through the same
//! [`Resolver`] as the RPCs (strict mode with `x-sandboxd-root`). Errors
//! are `{"code":<status>,"message"}`: 400 bad path or wrong kind (also a
//! path through a symlink in strict mode), 401 token/signature, 403 user,
//! 404 missing, 507 disk full, 500 anything else.

pub mod download;
pub mod query;
pub mod upload;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use crate::connect::{Code, RpcError};
use crate::filesystem::path::Resolver;
use crate::server::auth::{self, TOKEN_HEADER};
use crate::server::body::{self, Response};
use crate::state::Agent;
use query::Query;

/// The plain-HTTP status for an RPC-style error.
pub fn status_of(err: &RpcError) -> StatusCode {
    match err.code {
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists => {
            StatusCode::BAD_REQUEST
        }
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::INSUFFICIENT_STORAGE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answer in `/files`' shape.
pub fn error(err: RpcError) -> Response {
    body::http_error(status_of(&err), err.message)
}

pub async fn serve(agent: Arc<Agent>, req: Request<Incoming>, token_ok: bool) -> Response {
    let query = match Query::parse(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(err) => return error(err.into()),
    };
    let op = match *req.method() {
        Method::GET => "read",
        Method::POST => "write",
        _ => return body::http_error(StatusCode::METHOD_NOT_ALLOWED, "/files takes GET or POST"),
    };
    if !token_ok {
        let header_sent = req.headers().contains_key(TOKEN_HEADER);
        if let Err(err) = query::check_signature(&agent, &query, op, header_sent) {
            return error(err);
        }
    }
    if let Err(err) = auth::check_user(&agent, query.username.as_deref()) {
        return body::http_error(StatusCode::FORBIDDEN, err.to_string());
    }
    let resolver = match Resolver::new(&agent, req.headers()) {
        Ok(r) => r,
        Err(err) => return error(err.into()),
    };
    if op == "read" {
        download::serve(resolver, query, req).await
    } else {
        upload::serve(resolver, query, req).await
    }
}

#[cfg(test)]
mod tests;
