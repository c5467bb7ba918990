//! Rule: the endpoint table — what each path answers, whatever the method
//! (HEAD gets headers only). Numbers come from the query string; a missing
//! one takes the default noted below, a malformed one is a 400.
//!
//! - `/` → 200 `text/html`, `hello from fixture on port N\n`
//! - `/bytes?n=N` (1024) → N bytes of `a`
//! - `/echo` → the request body, with the request's Content-Type
//! - `/headers` → `METHOD TARGET` then `name: value` per request header
//! - `/sse?n=N&interval_ms=M` (3, 100) → chunked `text/event-stream`,
//!   `data: event I\n\n` for I in 0..N, each flushed, M ms apart
//! - `/slow?ms=M` (1000) → waits M ms, then 200 `slow done`
//! - `/ws` → WebSocket echo (see `ws`)
//! - `/status?code=N` (required, 200–599) → status N, body `status N\n`
//! - `/cookie` → 200 `cookies set\n` with two `Set-Cookie` headers that name a
//!   `Domain` (`planted=1; Domain=preview.localhost; Path=/` and
//!   `own=2; Path=/; domain=.preview.localhost; HttpOnly`)
//! - `/close` → 200 `closing\n` with `Connection: close`, then the server
//!   closes the connection unasked (as apps with short keep-alive timeouts do)
//! - anything else → 404

use std::io::{self, BufRead, Write};
use std::str::FromStr;
use std::thread;
use std::time::Duration;

use crate::http::request::Request;
use crate::http::response::{self, send, Framing, Length, Stream};
use crate::ws;

/// What the connection does after a handler returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next request (only when the response was delimited).
    Continue,
    /// Close the connection.
    Close,
}

const TEXT: &str = "text/plain; charset=utf-8";
/// `/bytes` writes its body from this buffer.
static AAAA: [u8; 64 * 1024] = [b'a'; 64 * 1024];

/// Answers one request whose body has been read.
pub fn handle<R: BufRead, W: Write>(
    req: &Request,
    body: &[u8],
    port: u16,
    reader: &mut R,
    out: &mut W,
) -> io::Result<Next> {
    let framing = Framing::of(req);
    let after = if framing.keep_alive {
        Next::Continue
    } else {
        Next::Close
    };
    let result = match req.path() {
        "/" => {
            let hello = format!("hello from fixture on port {port}\n");
            send(
                out,
                200,
                "text/html; charset=utf-8",
                hello.as_bytes(),
                framing,
            )
        }
        "/bytes" => match number(req, "n", 1024u64) {
            Ok(n) => bytes(out, n, framing),
            Err(msg) => bad_request(out, &msg, framing),
        },
        "/echo" => {
            let content_type = req
                .header("content-type")
                .unwrap_or("application/octet-stream");
            send(out, 200, content_type, body, framing)
        }
        "/headers" => {
            let mut text = format!("{} {}\n", req.method, req.target);
            for (name, value) in &req.headers {
                text.push_str(&format!("{name}: {value}\n"));
            }
            send(out, 200, TEXT, text.as_bytes(), framing)
        }
        "/sse" => match (number(req, "n", 3u64), number(req, "interval_ms", 100u64)) {
            (Ok(n), Ok(ms)) => {
                sse(out, n, Duration::from_millis(ms), framing)?;
                return Ok(if framing.can_chunk() {
                    after
                } else {
                    Next::Close
                });
            }
            (Err(msg), _) | (_, Err(msg)) => bad_request(out, &msg, framing),
        },
        "/slow" => match number(req, "ms", 1000u64) {
            Ok(ms) => {
                thread::sleep(Duration::from_millis(ms));
                send(out, 200, TEXT, b"slow done", framing)
            }
            Err(msg) => bad_request(out, &msg, framing),
        },
        "/ws" => return ws::serve(req, reader, out, framing),
        "/status" => match req.query("code").map(u16::from_str) {
            Some(Ok(code @ 200..=599)) => send(
                out,
                code,
                TEXT,
                format!("status {code}\n").as_bytes(),
                framing,
            ),
            _ => bad_request(out, "code must be a number in 200..=599", framing),
        },
        "/cookie" => {
            let extra = [
                ("Content-Type", TEXT),
                ("Set-Cookie", "planted=1; Domain=preview.localhost; Path=/"),
                (
                    "Set-Cookie",
                    "own=2; Path=/; domain=.preview.localhost; HttpOnly",
                ),
            ];
            let body = b"cookies set\n";
            let mut bytes = response::head(200, &extra, Length::Fixed(body.len() as u64), framing);
            if !framing.head_only {
                bytes.extend_from_slice(body);
            }
            out.write_all(&bytes).and_then(|()| out.flush())
        }
        "/close" => {
            let closing = Framing {
                keep_alive: false,
                ..framing
            };
            send(out, 200, TEXT, b"closing\n", closing)?;
            return Ok(Next::Close);
        }
        _ => send(out, 404, TEXT, b"not found\n", framing),
    };
    result.map(|()| after)
}

/// Query parameter `key` as a number: `Ok(default)` when absent, `Err` with
/// a message when malformed.
fn number<T: FromStr + Copy>(req: &Request, key: &str, default: T) -> Result<T, String> {
    match req.query(key) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| format!("query parameter {key}={raw:?} is not a valid number")),
    }
}

fn bad_request<W: Write>(out: &mut W, msg: &str, framing: Framing) -> io::Result<()> {
    send(out, 400, TEXT, format!("{msg}\n").as_bytes(), framing)
}

fn bytes<W: Write>(out: &mut W, n: u64, framing: Framing) -> io::Result<()> {
    let extra = [("Content-Type", "application/octet-stream")];
    let mut first = response::head(200, &extra, Length::Fixed(n), framing);
    if framing.head_only {
        return out.write_all(&first);
    }
    // Small bodies leave in the same write as the head.
    let mut left = n;
    let take = left.min(AAAA.len() as u64);
    first.extend_from_slice(&AAAA[..take as usize]);
    left -= take;
    out.write_all(&first)?;
    while left > 0 {
        let take = left.min(AAAA.len() as u64);
        out.write_all(&AAAA[..take as usize])?;
        left -= take;
    }
    out.flush()
}

fn sse<W: Write>(out: &mut W, n: u64, interval: Duration, framing: Framing) -> io::Result<()> {
    let extra = [
        ("Content-Type", "text/event-stream"),
        ("Cache-Control", "no-cache"),
    ];
    let mut stream = Stream::start(out, 200, &extra, framing)?;
    for i in 0..n {
        if i > 0 {
            thread::sleep(interval);
        }
        stream.send(format!("data: event {i}\n\n").as_bytes())?;
    }
    stream.finish()
}
