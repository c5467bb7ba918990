//! Rule: `/ws` is an RFC 6455 echo endpoint. A GET with `Upgrade: websocket`,
//! `Connection: upgrade`, a `Sec-WebSocket-Key` and version 13 gets a 101
//! with the computed accept key; anything else gets 400 (426 for another
//! version) and stays plain HTTP. After the handshake the connection belongs
//! to the echo loop: text, binary and continuation frames come back as they
//! came (unmasked), pings get pongs, pongs are ignored, a close is answered
//! with a close carrying the same payload and the connection ends; protocol
//! errors close with 1002, oversized frames with 1009.

mod base64;
pub mod frame;
mod sha1;

use std::io::{self, BufRead, Write};

use crate::http::request::Request;
use crate::http::response::{self, send, Framing};
use crate::routes::Next;
use frame::{FrameError, BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};

/// Largest frame payload echoed.
const MAX_PAYLOAD: u64 = 16 << 20;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    base64::encode(&sha1::sha1(format!("{key}{GUID}").as_bytes()))
}

/// Handshake, then echo until the connection or the session ends.
pub fn serve<R: BufRead, W: Write>(
    req: &Request,
    reader: &mut R,
    out: &mut W,
    framing: Framing,
) -> io::Result<Next> {
    let after = if framing.keep_alive {
        Next::Continue
    } else {
        Next::Close
    };
    let upgrade = req.method == "GET"
        && !req.http10
        && req.has_token("upgrade", "websocket")
        && req.has_token("connection", "upgrade");
    let Some(key) = req.header("sec-websocket-key").filter(|_| upgrade) else {
        let text = b"expected a WebSocket upgrade (GET, Upgrade: websocket, Sec-WebSocket-Key)\n";
        send(out, 400, "text/plain; charset=utf-8", text, framing)?;
        return Ok(after);
    };
    if req.header("sec-websocket-version") != Some("13") {
        let extra = [("Sec-WebSocket-Version", "13")];
        let len = response::Length::Fixed(0);
        out.write_all(&response::head(426, &extra, len, framing))?;
        return Ok(after);
    }
    let handshake = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    out.write_all(handshake.as_bytes())?;
    out.flush()?;
    echo(reader, out)?;
    Ok(Next::Close)
}

fn echo<R: BufRead, W: Write>(reader: &mut R, out: &mut W) -> io::Result<()> {
    loop {
        let frame = match frame::read(reader, MAX_PAYLOAD) {
            Ok(frame) => frame,
            Err(FrameError::Io(err)) => return Err(err),
            Err(FrameError::Protocol(why)) => return close(out, 1002, why),
            Err(FrameError::TooBig) => return close(out, 1009, "frame too big"),
        };
        match frame.opcode {
            TEXT | BINARY | CONTINUATION => {
                out.write_all(&frame::encode(
                    frame.fin,
                    frame.opcode,
                    &frame.payload,
                    None,
                ))?;
            }
            PING => out.write_all(&frame::encode(true, PONG, &frame.payload, None))?,
            PONG => {}
            CLOSE => {
                out.write_all(&frame::encode(true, CLOSE, &frame.payload, None))?;
                return out.flush();
            }
            // `frame::read` only returns the opcodes above.
            _ => return close(out, 1002, "unexpected opcode"),
        }
        out.flush()?;
    }
}

/// Sends a close frame with `code` and `reason` (kept under the 125-byte limit).
fn close<W: Write>(out: &mut W, code: u16, reason: &str) -> io::Result<()> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend(reason.bytes().take(123));
    out.write_all(&frame::encode(true, CLOSE, &payload, None))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse_head;

    /// RFC 6455 §1.3's example (verified with an independent SHA-1 + base64:
    /// `s3pPLMBiTxaQ9kg4IXjBRbXmOzo=`, sometimes quoted for it, is wrong).
    #[test]
    fn rfc_6455_accept_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn session(head: &str, client_frames: &[u8]) -> (Next, Vec<u8>) {
        let req = parse_head(head.as_bytes()).unwrap();
        let mut reader = client_frames;
        let mut out = Vec::new();
        let next = serve(&req, &mut reader, &mut out, Framing::of(&req));
        (next.unwrap_or(Next::Close), out)
    }

    const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn handshake_then_echo_ping_and_close() {
        let mask = Some([9, 8, 7, 6]);
        let mut client = frame::encode(true, TEXT, b"hi there", mask);
        client.extend(frame::encode(true, PING, b"p", mask));
        client.extend(frame::encode(true, BINARY, &[0, 255], mask));
        client.extend(frame::encode(true, CLOSE, &1000u16.to_be_bytes(), mask));
        client.extend(frame::encode(true, TEXT, b"after close", mask));
        let (next, out) = session(UPGRADE, &client);
        assert_eq!(next, Next::Close);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut expected = frame::encode(true, TEXT, b"hi there", None);
        expected.extend(frame::encode(true, PONG, b"p", None));
        expected.extend(frame::encode(true, BINARY, &[0, 255], None));
        expected.extend(frame::encode(true, CLOSE, &1000u16.to_be_bytes(), None));
        assert_eq!(&out[end..], &expected[..]);
    }

    #[test]
    fn protocol_error_closes_with_1002() {
        let (_, out) = session(UPGRADE, &[0xC1, 0x80, 0, 0, 0, 0]);
        let close = frame::encode(true, CLOSE, b"\x03\xEAreserved bits set", None);
        assert!(out.ends_with(&close));
    }

    #[test]
    fn plain_get_is_refused_and_keeps_the_connection() {
        let (next, out) = session("GET /ws HTTP/1.1\r\n\r\n", b"");
        assert_eq!(next, Next::Continue);
        assert!(out.starts_with(b"HTTP/1.1 400 "));
        let old = UPGRADE.replace("Version: 13", "Version: 8");
        let (_, out) = session(&old, b"");
        assert!(out.starts_with(b"HTTP/1.1 426 "));
    }
}
