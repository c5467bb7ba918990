//! Helpers of the task tests: start a task running the fake agent with a secret in its env,
//! read a task, wait for a status (bounded), check ids and secrets, drain an event stream.

use super::fake;
use super::sse::{Ev, Sse};
use sandboxd_testkit::TestServer;
use serde_json::{json, Value};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(15);
pub const SECRET: &str = "sk-ant-fake-7Qx9-secret";

pub async fn start_task(s: &TestServer, id: &str, extra_env: Value) -> Value {
    let mut env = json!({"PATH": fake::PATH, "ANTHROPIC_API_KEY": SECRET});
    for (k, v) in extra_env.as_object().unwrap() {
        env[k] = v.clone();
    }
    let body = json!({"prompt": "make hello.txt", "agent": "claude-code", "env": env});
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/tasks"),
            Some(&body.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "running");
    v
}

pub async fn task(s: &TestServer, id: &str, tid: &str) -> Value {
    let (st, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/tasks/{tid}"), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    v
}

pub async fn wait_status(s: &TestServer, id: &str, tid: &str, want: &str) -> Value {
    for _ in 0..150 {
        let v = task(s, id, tid).await;
        if v["status"] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {tid} did not become {want}");
}

pub fn ids(evs: &[Ev]) -> Vec<u64> {
    evs.iter().map(|e| e.id.unwrap()).collect()
}

pub fn no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} holds the secret: {text}");
}

pub trait AllOwned {
    async fn all_owned(self, limit: Duration) -> Vec<Ev>;
}

impl AllOwned for Sse {
    async fn all_owned(mut self, limit: Duration) -> Vec<Ev> {
        self.all(limit).await.unwrap()
    }
}
