//! Tasks across a sandboxd restart, and tasks that fail, against the real engine with the fake
//! Claude Code CLI: a client that reconnects with `Last-Event-ID` to the restarted server gets
//! exactly the events it missed (the collector resumed the agent's output where it was stored); a
//! task whose process did not survive (its container restarted meanwhile) is `failed` with the
//! reason; a task past its `timeout_s` is `failed` as timed out (and the sandbox's own env values
//! are redacted from its events).

#[path = "tasks/fake.rs"]
mod fake;
#[path = "agent_processes/sse.rs"]
#[allow(dead_code)] // Shared helper; this file uses part of it.
mod sse;
#[path = "tasks/support.rs"]
#[allow(dead_code)] // Shared helper; this file uses part of it.
mod support;

use sandboxd_testkit::TestServer;
use serde_json::json;
use sse::Sse;
use support::{ids, start_task, task, wait_status, AllOwned, WAIT};

#[tokio::test]
async fn events_resume_exactly_after_a_sandboxd_restart() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    fake::install(&s, &id).await;
    let t = start_task(&s, &id, json!({"STEPS": "8", "PAUSE": "0.5"})).await;
    let tid = t["id"].as_str().unwrap().to_string();
    let path = format!("/v1/sandboxes/{id}/tasks/{tid}/events");
    let mut first = Sse::open(&s, &path, None).await.unwrap();
    let head = vec![
        first.next(WAIT).await.unwrap().unwrap(),
        first.next(WAIT).await.unwrap().unwrap(),
    ];
    drop(first);
    let mut cfg = TestServer::config(s.data.path());
    cfg.instance = s.instance.clone();
    let (data, _) = s.stop_keep().await;
    let s = TestServer::start_in(data, cfg).await.unwrap();
    // The agent runs about 4 s: the restart happened mid-task.
    assert_eq!(task(&s, &id, &tid).await["status"], "running");
    let mut resumed = Sse::open(&s, &path, head[1].id).await.unwrap();
    assert_eq!(resumed.status, 200);
    let mut whole = head;
    whole.extend(resumed.all(WAIT).await.unwrap());
    let n = whole.len() as u64;
    assert_eq!(
        ids(&whole),
        (1..=n).collect::<Vec<_>>(),
        "missing or repeated events"
    );
    let steps: Vec<&str> = whole
        .iter()
        .filter_map(|e| e.data["text"].as_str())
        .filter(|t| t.starts_with("step "))
        .collect();
    let want: Vec<String> = (1..=8)
        .map(|i| format!("step {i} key=[redacted]"))
        .collect();
    assert_eq!(steps, want);
    assert_eq!(whole.last().unwrap().data["status"], "succeeded");
    assert_eq!(task(&s, &id, &tid).await["status"], "succeeded");
}

#[tokio::test]
async fn a_task_whose_process_is_gone_after_a_restart_fails_with_the_reason() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    fake::install(&s, &id).await;
    let t = start_task(&s, &id, json!({"STEPS": "1000", "PAUSE": "1"})).await;
    let tid = t["id"].as_str().unwrap().to_string();
    let mut cfg = TestServer::config(s.data.path());
    cfg.instance = s.instance.clone();
    let name = s.container_name(&id);
    let (data, _) = s.stop_keep().await;
    // While sandboxd is down the container restarts: the agent and its processes are new.
    let d = sandboxd_testkit::docker().await.unwrap();
    d.restart_container(&name, None).await.unwrap();
    let s = TestServer::start_in(data, cfg).await.unwrap();
    let v = wait_status(&s, &id, &tid, "failed").await;
    let reason = v["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("process is gone"), "{v}");
    let evs = Sse::open(&s, &format!("/v1/sandboxes/{id}/tasks/{tid}/events"), None)
        .await
        .unwrap()
        .all_owned(WAIT)
        .await;
    let end = evs.last().unwrap();
    assert_eq!(
        (end.event.as_str(), &end.data["status"]),
        ("end", &json!("failed"))
    );
}

#[tokio::test]
async fn a_timeout_fails_the_task_and_sandbox_env_values_are_redacted_too() {
    let s = TestServer::start().await.unwrap();
    let id = s
        .create(r#"{"env":{"SANDBOX_TOKEN":"sbx-secret-4242"}}"#)
        .await
        .unwrap();
    let body = json!({"prompt": "p", "timeout_s": 1,
        "agent": {"command": ["sh", "-c", "echo token=$SANDBOX_TOKEN; sleep 30"]}});
    let (st, t) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/tasks"),
            Some(&body.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{t}");
    let tid = t["id"].as_str().unwrap();
    let v = wait_status(&s, &id, tid, "failed").await;
    assert_eq!(v["reason"], "timed out after 1 s", "{v}");
    let evs = Sse::open(&s, &format!("/v1/sandboxes/{id}/tasks/{tid}/events"), None)
        .await
        .unwrap()
        .all_owned(WAIT)
        .await;
    assert_eq!(evs[0].data["text"], "token=[redacted]");
    assert_eq!(evs.last().unwrap().data["reason"], "timed out after 1 s");
}
