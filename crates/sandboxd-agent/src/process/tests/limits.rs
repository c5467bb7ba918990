//! Limits: the Start deadline kills the whole group, and bad input (unknown
//! pids, pids the agent did not start, missing stdin, duplicate tags,
//! unspecified signals, resizing a pipe process) gets a clear code.

use serde_json::json;

use super::{client, finish, input, sh, started, stdout_of, CONNECT, START};
use crate::connect::tests::Item;

#[tokio::test]
async fn the_start_deadline_kills_the_process_group() {
    let (c, _agent) = client().await;
    let headers = [("connect-timeout-ms", "300")];
    let mut s = c
        .stream(START, vec![sh("sleep 30; echo never")], &headers)
        .await;
    let pid = started(&mut s).await;
    match s.next().await {
        Some(Item::End(e)) => assert_eq!(e["error"]["code"], "deadline_exceeded"),
        other => panic!("expected the deadline, got {other:?}"),
    }
    let by_pid = json!({"process": {"pid": pid}});
    let mut r = c.stream(CONNECT, vec![by_pid], &[]).await;
    started(&mut r).await;
    assert_eq!(finish(&mut r).await.1["status"], "signal: killed");
}

#[tokio::test]
async fn bad_inputs_are_refused_with_clear_codes() {
    let (c, _agent) = client().await;
    let mut body = sh("exec sleep 30");
    body["tag"] = json!("bad-inputs");
    let mut s = c.stream(START, vec![body.clone()], &[]).await;
    let pid = started(&mut s).await;
    let dup = c.stream(START, vec![body], &[]).await.rest().await;
    assert!(matches!(&dup[..], [Item::End(e)] if e["error"]["code"] == "already_exists"));
    let (status, err) = input(&c, 999_999_999, "x").await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let (status, err) = input(&c, pid, "x").await;
    assert_eq!(
        (status, err["code"].as_str()),
        (412, Some("failed_precondition"))
    );
    let signal = |pid: u32, sig: &str| json!({"process": {"pid": pid}, "signal": sig});
    let (status, _) = c
        .unary(
            "/process.Process/SendSignal",
            signal(pid, "SIGNAL_UNSPECIFIED"),
        )
        .await;
    assert_eq!(status, 400);
    for other in [1, std::process::id()] {
        let (status, _) = c
            .unary(
                "/process.Process/SendSignal",
                signal(other, "SIGNAL_SIGTERM"),
            )
            .await;
        assert_eq!(status, 404, "pid {other} was not started by the agent");
    }
    let resize = json!({"process": {"pid": pid}, "pty": {"size": {"cols": 10, "rows": 5}}});
    assert_eq!(c.unary("/process.Process/Update", resize).await.0, 412);
    let kill = json!({"process": {"tag": "bad-inputs"}, "signal": "SIGNAL_SIGKILL"});
    assert_eq!(c.unary("/process.Process/SendSignal", kill).await.0, 200);
    assert_eq!(finish(&mut s).await.1["status"], "signal: killed");
}

#[tokio::test]
async fn a_background_grandchild_holding_the_pipe_does_not_hold_the_end() {
    let (c, _agent) = client().await;
    let began = std::time::Instant::now();
    let mut s = c.stream(START, vec![sh("sleep 20 & echo hi")], &[]).await;
    let pid = started(&mut s).await;
    let (msgs, end, _) = finish(&mut s).await;
    assert_eq!(
        (stdout_of(&msgs).as_str(), &end["exitCode"]),
        ("hi\n", &json!(0))
    );
    assert!(
        began.elapsed() < std::time::Duration::from_secs(10),
        "end waited for sleep"
    );
    // The grandchild is still in the group; clean it up.
    // SAFETY: kill touches no memory; the group is the one this test started.
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
}
