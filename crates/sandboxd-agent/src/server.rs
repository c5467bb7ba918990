//! Server rule: one hyper HTTP/1.1 server on the container's interfaces;
//! `GET /health` is the only route served without the access token, every
//! other request is authenticated (and its named user checked) before any
//! handler runs, then routed by path: Connect RPCs under
//! `/process.Process/` and `/filesystem.Filesystem/`, plain HTTP at
//! `/files`, `/archive` and `/init`. Nothing is done for a refused request.

pub mod auth;
pub mod body;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::connect::{self, Code, RpcError};
use crate::state::Agent;
use crate::{archive, files, filesystem, init, process};
use body::Response;

/// Serves `listener` forever; each connection runs in its own task.
pub async fn serve(listener: TcpListener, agent: Arc<Agent>) -> std::io::Result<()> {
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(conn) => conn,
            Err(err) => {
                // Out of descriptors or similar: back off briefly, keep serving.
                eprintln!("sandboxd-agent: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let agent = agent.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let agent = agent.clone();
                async move { Ok::<_, Infallible>(route(agent, req).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Which kind of caller error to shape: Connect JSON or plain HTTP JSON.
fn refuse(rpc: bool, code: Code, message: String) -> Response {
    if rpc {
        let err = RpcError::new(code, message);
        body::full(code.http_status(), "application/json", err.to_json())
    } else {
        body::http_error(code.http_status(), message)
    }
}

/// Authenticates then dispatches one request.
pub async fn route(agent: Arc<Agent>, req: Request<Incoming>) -> Response {
    let path = req.uri().path().to_string();
    if path == "/health" && req.method() == Method::GET {
        return body::empty(StatusCode::NO_CONTENT);
    }
    let rpc = path.starts_with("/process.Process/") || path.starts_with("/filesystem.Filesystem/");
    if !agent.has_token() {
        return refuse(
            rpc,
            Code::Unavailable,
            "the agent was started without an access token; only /health is served".into(),
        );
    }
    let token_ok = auth::token_ok(&agent, req.headers());
    if path == "/files" {
        // /files may instead carry an E2B signature; files::serve checks it.
        return files::serve(agent, req, token_ok).await;
    }
    if !token_ok {
        return refuse(
            rpc,
            Code::Unauthenticated,
            "missing or wrong X-Access-Token".into(),
        );
    }
    if let Err(err) =
        auth::basic_user(req.headers()).and_then(|u| auth::check_user(&agent, u.as_deref()))
    {
        return refuse(rpc, Code::PermissionDenied, err.to_string());
    }
    if let Some(method) = path.strip_prefix("/process.Process/") {
        let method = method.to_string();
        if let Some(resp) = require_post(&req) {
            return resp;
        }
        return process::serve(agent, &method, req).await;
    }
    if let Some(method) = path.strip_prefix("/filesystem.Filesystem/") {
        let method = method.to_string();
        if let Some(resp) = require_post(&req) {
            return resp;
        }
        return filesystem::serve(agent, &method, req).await;
    }
    match (req.method(), path.as_str()) {
        (&Method::POST, "/init") => init::serve(agent, req).await,
        (&Method::GET | &Method::POST, "/archive") => archive::serve(agent, req).await,
        _ => body::http_error(StatusCode::NOT_FOUND, format!("no route {path}")),
    }
}

/// Connect RPCs are POSTs; anything else is 405 before the handler runs.
fn require_post(req: &Request<Incoming>) -> Option<Response> {
    (req.method() != Method::POST).then(|| {
        let mut resp = refuse(true, Code::Unimplemented, "RPCs are POST only".into());
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        resp
    })
}

/// An RPC method name the service does not have.
pub fn unknown_method(service: &str, method: &str) -> Response {
    connect::unary_response::<()>(Err(RpcError::new(
        Code::Unimplemented,
        format!("{service} has no method {method:?}"),
    )))
}
