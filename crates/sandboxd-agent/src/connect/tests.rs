//! The server and Connect layer over a real loopback socket.

use std::sync::Arc;

use crate::state::{Agent, Identity};

/// Starts the agent's server on an ephemeral loopback port.
pub async fn start(token: Option<&str>) -> (String, Arc<Agent>) {
    // A fixed identity: the tests may run as root, whose name must stay refusable.
    let me = Identity::current();
    let identity = Identity {
        name: Some("sandbox".into()),
        ..me
    };
    let agent = Arc::new(Agent::new(token.map(String::from), identity));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crate::server::serve(listener, agent.clone()));
    (base, agent)
}

#[tokio::test]
async fn health_needs_no_token_everything_else_does() {
    let (base, _agent) = start(Some("tok")).await;
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 204);
    let list = http
        .post(format!("{base}/process.Process/List"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 401);
    let body: serde_json::Value = list.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated");
    let files = http
        .get(format!("{base}/files?path=/etc/hostname"))
        .send()
        .await
        .unwrap();
    assert_eq!(files.status(), 401);
    assert_eq!(
        files.json::<serde_json::Value>().await.unwrap()["code"],
        401
    );
}

#[tokio::test]
async fn no_token_serves_only_health() {
    let (base, _agent) = start(None).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/process.Process/List"))
        .header("x-access-token", "")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn root_and_protobuf_are_refused() {
    let (base, _agent) = start(Some("tok")).await;
    let http = reqwest::Client::new();
    let root = http
        .post(format!("{base}/process.Process/List"))
        .header("x-access-token", "tok")
        .header("authorization", "Basic cm9vdDo=")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 403);
    let proto = http
        .post(format!("{base}/process.Process/List"))
        .header("x-access-token", "tok")
        .header("content-type", "application/proto")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(proto.status(), 415);
    let get = http
        .get(format!("{base}/process.Process/List"))
        .header("x-access-token", "tok")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}
