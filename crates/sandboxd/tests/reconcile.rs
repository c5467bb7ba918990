//! The reconciler against the real engine: containers removed or killed behind sandboxd's back,
//! orphans, interrupted creates, restarts of sandboxd that must not disturb running sandboxes, and
//! one owner per data dir.

use bollard::container::{KillContainerOptions, RemoveContainerOptions};
use sandboxd_testkit::{docker, TestServer};
use std::time::{Duration, Instant};

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Events usually heal within a second; the 5 s sweep is the backstop. A loaded CI engine
    // (many containers of other test binaries being removed) gets generous slack.
    let deadline = Instant::now() + Duration::from_secs(40);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Force-remove a container straight through the engine, as an operator or a crash might.
async fn remove_behind_our_back(name: &str) {
    let opts = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    let d = docker().await.unwrap();
    d.remove_container(name, Some(opts)).await.unwrap();
}

async fn container_running(name: &str) -> Option<bool> {
    let d = docker().await.unwrap();
    d.inspect_container(name, None)
        .await
        .ok()
        .map(|i| i.state.and_then(|s| s.running).unwrap_or(false))
}

#[tokio::test]
async fn removed_container_is_recreated_and_died_one_is_recorded() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"heal"}"#).await.unwrap();
    s.sh(&id, "echo data > ~/workspace/f").await.unwrap();
    let name = s.container_name(&id);
    remove_behind_our_back(&name).await;
    wait_for("container recreated and running", || async {
        container_running(&name).await == Some(true)
    })
    .await;
    let (_, out, _) = s.sh(&id, "cat ~/workspace/f").await.unwrap();
    assert_eq!(out, "data\n");

    // Killed behind our back: recorded as stopped, with the reason.
    let d = docker().await.unwrap();
    d.kill_container(&name, Some(KillContainerOptions { signal: "SIGKILL" }))
        .await
        .unwrap();
    wait_for("death recorded", || async {
        let (_, v) = s
            .call("GET", &format!("/v1/sandboxes/{id}"), None)
            .await
            .unwrap();
        v["status"] == "stopped"
    })
    .await;
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    let reason = v["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("exit code 137"), "{v}");
    // And it comes back on the next use.
    let (_, out, _) = s.sh(&id, "cat ~/workspace/f").await.unwrap();
    assert_eq!(out, "data\n");
}

#[tokio::test]
async fn restart_keeps_running_sandboxes_and_removes_orphans() {
    let s = TestServer::start().await.unwrap();
    let keep = s.create(r#"{"id":"keep"}"#).await.unwrap();
    let stopped = s.create(r#"{"id":"sleepy"}"#).await.unwrap();
    s.call("POST", &format!("/v1/sandboxes/{stopped}/stop"), None)
        .await
        .unwrap();
    let gone = s.create(r#"{"id":"gone"}"#).await.unwrap();
    let d = docker().await.unwrap();
    let keep_before = d
        .inspect_container(&s.container_name(&keep), None)
        .await
        .unwrap();
    let cfg = {
        let mut c = TestServer::config(s.data.path());
        c.instance = s.instance.clone();
        c
    };
    let gone_name = s.container_name(&gone);
    let sleepy_name = s.container_name(&stopped);
    let (data, _instance) = s.stop_keep().await;

    // While sandboxd is down: one sandbox's row is deleted behind its back (its container is
    // now an orphan), and the stopped one's container is started by hand.
    let db = rusqlite_delete(data.path(), "gone");
    assert_eq!(db, 1);
    d.start_container::<String>(&sleepy_name, None)
        .await
        .unwrap();

    let s = TestServer::start_in(data, cfg).await.unwrap();
    let keep_after = d
        .inspect_container(&s.container_name(&keep), None)
        .await
        .unwrap();
    assert_eq!(
        keep_before.id, keep_after.id,
        "running sandbox was recreated"
    );
    assert_eq!(
        keep_before.state.unwrap().started_at,
        keep_after.state.unwrap().started_at,
        "running sandbox was restarted"
    );
    assert!(
        container_running(&gone_name).await.is_none(),
        "orphan not removed"
    );
    assert_eq!(
        container_running(&s.container_name(&stopped)).await,
        Some(false)
    );
    let (_, out, _) = s.sh(&keep, "echo still-here").await.unwrap();
    assert_eq!(out, "still-here\n");
}

#[tokio::test]
async fn a_create_interrupted_by_a_crash_is_finished_at_boot() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"halfway"}"#).await.unwrap();
    let cfg = {
        let mut c = TestServer::config(s.data.path());
        c.instance = s.instance.clone();
        c
    };
    let name = s.container_name(&id);
    let (data, _instance) = s.stop_keep().await;
    // As if sandboxd died between writing `creating` and starting the container.
    sql(
        data.path(),
        "UPDATE sandboxes SET status='creating' WHERE id='halfway'",
    );
    remove_behind_our_back(&name).await;
    let s = TestServer::start_in(data, cfg).await.unwrap();
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running", "{v}");
    assert_eq!(container_running(&name).await, Some(true));
}

fn sql(data: &std::path::Path, statement: &str) {
    let ok = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3;c=sqlite3.connect('{}');c.execute(\"{statement}\");c.commit()",
            data.join("state/sandboxd.db").display()
        ))
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Delete one row directly in the database file (simulating lost state).
fn rusqlite_delete(data: &std::path::Path, id: &str) -> usize {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3;c=sqlite3.connect('{}');n=c.execute(\"DELETE FROM sandboxes WHERE id='{id}'\").rowcount;c.commit();print(n)",
            data.join("state/sandboxd.db").display()
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// One data dir has one owner: a second sandboxd on it is refused with a clear error (it would
/// otherwise write the same database and reconcile the same sandboxes), a start under another
/// installation name is refused, and a clean shutdown frees it for the next start at once.
#[tokio::test]
async fn a_second_sandboxd_on_the_same_data_dir_is_refused() {
    let s = TestServer::start().await.unwrap();
    let mut cfg = TestServer::config(s.data.path());
    cfg.instance = s.instance.clone();
    let err = sandboxd::serve::start(cfg.clone())
        .await
        .err()
        .expect("a second owner must be refused");
    let msg = format!("{err:#}");
    assert!(msg.contains("in use by another sandboxd"), "{msg}");
    let (data, instance) = s.stop_keep().await;
    // The data dir belongs to its installation: another --instance on it is refused.
    let mut stranger = TestServer::config(data.path());
    stranger.instance = format!("{instance}x");
    let err = sandboxd::serve::start(stranger)
        .await
        .err()
        .expect("refused");
    let msg = format!("{err:#}");
    assert!(msg.contains("belongs to installation"), "{msg}");
    cfg.instance = instance;
    let s = TestServer::start_in(data, cfg).await.unwrap();
    let (st, _) = s.call("GET", "/readyz", None).await.unwrap();
    assert_eq!(st, 200);
}
