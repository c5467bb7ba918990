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

/// A minimal Connect client for the agent's own tests (real HTTP, our
/// envelope codec): unary calls and streaming calls read message by message.
pub struct Client {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        Client {
            base: base.to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// A unary call: `(status, JSON body)`.
    pub async fn unary(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-access-token", &self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// Opens a streaming call whose request stream holds `messages`.
    pub async fn stream(
        &self,
        path: &str,
        messages: Vec<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Stream {
        let mut body = Vec::new();
        for m in messages {
            body.extend_from_slice(&crate::connect::envelope::encode(
                0,
                bytes::Bytes::from(m.to_string()),
            ));
        }
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-access-token", &self.token)
            .header("content-type", "application/connect+json")
            .header("connect-protocol-version", "1");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.body(body).send().await.unwrap();
        assert_eq!(resp.status(), 200, "streaming calls answer 200");
        let chunks = futures_util::StreamExt::boxed(futures_util::StreamExt::map(
            resp.bytes_stream(),
            |r| r.map_err(|e| e.to_string()),
        ));
        Stream {
            envelopes: Box::pin(crate::connect::envelope::decode(chunks)),
        }
    }
}

/// The messages of one streaming answer.
pub struct Stream {
    envelopes: std::pin::Pin<
        Box<
            dyn futures_util::Stream<
                    Item = Result<crate::connect::envelope::Envelope, crate::connect::RpcError>,
                > + Send,
        >,
    >,
}

/// One item of a streaming answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Message(serde_json::Value),
    /// The end-stream message (`{}` or `{"error":…}`).
    End(serde_json::Value),
}

impl Stream {
    /// The next item; `None` once the body ended. Bounded by 30 s so a
    /// broken server fails the test instead of hanging it.
    pub async fn next(&mut self) -> Option<Item> {
        let env = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            futures_util::StreamExt::next(&mut self.envelopes),
        )
        .await
        .expect("no stream item within 30 s")?
        .unwrap();
        let json = serde_json::from_slice(&env.payload).unwrap();
        Some(
            if env.flags & crate::connect::envelope::FLAG_END_STREAM != 0 {
                Item::End(json)
            } else {
                Item::Message(json)
            },
        )
    }

    /// Every remaining item.
    pub async fn rest(&mut self) -> Vec<Item> {
        let mut all = Vec::new();
        while let Some(item) = self.next().await {
            all.push(item);
        }
        all
    }
}
