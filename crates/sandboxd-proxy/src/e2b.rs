//! E2B's error shapes, for requests routed the E2B way. The SDK maps a 502 onto its exceptions by
//! the message: one containing "was not found" means the sandbox is gone
//! (`SandboxNotRunningException`), one containing "port is not open" means it runs but nothing
//! listens (`SandboxUnreachableException`). Every other proxy failure keeps sandboxd's envelope.

use crate::body::{full, ProxyBody};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use sandboxd_core::SandboxId;

/// The sandbox is unknown, deleted or dead.
pub fn not_found(id: &SandboxId) -> Response<ProxyBody> {
    bad_gateway(serde_json::json!({
        "sandboxId": id.as_str(),
        "message": "The sandbox was not found",
        "code": 502,
    }))
}

/// The sandbox runs but nothing accepts connections on the port.
pub fn port_closed(id: &SandboxId, port: u16) -> Response<ProxyBody> {
    bad_gateway(serde_json::json!({
        "sandboxId": id.as_str(),
        "port": port,
        "message": format!("The sandbox is running but port is not open ({port})"),
        "code": 502,
    }))
}

/// The upstream accepted the connection and then failed before answering.
pub fn upstream_failed(id: &SandboxId, port: u16) -> Response<ProxyBody> {
    bad_gateway(serde_json::json!({
        "sandboxId": id.as_str(),
        "port": port,
        "message": format!("The app on port {port} closed the connection"),
        "code": 502,
    }))
}

fn bad_gateway(body: serde_json::Value) -> Response<ProxyBody> {
    let mut resp = Response::new(full(body.to_string()));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn json(resp: Response<ProxyBody>) -> serde_json::Value {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn messages_the_sdk_recognises() {
        let id = SandboxId::parse_lookup("abc").unwrap();
        let r = not_found(&id);
        assert_eq!(r.status(), 502);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        let v = json(r).await;
        assert_eq!(v["sandboxId"], "abc");
        assert_eq!(v["code"], 502);
        assert!(v["message"].as_str().unwrap().contains("was not found"));
        let v = json(port_closed(&id, 3000)).await;
        assert!(v["message"].as_str().unwrap().contains("port is not open"));
        let v = json(upstream_failed(&id, 3000)).await;
        assert_eq!(v["code"], 502);
    }
}
