//! The terminal WebSocket against a real sandbox (issue 8, wave 2): resize reaches the PTY,
//! Ctrl-C reaches the foreground process, the exit frame carries the shell's code, a closed
//! socket leaves no shell behind, and the session shows in /activity while it is open. Bad
//! sizes are refused before the upgrade and a deleted sandbox is 410.

use futures_util::{SinkExt, StreamExt};
use sandboxd_testkit::TestServer;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open(s: &TestServer, id: &str, query: &str) -> Result<Ws, tungstenite::Error> {
    let url = format!(
        "ws://{}/v1/sandboxes/{id}/terminal{query}",
        s.api.trim_start_matches("http://")
    );
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
}

/// Terminal output read so far, and the control frames seen.
#[derive(Default)]
struct Screen {
    bytes: Vec<u8>,
    texts: Vec<String>,
    closed: bool,
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Reads frames until `done` holds (bounded).
    async fn until(&mut self, ws: &mut Ws, what: &str, done: impl Fn(&Screen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = tokio::time::timeout(left, ws.next()).await;
            match frame {
                Err(_) => panic!("timed out waiting for {what}; screen: {:?}", self.text()),
                Ok(Some(Ok(Message::Binary(b)))) => self.bytes.extend_from_slice(&b),
                Ok(Some(Ok(Message::Text(t)))) => self.texts.push(t.to_string()),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    assert!(done(self), "socket closed before {what}: {:?}", self.text());
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

async fn send(ws: &mut Ws, keys: &str) {
    ws.send(Message::binary(keys.as_bytes().to_vec()))
        .await
        .unwrap();
}

async fn terminals_open(s: &TestServer, id: &str) -> u64 {
    let (st, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    v["sessions"]["terminal"].as_u64().unwrap()
}

/// Bounded poll until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn terminal_resizes_interrupts_exits_and_leaves_no_shell() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"term"}"#).await.unwrap();

    // Refused before any upgrade.
    for q in ["?cols=0", "?rows=1001", "?cols=abc", "?cmd="] {
        let (st, v) = s
            .call("GET", &format!("/v1/sandboxes/{id}/terminal{q}"), None)
            .await
            .unwrap();
        assert_eq!(st, 400, "{q}: {v}");
    }
    let (st, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}/terminal"), None)
        .await
        .unwrap();
    assert_eq!(st, 400, "a plain GET is not a WebSocket: {v}");

    let mut ws = open(&s, &id, "?cols=80&rows=24").await.unwrap();
    let mut screen = Screen::default();
    assert_eq!(terminals_open(&s, &id).await, 1);

    // Resize, then the PTY reports the new size.
    ws.send(Message::text(r#"{"type":"resize","cols":101,"rows":33}"#))
        .await
        .unwrap();
    send(&mut ws, "stty size\r").await;
    screen
        .until(&mut ws, "stty size after resize", |s| {
            s.text().contains("33 101")
        })
        .await;

    // Ctrl-C (a raw 0x03 byte) interrupts the foreground process.
    send(&mut ws, "sleep 100\r").await;
    eventually("sleep 100 to run", || async {
        let (_, out, _) = s.sh(&id, "ps -o args").await.unwrap();
        out.lines().any(|l| l.trim() == "sleep 100")
    })
    .await;
    send(&mut ws, "\x03").await;
    send(&mut ws, "echo after-$((40+2))\r").await;
    screen
        .until(&mut ws, "the shell back after Ctrl-C", |s| {
            s.text().contains("after-42")
        })
        .await;
    let (_, out, _) = s.sh(&id, "ps -o args").await.unwrap();
    assert!(
        !out.lines().any(|l| l.trim() == "sleep 100"),
        "sleep survived Ctrl-C: {out}"
    );

    // `exit 7`: the exit frame carries the code, then the server closes.
    send(&mut ws, "exit 7\r").await;
    screen
        .until(&mut ws, "the exit frame", |s| !s.texts.is_empty())
        .await;
    let exit: serde_json::Value = serde_json::from_str(&screen.texts[0]).unwrap();
    assert_eq!(exit, serde_json::json!({"type": "exit", "exit_code": 7}));
    screen.until(&mut ws, "the close", |s| s.closed).await;
    eventually("the terminal session to end", || async {
        terminals_open(&s, &id).await == 0
    })
    .await;

    // A socket closed under a live shell takes the shell with it.
    let mut ws = open(&s, &id, "").await.unwrap();
    let mut screen = Screen::default();
    send(&mut ws, "echo SHELL=$$=\r").await;
    screen
        .until(&mut ws, "the shell's pid", |s| {
            shell_pid(&s.text()).is_some()
        })
        .await;
    let pid = shell_pid(&screen.text()).unwrap();
    let (code, _, _) = s.sh(&id, &format!("test -d /proc/{pid}")).await.unwrap();
    assert_eq!(code, 0, "the shell {pid} is not running");
    ws.close(None).await.unwrap();
    drop(ws);
    eventually("the shell to be gone after the socket closed", || async {
        let (code, _, _) = s.sh(&id, &format!("test -d /proc/{pid}")).await.unwrap();
        code != 0
    })
    .await;
    eventually("the terminal session to end", || async {
        terminals_open(&s, &id).await == 0
    })
    .await;

    // A command instead of a shell; its exit code comes back.
    let mut ws = open(&s, &id, "?cmd=exit%203").await.unwrap();
    let mut screen = Screen::default();
    screen
        .until(&mut ws, "the command's exit", |s| !s.texts.is_empty())
        .await;
    assert_eq!(screen.texts[0], r#"{"type":"exit","exit_code":3}"#);

    // Deleted: 410, and no socket.
    let (st, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert!(st == 200 || st == 204, "delete: {st}");
    match open(&s, &id, "").await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 410),
        Err(e) => panic!("expected 410, got {e}"),
        Ok(_) => panic!("a deleted sandbox opened a terminal"),
    }
}

/// The pid in `SHELL=<digits>=` (the echoed command line shows `$$`, not digits).
fn shell_pid(screen: &str) -> Option<u32> {
    screen.split("SHELL=").skip(1).find_map(|rest| {
        let (digits, _) = rest.split_once('=')?;
        digits.parse().ok()
    })
}

/// `sandboxd exec -it` and `sandboxd shell`, the real binary, with piped stdin (no local TTY:
/// the input goes through as typed, end of input is the terminal's Ctrl-D).
#[tokio::test]
async fn cli_exec_it_and_shell_return_the_remote_exit_code() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"termcli"}"#).await.unwrap();
    const CLI: &str = env!("CARGO_BIN_EXE_sandboxd");
    let run = |args: Vec<String>, input: &'static str| run_with(CLI, &s.api, args, input);
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let (code, out, err) = run(
        args(&[
            "exec",
            "-it",
            &id,
            "--",
            "sh",
            "-c",
            "echo \"it's\" $((6*7)); exit 5",
        ]),
        "",
    )
    .await;
    assert_eq!(code, Some(5), "{out} {err}");
    assert!(out.contains("it's 42"), "{out}");

    let (code, out, err) = run(args(&["shell", &id]), "echo shell-$((1+2))\nexit 4\n").await;
    assert_eq!(code, Some(4), "{out} {err}");
    assert!(out.contains("shell-3"), "{out}");

    // A piped shell ends at end of input (Ctrl-D), with the shell's status.
    let (code, out, err) = run(args(&["shell", &id]), "true\n").await;
    assert_eq!(code, Some(0), "{out} {err}");

    // On a real local terminal (script(1) gives it one): raw mode while attached, and the
    // settings found at start are back afterwards.
    if std::path::Path::new("/usr/bin/script").exists() {
        let line = format!("stty -g; {} shell {id}; echo code=$?; stty -g", CLI);
        let (code, out, err) = run_with(
            "timeout",
            &s.api,
            args(&["20", "script", "-qec", &line, "/dev/null"]),
            "echo in-$((2+3))\nexit 6\n",
        )
        .await;
        assert_eq!(code, Some(0), "{out} {err}");
        assert!(out.contains("in-5") && out.contains("code=6"), "{out}");
        let settings: Vec<&str> = out
            .lines()
            .map(str::trim)
            .filter(|l| l.len() > 20 && l.split(':').count() > 10)
            .collect();
        assert_eq!(settings.len(), 2, "{out}");
        assert_eq!(settings[0], settings[1], "terminal settings not restored");
    }

    let (code, _, err) = run(args(&["shell", "nosuchbox"]), "").await;
    assert_eq!(code, Some(1));
    assert!(err.contains("404"), "{err}");
}

/// Runs `program` with `input` on stdin and the API in the environment; (code, stdout, stderr).
async fn run_with(
    program: &str,
    api: &str,
    args: Vec<String>,
    input: &str,
) -> (Option<i32>, String, String) {
    let mut child = tokio::process::Command::new(program)
        .args(args.clone())
        .env("SANDBOXD_API", api)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish"))
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
