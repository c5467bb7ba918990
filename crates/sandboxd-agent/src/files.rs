//! `/files` rule (being built): download and upload of whole files.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};

use crate::server::body::{self, Response};
use crate::state::Agent;

pub async fn serve(_agent: Arc<Agent>, _req: Request<Incoming>, token_ok: bool) -> Response {
    if !token_ok {
        return body::http_error(StatusCode::UNAUTHORIZED, "missing or wrong X-Access-Token");
    }
    body::http_error(StatusCode::NOT_IMPLEMENTED, "/files is not implemented yet")
}
