//! Coding-agent tasks against the real engine, with a fake Claude Code CLI (`tasks/fake.rs`):
//! events arrive while the agent runs, adapted from stream-JSON; a client that reconnects with
//! `Last-Event-ID` gets exactly the missing events (after a restart: `task_lifecycle.rs`); cancel ends the
//! agent's whole process group and the task is `cancelled`; a running task keeps its sandbox
//! awake past the idle timeout and shows in `/activity`; the task's secret env value is in no
//! answer and no stored event; bad input creates nothing; a task wakes a stopped sandbox.

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
use std::time::Duration;
use support::{ids, no_secret, start_task, task, wait_status, AllOwned, SECRET, WAIT};

#[tokio::test]
async fn events_are_live_adapted_resumable_and_redacted() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    fake::install(&s, &id).await;
    let t = start_task(&s, &id, json!({})).await;
    let tid = t["id"].as_str().unwrap().to_string();
    no_secret("the created task", &t.to_string());
    assert_eq!(t["env"], json!(["ANTHROPIC_API_KEY", "PATH"]));
    let (_, a) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(a["sessions"]["task"], 1, "{a}");

    let path = format!("/v1/sandboxes/{id}/tasks/{tid}/events");
    let mut first = Sse::open(&s, &path, None).await.unwrap();
    assert_eq!(first.status, 200);
    let mut head = Vec::new();
    for _ in 0..3 {
        head.push(first.next(WAIT).await.unwrap().unwrap());
    }
    // Seen while the agent still runs (it takes about 2 s).
    assert_eq!(task(&s, &id, &tid).await["status"], "running");
    assert_eq!(
        (head[0].event.as_str(), &head[0].data["session_id"]),
        ("message", &json!("fake-1"))
    );
    assert_eq!(head[1].data["text"], "step 1 key=[redacted]");
    drop(first);

    let last = head.last().unwrap().id;
    let mut resumed = Sse::open(&s, &path, last).await.unwrap();
    let rest = resumed.all(WAIT).await.unwrap();
    let mut whole = head.clone();
    whole.extend(rest);
    let n = whole.len() as u64;
    assert_eq!(
        ids(&whole),
        (1..=n).collect::<Vec<_>>(),
        "missing or repeated events"
    );
    let end = whole.last().unwrap();
    assert_eq!(
        (end.event.as_str(), &end.data["status"]),
        ("end", &json!("succeeded"))
    );
    let kinds: Vec<&str> = whole.iter().map(|e| e.event.as_str()).collect();
    for k in [
        "message",
        "tool_call",
        "file_change",
        "tool_result",
        "log",
        "usage",
        "result",
    ] {
        assert!(kinds.contains(&k), "no {k} event in {kinds:?}");
    }
    let change = whole.iter().find(|e| e.event == "file_change").unwrap();
    assert_eq!(change.data["path"], "/home/sandbox/workspace/hello.txt");
    // A fresh client reads the same events from the start; `?since=` works like the header.
    let again = Sse::open(&s, &path, None)
        .await
        .unwrap()
        .all(WAIT)
        .await
        .unwrap();
    assert_eq!(again, whole);
    let tail = Sse::open(&s, &format!("{path}?since={}", n - 1), None)
        .await
        .unwrap();
    assert_eq!(ids(&tail.all_owned(WAIT).await), vec![n]);
    for e in &whole {
        no_secret("an event", &e.data.to_string());
    }
    let done = task(&s, &id, &tid).await;
    assert_eq!(
        (done["status"].as_str(), done["exit_code"].as_i64()),
        (Some("succeeded"), Some(0))
    );
    assert_eq!(done["last_event_id"].as_u64(), Some(n));
    let (_, list) = s
        .call("GET", &format!("/v1/sandboxes/{id}/tasks"), None)
        .await
        .unwrap();
    assert_eq!(list["tasks"][0]["id"].as_str(), Some(tid.as_str()));
    no_secret("the task list", &list.to_string());
    let (_, out, _) = s.sh(&id, "cat ~/workspace/hello.txt").await.unwrap();
    assert_eq!(out, "hi\n");
    let (_, a) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(a["sessions"]["task"], 0, "{a}");
    // The ended task's secret is nowhere in sandboxd's state files either.
    let (data, instance) = s.stop_keep().await;
    sandboxd_testkit::remove_instance(&instance).await.unwrap();
    sandboxd::workspaces::unmount_all(data.path()).unwrap();
    for entry in std::fs::read_dir(data.path().join("state")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
        assert!(!found, "{} holds the task's secret", path.display());
    }
}

