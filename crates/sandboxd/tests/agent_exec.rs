//! Exec through the agent against the real engine: it runs under the agent, loses no output of
//! a fast writer, falls back to `docker exec` while the agent is down and returns to the agent
//! once it is back; the CLI's `exec` streams stdout and stderr apart, exits with the command's
//! code, and turns Ctrl-C into SIGTERM for the process.

use sandboxd_testkit::dexec::{docker_sh, KILL_AGENT};
use sandboxd_testkit::TestServer;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// What ran the command: `agent` through the agent, `init` (the exec wrapper) through docker.
async fn runner(s: &TestServer, id: &str) -> String {
    let (code, out, err) = s.sh(id, "cat /proc/$PPID/comm").await.unwrap();
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

#[tokio::test]
async fn exec_runs_through_the_agent_and_falls_back_to_docker() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    assert_eq!(runner(&s, &id).await, "agent");
    // Kill the agent (the init restarts it after a backoff) until an exec lands in the window
    // where it is down: that exec still works, through docker exec.
    let name = s.container_name(&id);
    let mut fell_back = false;
    for _ in 0..10 {
        let (code, out) = docker_sh(&name, KILL_AGENT).await.unwrap();
        assert_eq!(code, 0, "{out}");
        if runner(&s, &id).await == "init" {
            fell_back = true;
            break;
        }
    }
    assert!(fell_back, "no exec ever fell back to docker exec");
    // And once the agent is back, execs go through it again.
    let mut back = false;
    for _ in 0..100 {
        if runner(&s, &id).await == "agent" {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "exec never returned to the agent");
}

#[tokio::test]
async fn exec_through_the_agent_loses_no_output() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    // ~7 MB written as fast as the command can: the agent must wait for sandboxd, not drop.
    let (code, out, err) = s.sh(&id, "seq 1 1000000").await.unwrap();
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1_000_000, "lost lines (stderr {err})");
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.parse() == Ok(i + 1)));
}

#[tokio::test]
async fn cli_exec_streams_and_ctrl_c_terminates_the_process() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let bin = env!("CARGO_BIN_EXE_sandboxd");
    let cli = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args(args)
            .env("SANDBOXD_API", &s.api)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    let out = cli(&[
        "exec",
        &id,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 4",
    ])
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

    let child = cli(&["exec", &id, "--", "sh", "-c", "echo ready; sleep 60"])
        .spawn()
        .unwrap();
    // Interrupt it once the command runs (ps lists it).
    let mut listed = false;
    for _ in 0..100 {
        let ps = cli(&["ps", &id]).output().await.unwrap();
        if String::from_utf8_lossy(&ps.stdout).contains("sleep 60") {
            listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listed, "the process never showed in ps");
    let pid = child.id().unwrap() as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("exec did not end after Ctrl-C")
        .unwrap();
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ready\n");
}
