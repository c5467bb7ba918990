//! Figure 9, the terminal keystroke echo. Rule: one key goes out and the clock stops when the
//! terminal echoes it back — through sandboxd's terminal WebSocket (API → agent → PTY) against a
//! Docker exec with a TTY attached over the Engine API (the raw way to get a terminal), both
//! running `cat` so the echo comes from the PTY's line discipline alone, in alternating rounds
//! on connections opened once, after untimed warm-up keys.

use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{bail, Context, Result};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::{SinkExt, Stream, StreamExt};
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const TERMINAL: &str = "9. Terminal keystroke echo round trip";
const WARMUP: usize = 5;
/// A key's echo must come back within this.
const ECHO_LIMIT: Duration = Duration::from_secs(10);
/// Ctrl-U (kill line) every so many keys keeps `cat`'s pending line short.
const KILL_LINE_EVERY: usize = 50;

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;
type RawOutput = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// One open terminal of either kind.
enum Term {
    Sandboxd(Box<WsStream>),
    Raw {
        input: Pin<Box<dyn AsyncWrite + Send>>,
        output: RawOutput,
    },
}

impl Term {
    async fn send(&mut self, key: u8) -> Result<()> {
        match self {
            Term::Sandboxd(ws) => ws.send(Message::binary(vec![key])).await?,
            Term::Raw { input, .. } => {
                input.write_all(&[key]).await?;
                input.flush().await?;
            }
        }
        Ok(())
    }

    /// Output until a chunk holding `key` arrives.
    async fn echo_of(&mut self, key: u8) -> Result<()> {
        loop {
            let chunk = match self {
                Term::Sandboxd(ws) => match ws.next().await {
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(Message::Text(t))) => bail!("terminal ended: {t}"),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.into()),
                    None => bail!("terminal closed"),
                },
                Term::Raw { output, .. } => match output.next().await {
                    Some(Ok(out)) => out.into_bytes().to_vec(),
                    Some(Err(e)) => return Err(e.into()),
                    None => bail!("raw exec ended"),
                },
            };
            if chunk.contains(&key) {
                return Ok(());
            }
        }
    }

    /// One timed key (round `i`).
    async fn key(&mut self, i: usize) -> Result<Duration> {
        if i > 0 && i.is_multiple_of(KILL_LINE_EVERY) {
            self.send(0x15).await?;
        }
        let key = b'a' + (i % 26) as u8;
        let t = Instant::now();
        self.send(key).await?;
        tokio::time::timeout(ECHO_LIMIT, self.echo_of(key))
            .await
            .context("no echo within 10 s")??;
        Ok(t.elapsed())
    }
}

pub async fn keystroke_echo(env: &Env) -> Result<Figure> {
    let id = env.api.create(None).await?;
    let raw = env.raw.create(None).await;
    let result = match &raw {
        Ok(name) => measure(env, &id, name).await,
        Err(e) => Err(anyhow::anyhow!("raw container: {e:#}")),
    };
    let _ = env.api.purge(&id).await;
    if let Ok(name) = raw {
        let _ = env.raw.remove(&name).await;
    }
    result
}

async fn measure(env: &Env, id: &str, raw_name: &str) -> Result<Figure> {
    env.raw.start(raw_name).await?;
    let url = format!(
        "{}/v1/sandboxes/{id}/terminal?cmd=cat",
        env.api.base().replacen("http", "ws", 1)
    );
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(60),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .context("terminal: no answer")?
    .context("terminal")?;
    let mut ours = Term::Sandboxd(Box::new(ws));
    let mut theirs = raw_terminal(env, raw_name).await?;
    let (mut s, mut r) = (Series::new(), Series::new());
    for i in 0..env.plan.n_fast + WARMUP {
        let (a, b) = if i % 2 == 0 {
            let a = ours.key(i).await;
            (a, theirs.key(i).await)
        } else {
            let b = theirs.key(i).await;
            (ours.key(i).await, b)
        };
        let broken = a.is_err() || b.is_err();
        if i >= WARMUP {
            s.record("terminal echo via sandboxd", a);
            r.record("terminal echo via docker exec", b);
        }
        if broken {
            break;
        }
    }
    if let Term::Sandboxd(ws) = &mut ours {
        let _ = WsStream::close(ws, None).await;
    }
    let f = Figure::new(TERMINAL, "terminal_keystroke_echo", "ms", &s, Some(&r));
    let added = f.sandboxd.p50 - f.raw.map(|r| r.p50).unwrap_or(f64::NAN);
    Ok(f.extra("added_p50_ms", added).note(format!(
        "one key out and its PTY echo back on an open terminal (`cat`); sandboxd's path is \
         WebSocket → API → agent (one SendInput per key) → PTY; {added:+.3} ms at p50 \
         against a TTY docker exec attached over the Engine API"
    )))
}

/// `cat` on a TTY in the raw container, attached over the Engine API.
async fn raw_terminal(env: &Env, name: &str) -> Result<Term> {
    let opts = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        attach_stdin: Some(true),
        tty: Some(true),
        cmd: Some(vec!["cat".to_string()]),
        user: Some("1000:1000".to_string()),
        ..Default::default()
    };
    let created = env.raw.docker.create_exec(name, opts).await?;
    let start = StartExecOptions {
        detach: false,
        tty: true,
        output_capacity: Some(64 * 1024),
    };
    match env.raw.docker.start_exec(&created.id, Some(start)).await? {
        StartExecResults::Attached { output, input } => Ok(Term::Raw { input, output }),
        StartExecResults::Detached => bail!("the raw exec started detached"),
    }
}
