//! Background processes through the agent, against the real engine: output is delivered while
//! the process runs, a process outlives the call that started it and its output resumes by event
//! id without loss or duplicates, several subscribers see the same output, stdin and signals
//! reach it, an open stream counts as a `process_output` session, a stopped sandbox is woken by
//! a start and a deleted one is gone. (Exec through the agent and the CLI: `agent_exec.rs`.)

#[path = "agent_processes/sse.rs"]
mod sse;

use sandboxd_testkit::TestServer;
use serde_json::{json, Value};
use sse::{stdout, Sse};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn start(s: &TestServer, id: &str, body: Value) -> u64 {
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/processes"),
            Some(&body.to_string()),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    v["pid"].as_u64().unwrap()
}

async fn sessions(s: &TestServer, id: &str) -> u64 {
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    v["sessions"]["process_output"].as_u64().unwrap()
}

#[tokio::test]
async fn output_is_live_shared_and_signals_end_it() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let pid = start(
        &s,
        &id,
        json!({"cmd": ["sh", "-c", "echo first; sleep 60"], "tag": "t"}),
    )
    .await;
    let path = format!("/v1/sandboxes/{id}/processes/{pid}/output");
    let mut a = Sse::open(&s, &path, None).await.unwrap();
    assert_eq!(a.status, 200);
    let ev = a.next(WAIT).await.unwrap().unwrap();
    assert_eq!(
        (ev.event.as_str(), ev.data["text"].as_str()),
        ("stdout", Some("first\n"))
    );
    // Seen while the process still runs (it sleeps a minute).
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/processes"), None)
        .await
        .unwrap();
    let listed = &v["processes"].as_array().unwrap()[0];
    assert_eq!(
        (listed["pid"].as_u64(), listed["tag"].as_str()),
        (Some(pid), Some("t"))
    );
    assert_eq!(listed["cmd"][0], "sh");
    // A second subscriber gets the same output from the start.
    let mut b = Sse::open(&s, &format!("{path}?since=0"), None)
        .await
        .unwrap();
    assert_eq!(b.next(WAIT).await.unwrap().unwrap(), ev);
    assert_eq!(sessions(&s, &id).await, 2);

    let (st, _) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/processes/{pid}/signal"),
            Some(r#"{"signal":"SIGTERM"}"#),
        )
        .await
        .unwrap();
    assert_eq!(st, 204);
    for stream in [&mut a, &mut b] {
        let rest = stream.all(WAIT).await.unwrap();
        let exit = rest.last().unwrap();
        assert_eq!(exit.event, "exit", "{rest:?}");
        assert_eq!(exit.data["exit_code"], 143, "{exit:?}");
        assert_eq!(exit.data["status"], "signal: terminated");
    }
    drop((a, b));
    let mut left = sessions(&s, &id).await;
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = sessions(&s, &id).await;
    }
    assert_eq!(left, 0, "sessions outlive their streams");
}

