//! The client against a real agent served in-process on loopback.

use super::*;
use serde_json::json;

async fn agent(token: &str) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sandboxd_agent::serve(listener, Some(token.to_string())));
    Endpoint {
        addr,
        token: token.to_string(),
    }
}

#[tokio::test]
async fn unary_calls_and_their_errors() {
    let ep = agent("s3cret").await;
    let client = AgentClient::new();
    assert!(client.healthy(&ep).await);
    let list: serde_json::Value = client
        .unary(&ep, "/process.Process/List", &json!({}), &[])
        .await
        .unwrap();
    assert!(list.is_object());
    let wrong = Endpoint {
        token: "nope".into(),
        ..ep.clone()
    };
    let err = client
        .unary::<_, serde_json::Value>(&wrong, "/process.Process/List", &json!({}), &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unauthenticated"));
    let err = client
        .unary::<_, serde_json::Value>(&ep, "/process.Process/Nope", &json!({}), &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("unimplemented"));
    assert!(
        !format!("{ep:?}").contains("s3cret"),
        "the token is never printed"
    );
}

#[tokio::test]
async fn unreachable_agent_is_a_typed_error() {
    // Bind then drop: nothing listens on the port any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let ep = Endpoint {
        addr,
        token: "t".into(),
    };
    let client = AgentClient::new();
    assert!(!client.healthy(&ep).await);
    let err = client
        .unary::<_, serde_json::Value>(&ep, "/process.Process/List", &json!({}), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Unreachable(_)), "{err:?}");
}
