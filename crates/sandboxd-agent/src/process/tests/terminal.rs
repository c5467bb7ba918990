//! Terminals: TERM default, resize seen by the program, Ctrl-C through the
//! line discipline, and input kinds kept apart.

use std::time::Duration;

use serde_json::{json, Value};

use super::{b64, client, finish, started, until, START};
use crate::connect::tests::Client;

fn pty_input(pid: u32, bytes: &[u8]) -> Value {
    json!({"process": {"pid": pid}, "input": {"pty": b64(bytes)}})
}

async fn type_in(c: &Client, pid: u32, bytes: &[u8]) {
    let (status, body) = c
        .unary("/process.Process/SendInput", pty_input(pid, bytes))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Pids whose parent is `parent` and whose command is `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …
        let Some((head, tail)) = stat.rsplit_once(") ") else {
            continue;
        };
        let name = head.split_once(" (").map(|(_, n)| n);
        let ppid = tail.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
        if name == Some(comm) && ppid == Some(parent) {
            found.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

#[tokio::test]
async fn resize_reaches_the_program_and_term_defaults() {
    let (c, _agent) = client().await;
    let body = json!({
        "process": {"cmd": "/bin/sh", "args": ["-c", "echo term=$TERM; stty size; read x; stty size"]},
        "pty": {"size": {"cols": 80, "rows": 24}},
    });
    let mut s = c.stream(START, vec![body], &[]).await;
    let pid = started(&mut s).await;
    let text = until(&mut s, "24 80").await;
    assert!(text.contains("term=xterm-256color"), "{text:?}");
    let resize = json!({"process": {"pid": pid}, "pty": {"size": {"cols": 132, "rows": 50}}});
    assert_eq!(c.unary("/process.Process/Update", resize).await.0, 200);
    let (status, err) = c
        .unary(
            "/process.Process/SendInput",
            json!({"process": {"pid": pid}, "input": {"stdin": b64(b"x")}}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (412, Some("failed_precondition"))
    );
    type_in(&c, pid, b"go\n").await;
    until(&mut s, "50 132").await;
    assert_eq!(finish(&mut s).await.1["exitCode"], 0);
}

#[tokio::test]
async fn ctrl_c_interrupts_the_foreground_command() {
    let (c, _agent) = client().await;
    let body = json!({
        "process": {"cmd": "/bin/sh", "args": ["-i"], "envs": {"PS1": "$ "}},
        "pty": {"size": {"cols": 80, "rows": 24}},
    });
    let mut s = c.stream(START, vec![body], &[]).await;
    let shell = started(&mut s).await;
    type_in(&c, shell, b"sleep 100\n").await;
    let mut waited = 0;
    while children_named(shell, "sleep").is_empty() {
        assert!(waited < 500, "sleep never started under the shell");
        waited += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    type_in(&c, shell, b"\x03").await;
    type_in(&c, shell, b"echo after-$((40+2))\n").await;
    until(&mut s, "after-42").await;
    type_in(&c, shell, b"exit 7\n").await;
    assert_eq!(finish(&mut s).await.1["exitCode"], 7);
}