#[tokio::test]
async fn stdin_round_trip_and_eof() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let pid = start(&s, &id, json!({"cmd": ["cat"], "stdin": true})).await;
    let mut out = Sse::open(
        &s,
        &format!("/v1/sandboxes/{id}/processes/{pid}/output"),
        None,
    )
    .await
    .unwrap();
    let stdin = format!("/v1/sandboxes/{id}/processes/{pid}/stdin");
    let (st, v) = s
        .call("POST", &stdin, Some(r#"{"text":"hello\n"}"#))
        .await
        .unwrap();
    assert_eq!(st, 204, "{v}");
    let ev = out.next(WAIT).await.unwrap().unwrap();
    assert_eq!(ev.data["text"], "hello\n");
    let (st, _) = s
        .call("POST", &stdin, Some(r#"{"base64":"aGkK","eof":true}"#))
        .await
        .unwrap();
    assert_eq!(st, 204);
    let rest = out.all(WAIT).await.unwrap();
    assert_eq!(stdout(&rest), "hi\n");
    assert_eq!(rest.last().unwrap().data["exit_code"], 0);
    // Bad input is refused before the agent is asked; a process without stdin is a precondition.
    let (st, _) = s
        .call("POST", &stdin, Some(r#"{"text":"a","base64":"YQ=="}"#))
        .await
        .unwrap();
    assert_eq!(st, 400);
    let pid = start(&s, &id, json!({"cmd": ["sleep", "30"]})).await;
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/processes/{pid}/stdin"),
            Some(r#"{"text":"x"}"#),
        )
        .await
        .unwrap();
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("failed_precondition")),
        "{v}"
    );
}

#[tokio::test]
async fn a_background_process_resumes_by_event_id_without_loss() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let script = "i=0; while [ $i -lt 30 ]; do echo $i; i=$((i+1)); sleep 0.05; done";
    // The call that started it returned; the process goes on without any client.
    let pid = start(&s, &id, json!({"cmd": ["sh", "-c", script]})).await;
    let path = format!("/v1/sandboxes/{id}/processes/{pid}/output");
    let mut first = Sse::open(&s, &path, None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(first.next(WAIT).await.unwrap().unwrap());
    }
    drop(first);
    let last = seen.last().unwrap().id.unwrap();
    let mut again = Sse::open(&s, &path, Some(last)).await.unwrap();
    seen.extend(again.all(WAIT).await.unwrap());
    let ids: Vec<u64> = seen.iter().filter_map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing: {ids:?}"
    );
    assert!(seen.iter().all(|e| e.event != "gap"));
    let want: String = (0..30).map(|i| format!("{i}\n")).collect();
    assert_eq!(stdout(&seen), want);
    assert_eq!(seen.last().unwrap().event, "exit");
    // `?since=` resumes the same way after the exit.
    let mut tail = Sse::open(&s, &format!("{path}?since={last}"), None)
        .await
        .unwrap();
    let tail = tail.all(WAIT).await.unwrap();
    assert_eq!(tail, seen[3..].to_vec());
}

#[tokio::test]
async fn bad_input_stopped_and_deleted_sandboxes() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let procs = format!("/v1/sandboxes/{id}/processes");
    for body in [
        r#"{"cmd":[]}"#,
        r#"{"cmd":["ls"],"timeout_s":0}"#,
        r#"{"cmd":["ls"],"env":{"A=B":"1"}}"#,
        r#"{"cmd":["ls"],"tag":""}"#,
        r#"{"cmd":["ls"],"pty":{"cols":0,"rows":5}}"#,
        r#"{"cmd":["ls"],"bogus":1}"#,
    ] {
        let (st, v) = s.call("POST", &procs, Some(body)).await.unwrap();
        assert_eq!(st, 400, "{body}: {v}");
    }
    let (st, _) = s
        .call("GET", &format!("{procs}/abc/output"), None)
        .await
        .unwrap();
    assert_eq!(st, 400);
    let (st, v) = s
        .call("GET", &format!("{procs}/999999/output"), None)
        .await
        .unwrap();
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (st, v) = s
        .call("POST", &procs, Some(r#"{"cmd":["no-such-program"]}"#))
        .await
        .unwrap();
    assert_eq!(st, 404, "{v}");

    // A stopped sandbox is started by a process start.
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let pid = start(&s, &id, json!({"cmd": ["sh", "-c", "echo woke"]})).await;
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running");
    let mut out = Sse::open(&s, &format!("{procs}/{pid}/output"), None)
        .await
        .unwrap();
    assert_eq!(stdout(&out.all(WAIT).await.unwrap()), "woke\n");

    let (st, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    for (method, path, body) in [
        ("POST", procs.clone(), Some(r#"{"cmd":["true"]}"#)),
        ("GET", procs.clone(), None),
        ("GET", format!("{procs}/{pid}/output"), None),
    ] {
        let (st, v) = s.call(method, &path, body).await.unwrap();
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (410, Some("gone")),
            "{path}"
        );
    }
}
