//! Lifecycle against the real engine: create → exec → stop → start → data kept → DELETE keeps
//! the workspace → re-create reattaches it → purge removes it; stop time; concurrent creates;
//! the start command and its logs; exec timeouts. The brief's quick start is `tests/quick_start.rs`.

use sandboxd_testkit::TestServer;
use std::time::{Duration, Instant};

#[tokio::test]
async fn full_lifecycle_keeps_the_workspace_until_purge() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"life","ports":[3000]}"#).await.unwrap();
    let (code, _, err) = s.sh(&id, "echo kept > ~/workspace/note.txt").await.unwrap();
    assert_eq!(code, 0, "{err}");

    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("stopped")));
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["live"]["running"], false);

    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("running")));
    let (_, out, _) = s.sh(&id, "cat ~/workspace/note.txt").await.unwrap();
    assert_eq!(out, "kept\n");

    // Exec on a stopped sandbox starts it first.
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    let (_, out, _) = s.sh(&id, "cat note.txt").await.unwrap();
    assert_eq!(out, "kept\n");

    // DELETE: container gone, workspace kept, id tombstoned.
    let (st, _) = s
        .call("DELETE", &format!("/sandbox/{id}"), None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    assert!(s.containers().await.unwrap().is_empty());
    // Kept as its image (size-limited, the default), unmounted while nobody uses it.
    assert!(s.workspaces().join(format!("{id}.img")).is_file());
    assert!(!s.workspaces().join(&id).join("workspace/note.txt").exists());
    let (st, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!((st, v["error"]["code"].as_str()), (410, Some("gone")));
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    assert_eq!(st, 410, "a deleted sandbox must not be resurrected");
    assert!(s.containers().await.unwrap().is_empty());

    // Re-creating the same id explicitly reattaches the kept workspace.
    s.create(r#"{"id":"life"}"#).await.unwrap();
    let (_, out, _) = s.sh(&id, "cat ~/workspace/note.txt").await.unwrap();
    assert_eq!(out, "kept\n");

    // Purge: container and workspace gone, id gone.
    let (st, _) = s
        .call("POST", &format!("/sandbox/{id}/purge"), None)
        .await
        .unwrap();
    assert_eq!(st, 204);
    assert!(s.containers().await.unwrap().is_empty());
    assert!(!s.workspaces().join(&id).exists());
    assert!(!s.workspaces().join(format!("{id}.img")).exists());
    let (st, _) = s
        .call("GET", &format!("/sandbox/{id}"), None)
        .await
        .unwrap();
    assert_eq!(st, 410);
    let (_, v) = s.call("GET", "/v1/sandboxes", None).await.unwrap();
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn stop_is_fast_because_init_forwards_sigterm() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"start":"sleep 1000"}"#).await.unwrap();
    // A process that ignores nothing and one started by exec; both must go quickly.
    s.sh(&id, "sleep 1000 >/dev/null 2>&1 &").await.unwrap();
    let t = Instant::now();
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(st, 200);
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    eprintln!("stop took {took:?}");
}

#[tokio::test]
async fn twenty_concurrent_creates_get_distinct_ids_and_containers() {
    let s = TestServer::start().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, api) = (s.client.clone(), s.api.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{api}/sandbox"))
                .header("content-type", "application/json")
                .body(r#"{"ports":[3000]}"#)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: serde_json::Value = r.json().await.unwrap();
            (status, v["id"].as_str().unwrap_or_default().to_string())
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert_eq!(status, 201);
        ids.insert(id);
    }
    assert_eq!(ids.len(), 20);
    let containers = s.containers().await.unwrap();
    assert_eq!(containers.len(), 20);
    for id in &ids {
        assert!(containers.contains(&s.container_name(id)));
    }
}

#[tokio::test]
async fn start_command_runs_is_restarted_and_logged() {
    let s = TestServer::start().await.unwrap();
    let id = s
        .create(r#"{"start":"echo started-$(date +%s%N) >> ~/workspace/runs; echo hello-from-start; sleep 0.2; exit 3"}"#)
        .await
        .unwrap();
    // The command exits at once; init restarts it (1 s, then 2 s backoff).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, out, _) = s
            .sh(&id, "cat ~/workspace/runs 2>/dev/null | wc -l")
            .await
            .unwrap();
        if out.trim().parse::<u32>().unwrap_or(0) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "start command was not restarted");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (st, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/logs"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let text: Vec<&str> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(
        text.iter().any(|l| l.contains("hello-from-start")),
        "{text:?}"
    );
    // It runs again after a stop/start cycle.
    s.call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    s.call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    let (_, out, _) = s
        .sh(&id, "sleep 0.5; cat ~/workspace/runs | wc -l")
        .await
        .unwrap();
    assert!(out.trim().parse::<u32>().unwrap() >= 3);
}

#[tokio::test]
async fn exec_reports_exit_codes_timeouts_and_truncation() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let (code, out, err) = s.sh(&id, "echo out; echo err >&2; exit 7").await.unwrap();
    assert_eq!((code, out.as_str(), err.as_str()), (7, "out\n", "err\n"));

    let body = r#"{"cmd":["sh","-c","sleep 30 & sleep 30"],"timeout_s":1}"#;
    let t = Instant::now();
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(body))
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "timeout took {:?}",
        t.elapsed()
    );
    assert_eq!(v["timed_out"], true, "{v}");
    // Nothing the command started survives the timeout.
    let (_, out, _) = s
        .sh(&id, "ps -o args | grep -c '^sleep 30' || true")
        .await
        .unwrap();
    assert_eq!(out.trim(), "0", "leftover processes: {out}");

    let body = r#"{"cmd":["sh","-c","head -c 17000000 /dev/zero | tr '\\0' a"]}"#;
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(body))
        .await
        .unwrap();
    assert_eq!(st, 200);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["stdout"].as_str().unwrap().len(), 16 * 1024 * 1024);

    let body = r#"{"cmd":["pwd"],"cwd":"/tmp","env":{"GREETING":"hi"}}"#;
    let (_, v) = s
        .call("POST", &format!("/sandbox/{id}/exec"), Some(body))
        .await
        .unwrap();
    assert_eq!(v["stdout"], "/tmp\n");
    let body = r#"{"cmd":["sh","-c","echo $GREETING $HOME"],"env":{"GREETING":"hi"}}"#;
    let (_, v) = s
        .call("POST", &format!("/sandbox/{id}/exec"), Some(body))
        .await
        .unwrap();
    assert_eq!(v["stdout"], "hi /home/sandbox\n");
}
