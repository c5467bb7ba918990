//! `sandboxd shell ID` and `sandboxd exec -it ID -- CMD…`: the local terminal attached to a
//! sandbox's terminal WebSocket. Rule: keystrokes go out as they are typed (raw mode, so Ctrl-C
//! is a byte for the remote process, not a signal for this one), the remote output is written
//! as it arrives, a local resize (SIGWINCH) is sent as a resize frame, and the exit code is the
//! remote process's. SIGTERM/SIGHUP close the socket (the server then ends the remote process)
//! and exit 128+signal; raw mode is undone on every way out (see `raw`).

mod raw;

use super::client::Api;
use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::Read;
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Attach to a terminal on `id`: a login shell, or `cmd` run by it.
pub async fn attach(api: &Api, id: &str, cmd: Option<&[String]>) -> Result<i32> {
    let (cols, rows) = raw::window_size().unwrap_or((80, 24));
    let mut params = vec![("cols", cols.to_string()), ("rows", rows.to_string())];
    if let Some(cmd) = cmd {
        params.push(("cmd", shell_line(cmd)));
    }
    let base = format!("{}/v1/sandboxes/{id}/terminal", api.base());
    let mut url = reqwest::Url::parse_with_params(&base, &params).context("the API URL")?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    if url.set_scheme(scheme).is_err() {
        bail!("the API URL must be http:// or https://");
    }
    let mut req = url.as_str().into_client_request()?;
    if let Some(t) = api.token() {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse()?);
    }
    let ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(WsError::Http(resp)) => {
            let body: Value = resp
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            let code = body["error"]["code"].as_str().unwrap_or("error");
            let msg = body["error"]["message"].as_str().unwrap_or("");
            bail!("{} {code}: {msg}", resp.status());
        }
        Err(e) => return Err(e).with_context(|| format!("connecting to {}", api.base())),
    };
    let raw = raw::RawMode::enable().context("switching the terminal to raw mode")?;
    let piped = raw.is_none();
    let outcome = relay(ws, piped).await;
    drop(raw);
    match outcome? {
        Ended::Exit(code) => Ok(code),
        Ended::Signal(sig) => Ok(128 + sig),
        Ended::Closed => {
            eprintln!("sandboxd: the terminal closed without an exit code");
            Ok(1)
        }
    }
}

/// How long input typed ahead waits for the remote side's first output.
const PIPED_INPUT_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

enum Ended {
    Exit(i32),
    Signal(i32),
    Closed,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn relay(ws: Socket, piped: bool) -> Result<Ended> {
    let (mut sink, mut frames) = ws.split();
    let mut input = stdin_chunks();
    let mut stdin_open = true;
    // Input typed ahead (or piped, all there at once) could reach an interactive shell before it
    // sets up its terminal, which may discard it: hold input until the remote side has printed
    // something (its prompt) or a moment has passed (a silent command waiting for input).
    let mut held = true;
    let hold_until = tokio::time::sleep(PIPED_INPUT_HOLD);
    tokio::pin!(hold_until);
    let mut winch = signal(SignalKind::window_change())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut stdout = tokio::io::stdout();
    let mut exit = None;
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(Message::Binary(bytes))) => {
                    held = false;
                    stdout.write_all(&bytes).await?;
                    stdout.flush().await?;
                }
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    if v["type"] == "exit" {
                        exit = v["exit_code"].as_i64().map(|c| c as i32);
                    }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    if exit.is_some() {
                        break;
                    }
                    return Err(e).context("the terminal connection broke");
                }
            },
            _ = &mut hold_until, if held => held = false,
            chunk = input.recv(), if stdin_open && !held => match chunk {
                Some(bytes) => sink.send(Message::binary(bytes)).await?,
                None => {
                    stdin_open = false;
                    // End of piped input: the terminal's end-of-file character.
                    if piped {
                        sink.send(Message::binary(vec![0x04])).await?;
                    }
                }
            },
            _ = winch.recv() => {
                if let Some((cols, rows)) = raw::window_size() {
                    let frame = json!({"type": "resize", "cols": cols, "rows": rows});
                    sink.send(Message::text(frame.to_string())).await?;
                }
            }
            _ = term.recv() => return Ok(hang_up(&mut sink, libc::SIGTERM).await),
            _ = hup.recv() => return Ok(hang_up(&mut sink, libc::SIGHUP).await),
        }
    }
    Ok(exit.map(Ended::Exit).unwrap_or(Ended::Closed))
}

/// Close the socket (the server ends the remote process) and report the signal.
async fn hang_up<S>(sink: &mut S, sig: i32) -> Ended
where
    S: futures_util::Sink<Message> + Unpin,
{
    let _ = sink.send(Message::Close(None)).await;
    Ended::Signal(sig)
}

/// Stdin in chunks as they are read, on a thread of its own (a blocking read must not hold
/// up the runtime's shutdown; the process exits with the thread still blocked, which is fine).
fn stdin_chunks() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdin.read(&mut buf) {
            if tx.blocking_send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// `argv` as one POSIX shell command line (each word single-quoted when it needs quoting).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            let plain = !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::shell_line;

    #[test]
    fn argv_is_quoted_for_the_shell() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(shell_line(&argv(&["ls", "-la", "/tmp"])), "ls -la /tmp");
        assert_eq!(
            shell_line(&argv(&["sh", "-c", "echo $HOME; it's"])),
            r"sh -c 'echo $HOME; it'\''s'"
        );
        assert_eq!(shell_line(&argv(&["printf", ""])), "printf ''");
    }
}