#[tokio::test]
async fn cancel_ends_the_group_and_a_running_task_keeps_its_sandbox_awake() {
    let s = TestServer::start_with(|c| {
        c.idle_timeout = Duration::from_secs(2);
        c.reap_interval = Duration::from_millis(250);
    })
    .await
    .unwrap();
    let id = s.create("").await.unwrap();
    fake::install(&s, &id).await;
    let t = start_task(
        &s,
        &id,
        json!({"STEPS": "1000", "PAUSE": "1", "CHILD": "1"}),
    )
    .await;
    let tid = t["id"].as_str().unwrap().to_string();
    // Well past the idle timeout: the task holds the sandbox.
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, v) = s
            .call("GET", &format!("/v1/sandboxes/{id}"), None)
            .await
            .unwrap();
        assert_eq!(v["status"], "running", "stopped under a running task");
    }
    let (_, child, _) = s.sh(&id, "cat ~/child.pid").await.unwrap();
    let child = child.trim().to_string();
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/tasks/{tid}/cancel"),
            None,
        )
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let evs = Sse::open(&s, &format!("/v1/sandboxes/{id}/tasks/{tid}/events"), None)
        .await
        .unwrap()
        .all_owned(WAIT)
        .await;
    let end = evs.last().unwrap();
    assert_eq!(
        (end.event.as_str(), &end.data["status"]),
        ("end", &json!("cancelled"))
    );
    assert!(
        evs.iter().any(|e| e.data["text"] == "got SIGTERM"),
        "the agent saw no SIGTERM"
    );
    // The agent's background child (same process group) is gone too.
    let mut gone = false;
    for _ in 0..50 {
        let (code, _, _) = s.sh(&id, &format!("kill -0 {child}")).await.unwrap();
        if code != 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "child {child} of the cancelled agent still runs");
    // Cancelling again answers the same task.
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/tasks/{tid}/cancel"),
            None,
        )
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")));
}

#[tokio::test]
async fn bad_input_creates_nothing_and_a_task_wakes_a_stopped_sandbox() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let tasks = format!("/v1/sandboxes/{id}/tasks");
    for body in [
        json!({"prompt": "x", "agent": "gpt-pilot"}),
        json!({"prompt": "  ", "agent": "claude-code"}),
        json!({"prompt": "x"}),
        json!({"prompt": "x", "agent": {"command": []}}),
        json!({"prompt": "x", "agent": {"command": ["sh"], "adapter": "xml"}}),
        json!({"prompt": "x", "agent": "claude-code", "timeout_s": 0}),
        // The test image has no `claude`: the start fails and nothing is stored.
        json!({"prompt": "x", "agent": "claude-code"}),
    ] {
        let (st, v) = s
            .call("POST", &tasks, Some(&body.to_string()))
            .await
            .unwrap();
        assert_eq!(st, 400, "{body} -> {v}");
    }
    let (st, v) = s.call("GET", &tasks, None).await.unwrap();
    assert_eq!(
        (st, v["tasks"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{v}"
    );
    for path in [
        format!("{tasks}/01jzzzzzzzzzzzzzzzzzzzzzzz"),
        format!("{tasks}/01jzzzzzzzzzzzzzzzzzzzzzzz/events"),
    ] {
        assert_eq!(s.call("GET", &path, None).await.unwrap().0, 404, "{path}");
    }
    let (st, _) = s
        .call(
            "POST",
            &format!("{tasks}/01jzzzzzzzzzzzzzzzzzzzzzzz/cancel"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(st, 404);

    // A stopped sandbox is woken; a command agent's lines become messages.
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    let body = json!({"prompt": "hello", "agent": {"command": ["sh", "-c", "echo {prompt}"]}});
    let (st, t) = s
        .call("POST", &tasks, Some(&body.to_string()))
        .await
        .unwrap();
    assert_eq!(st, 201, "{t}");
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running");
    let tid = t["id"].as_str().unwrap();
    let evs = Sse::open(&s, &format!("{tasks}/{tid}/events"), None)
        .await
        .unwrap()
        .all_owned(WAIT)
        .await;
    assert_eq!(evs[0].data["text"], "hello");
    wait_status(&s, &id, tid, "succeeded").await;

    // A deleted sandbox: 410, nothing created.
    s.call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    let (st, v) = s
        .call("POST", &tasks, Some(&body.to_string()))
        .await
        .unwrap();
    assert_eq!(st, 410, "{v}");
    let (_, v) = s.call("GET", &tasks, None).await.unwrap();
    assert_eq!(v["tasks"].as_array().map(Vec::len), Some(1), "{v}");
}
