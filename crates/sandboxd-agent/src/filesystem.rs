//! `filesystem.Filesystem` rule (being built): see the crate docs.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use crate::server::{self, body::Response};
use crate::state::Agent;

/// Polling watchers by id.
#[derive(Debug, Default)]
pub struct Watchers {}

pub async fn serve(_agent: Arc<Agent>, method: &str, _req: Request<Incoming>) -> Response {
    server::unknown_method("filesystem.Filesystem", method)
}
