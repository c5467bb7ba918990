//! process.Process over a real loopback server, with real processes on this
//! host: streaming output, exits, env/cwd, input, reattach and replay.
//! Deadlines and refusals live in `tests/limits.rs`, terminals
//! in `tests/terminal.rs`.

mod limits;
mod terminal;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::connect::tests::{start, Client, Item, Stream};

const START: &str = "/process.Process/Start";
const CONNECT: &str = "/process.Process/Connect";

async fn client() -> (Client, std::sync::Arc<crate::state::Agent>) {
    let (base, agent) = start(Some("tok")).await;
    (Client::new(&base, "tok"), agent)
}

fn sh(script: &str) -> Value {
    json!({"process": {"cmd": "/bin/sh", "args": ["-c", script]}})
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of a data event, if `msg` is one.
fn data(msg: &Value) -> Option<Vec<u8>> {
    let d = &msg["event"]["data"];
    ["stdout", "stderr", "pty"]
        .iter()
        .find_map(|k| d[*k].as_str())
        .map(|s| crate::proto::json::b64::decode(s).unwrap())
}

/// The first message, which must be `start`; returns the pid.
async fn started(s: &mut Stream) -> u32 {
    match s.next().await {
        Some(Item::Message(m)) => {
            assert_eq!(m["seq"], 0, "start is seq 0: {m}");
            m["event"]["start"]["pid"].as_u64().expect("start first") as u32
        }
        other => panic!("expected start, got {other:?}"),
    }
}

/// Reads data events until their text contains `needle`.
async fn until(s: &mut Stream, needle: &str) -> String {
    let mut text = String::new();
    while !text.contains(needle) {
        match s.next().await {
            Some(Item::Message(m)) => {
                if let Some(bytes) = data(&m) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            other => panic!("stream ended before {needle:?} (got {text:?}): {other:?}"),
        }
    }
    text
}

/// Reads to the end: `(all messages, end event, end-stream message)`.
async fn finish(s: &mut Stream) -> (Vec<Value>, Value, Value) {
    let mut msgs = Vec::new();
    for item in s.rest().await {
        match item {
            Item::Message(m) => msgs.push(m),
            Item::End(end) => {
                let event = msgs
                    .last()
                    .map(|m| m["event"]["end"].clone())
                    .unwrap_or(Value::Null);
                return (msgs, event, end);
            }
        }
    }
    panic!("no end-stream message");
}

fn stdout_of(msgs: &[Value]) -> String {
    let bytes: Vec<u8> = msgs.iter().filter_map(data).flatten().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn listed(c: &Client, pid: u32) -> bool {
    let (status, list) = c.unary("/process.Process/List", json!({})).await;
    assert_eq!(status, 200);
    let procs = list["processes"].as_array().cloned().unwrap_or_default();
    procs.iter().any(|p| p["pid"] == pid)
}

fn by_pid_sel(pid: u32) -> crate::proto::process::ProcessSelector {
    crate::proto::process::ProcessSelector::Pid(pid)
}

async fn input(c: &Client, pid: u32, text: &str) -> (u16, Value) {
    let body = json!({"process": {"pid": pid}, "input": {"stdin": b64(text.as_bytes())}});
    c.unary("/process.Process/SendInput", body).await
}

#[tokio::test]
async fn output_streams_before_the_end_and_exits_read_like_go() {
    let (c, _agent) = client().await;
    let mut body = sh("echo first; read x; echo second-$x");
    body["stdin"] = json!(true);
    let mut s = c.stream(START, vec![body], &[]).await;
    let pid = started(&mut s).await;
    assert_eq!(until(&mut s, "first\n").await, "first\n");
    assert!(
        listed(&c, pid).await,
        "still running while its output streamed"
    );
    assert_eq!(input(&c, pid, "go\n").await.0, 200);
    let (msgs, end, stream_end) = finish(&mut s).await;
    assert_eq!(stdout_of(&msgs), "second-go\n");
    assert_eq!(
        end,
        json!({"exitCode": 0, "exited": true, "status": "exit status 0"})
    );
    assert_eq!(stream_end, json!({}));
    let seqs: Vec<u64> = msgs.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq counts up: {seqs:?}"
    );

    let mut s = c.stream(START, vec![sh("exit 3")], &[]).await;
    started(&mut s).await;
    let end = finish(&mut s).await.1;
    assert_eq!(
        end,
        json!({"exitCode": 3, "exited": true, "status": "exit status 3"})
    );
    let mut s = c.stream(START, vec![sh("kill -TERM $$")], &[]).await;
    started(&mut s).await;
    let end = finish(&mut s).await.1;
    assert_eq!(
        end,
        json!({"exitCode": -1, "exited": false, "status": "signal: terminated"})
    );

    let mut s = c.stream(START, vec![sh("exec sleep 30")], &[]).await;
    let pid = started(&mut s).await;
    let kill = json!({"process": {"pid": pid}, "signal": "SIGNAL_SIGKILL"});
    assert_eq!(c.unary("/process.Process/SendSignal", kill).await.0, 200);
    assert_eq!(finish(&mut s).await.1["status"], "signal: killed");
}

#[tokio::test]
async fn env_and_cwd_follow_the_call_then_init_defaults() {
    let (c, agent) = client().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    {
        let mut d = agent.defaults.write().unwrap();
        d.workdir = Some(dir.path().to_path_buf());
        d.envs.insert("BASE".into(), "b".into());
        d.envs.insert("FOO".into(), "default".into());
    }
    let mut body = sh("echo $FOO-$BASE; pwd");
    body["process"]["envs"] = json!({"FOO": "call"});
    body["process"]["cwd"] = json!("sub");
    let mut s = c.stream(START, vec![body], &[]).await;
    started(&mut s).await;
    let want = format!("call-b\n{}\n", dir.path().join("sub").display());
    assert_eq!(stdout_of(&finish(&mut s).await.0), want);
    let mut s = c.stream(START, vec![sh("pwd")], &[]).await;
    started(&mut s).await;
    assert_eq!(
        stdout_of(&finish(&mut s).await.0),
        format!("{}\n", dir.path().display())
    );

    let mut body = sh("true");
    body["process"]["cwd"] = json!("/no/such/dir");
    let items = c.stream(START, vec![body], &[]).await.rest().await;
    assert!(matches!(&items[..], [Item::End(e)] if e["error"]["code"] == "invalid_argument"));
    let body = json!({"process": {"cmd": "/no/such/program"}});
    let items = c.stream(START, vec![body], &[]).await.rest().await;
    assert!(matches!(&items[..], [Item::End(e)] if e["error"]["code"] == "not_found"));
}

#[tokio::test]
async fn stdin_round_trip_stream_input_and_close() {
    let (c, _agent) = client().await;
    let body = json!({"process": {"cmd": "cat"}, "stdin": true});
    let mut s = c.stream(START, vec![body], &[]).await;
    let pid = started(&mut s).await;
    assert_eq!(input(&c, pid, "hello\n").await.0, 200);
    until(&mut s, "hello\n").await;
    let msgs = vec![
        json!({"start": {"process": {"pid": pid}}}),
        json!({"keepalive": {}}),
        json!({"data": {"input": {"stdin": b64(b"more\n")}}}),
    ];
    let answer = c
        .stream("/process.Process/StreamInput", msgs, &[])
        .await
        .rest()
        .await;
    assert_eq!(answer, [Item::Message(json!({})), Item::End(json!({}))]);
    until(&mut s, "more\n").await;
    let close = json!({"process": {"pid": pid}});
    assert_eq!(c.unary("/process.Process/CloseStdin", close).await.0, 200);
    assert_eq!(finish(&mut s).await.1["exitCode"], 0, "cat saw EOF");
}

#[tokio::test]
async fn background_survives_reattach_by_pid_and_tag_with_two_subscribers() {
    let (c, agent) = client().await;
    let mut body = sh("read x; echo got-$x; read y; echo end-$y");
    body["stdin"] = json!(true);
    body["tag"] = json!("bg-survives");
    let mut s = c.stream(START, vec![body], &[]).await;
    let pid = started(&mut s).await;
    drop(s);
    let by_pid = json!({"process": {"pid": pid}});
    let by_tag = json!({"process": {"tag": "bg-survives"}});
    let mut a = c.stream(CONNECT, vec![by_pid], &[]).await;
    assert_eq!(started(&mut a).await, pid);
    assert_eq!(input(&c, pid, "a\n").await.0, 200);
    until(&mut a, "got-a\n").await;
    drop(a);
    assert!(
        listed(&c, pid).await,
        "a dropped Connect does not kill either"
    );
    let proc = agent.processes.running(&by_pid_sel(pid)).unwrap();
    let mut waited = 0;
    while proc.output.subscribers() > 0 {
        assert!(waited < 500, "an idle follower outlived its client");
        waited += 1;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut a = c.stream(CONNECT, vec![by_tag.clone()], &[]).await;
    let mut b = c.stream(CONNECT, vec![by_tag], &[]).await;
    assert_eq!((started(&mut a).await, started(&mut b).await), (pid, pid));
    assert_eq!(input(&c, pid, "b\n").await.0, 200);
    let (ma, ea, _) = finish(&mut a).await;
    let (mb, eb, _) = finish(&mut b).await;
    assert_eq!(stdout_of(&ma), "end-b\n");
    assert_eq!(
        ma, mb,
        "both subscribers got the same events, seqs included"
    );
    assert_eq!(
        (ea["exitCode"].clone(), eb["exited"].clone()),
        (json!(0), json!(true))
    );
}

#[tokio::test]
async fn replay_since_and_late_connect_after_exit() {
    let (c, _agent) = client().await;
    let mut s = c
        .stream(START, vec![sh("echo one; echo two >&2; echo three")], &[])
        .await;
    let pid = started(&mut s).await;
    let (all, _, _) = finish(&mut s).await;
    assert!(!listed(&c, pid).await);
    let by_pid = json!({"process": {"pid": pid}});
    let late = c
        .stream(CONNECT, vec![by_pid.clone()], &[])
        .await
        .rest()
        .await;
    assert_eq!(late.len(), 3, "start, end, end-stream: {late:?}");
    assert_eq!(late[1], Item::Message(all.last().unwrap().clone()));
    let mut r = c
        .stream(CONNECT, vec![by_pid.clone()], &[("x-sandboxd-since", "0")])
        .await;
    started(&mut r).await;
    assert_eq!(finish(&mut r).await.0, all, "since 0 replays everything");
    let first = all[0]["seq"].as_u64().unwrap().to_string();
    let mut r = c
        .stream(
            CONNECT,
            vec![by_pid.clone()],
            &[("x-sandboxd-since", &first)],
        )
        .await;
    started(&mut r).await;
    assert_eq!(finish(&mut r).await.0, all[1..]);
    let bad = c
        .stream(CONNECT, vec![by_pid], &[("x-sandboxd-since", "x")])
        .await
        .rest()
        .await;
    assert!(matches!(&bad[..], [Item::End(e)] if e["error"]["code"] == "invalid_argument"));
}
