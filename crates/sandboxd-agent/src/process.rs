//! `process.Process` rule (being built): see the crate docs.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use crate::connect::{self, Empty};
use crate::proto::process::ListResponse;
use crate::server::{self, body::Response};
use crate::state::Agent;

/// The processes the agent started, by pid.
#[derive(Debug, Default)]
pub struct Registry {}

pub async fn serve(_agent: Arc<Agent>, method: &str, req: Request<Incoming>) -> Response {
    match method {
        // Nothing is started yet, so the list is empty.
        "List" => connect::unary(req, |_: Empty, _| async { Ok(ListResponse::default()) }).await,
        _ => server::unknown_method("process.Process", method),
    }
}
