//! Rule: every response goes out as `HTTP/1.1`, framed so the client can
//! find its end without closing — Content-Length when the size is known,
//! `Transfer-Encoding: chunked` when streaming — except to HTTP/1.0 clients,
//! whose streamed responses end by closing the connection. The Connection
//! header always states whether the connection stays open. HEAD responses
//! carry the GET headers and no body; 1xx/204/304 never carry a body.

use std::io::{self, Write};

use super::request::Request;

/// How the response to one request must be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// The connection stays open after this response (if it is delimited).
    pub keep_alive: bool,
    pub http10: bool,
    /// The request was HEAD: headers only.
    pub head_only: bool,
}

impl Framing {
    pub fn of(req: &Request) -> Self {
        Framing {
            keep_alive: req.keep_alive(),
            http10: req.http10,
            head_only: req.method == "HEAD",
        }
    }

    /// Whether a streamed response can be chunked (else it ends by closing).
    pub fn can_chunk(self) -> bool {
        !self.http10
    }
}

/// The length part of a response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Fixed(u64),
    Streamed,
}

/// Serializes a response head. `extra` headers come before the framing ones.
pub fn head(status: u16, extra: &[(&str, &str)], length: Length, framing: Framing) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut keep_alive = framing.keep_alive;
    match length {
        _ if !has_body(status) => {}
        Length::Fixed(len) => out.push_str(&format!("Content-Length: {len}\r\n")),
        Length::Streamed if framing.can_chunk() => out.push_str("Transfer-Encoding: chunked\r\n"),
        Length::Streamed => keep_alive = false,
    }
    out.push_str(match (keep_alive, framing.http10) {
        (false, _) => "Connection: close\r\n",
        (true, true) => "Connection: keep-alive\r\n",
        (true, false) => "",
    });
    out.push_str("\r\n");
    out.into_bytes()
}

/// Sends a complete response with a known body in a single write.
pub fn send<W: Write>(
    out: &mut W,
    status: u16,
    content_type: &str,
    body: &[u8],
    framing: Framing,
) -> io::Result<()> {
    let len = Length::Fixed(body.len() as u64);
    let mut bytes = head(status, &[("Content-Type", content_type)], len, framing);
    if has_body(status) && !framing.head_only {
        bytes.extend_from_slice(body);
    }
    out.write_all(&bytes)?;
    out.flush()
}

/// A streamed response body: one chunk per [`Stream::send`], each flushed.
pub struct Stream<'a, W: Write> {
    out: &'a mut W,
    chunked: bool,
    head_only: bool,
}

impl<'a, W: Write> Stream<'a, W> {
    /// Writes the head of a streamed response.
    pub fn start(
        out: &'a mut W,
        status: u16,
        extra: &[(&str, &str)],
        framing: Framing,
    ) -> io::Result<Self> {
        out.write_all(&head(status, extra, Length::Streamed, framing))?;
        out.flush()?;
        Ok(Stream {
            out,
            chunked: framing.can_chunk(),
            head_only: framing.head_only,
        })
    }

    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if self.head_only || data.is_empty() {
            return Ok(());
        }
        if self.chunked {
            let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
            chunk.extend_from_slice(data);
            chunk.extend_from_slice(b"\r\n");
            self.out.write_all(&chunk)?;
        } else {
            self.out.write_all(data)?;
        }
        self.out.flush()
    }

    /// Ends the body (the last chunk); without chunking the caller closes.
    pub fn finish(self) -> io::Result<()> {
        if self.chunked && !self.head_only {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()
    }
}

fn has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// Reason phrase of `status` (any text is valid; these are the usual ones).
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Framing = Framing {
        keep_alive: true,
        http10: false,
        head_only: false,
    };

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn fixed_response_in_one_piece() {
        let mut out = Vec::new();
        send(&mut out, 200, "text/plain", b"hi", KEEP).unwrap();
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
        );
    }

    #[test]
    fn close_head_and_no_body_statuses() {
        let mut out = Vec::new();
        let close_head = Framing {
            keep_alive: false,
            head_only: true,
            ..KEEP
        };
        send(&mut out, 404, "text/plain", b"nope", close_head).unwrap();
        assert_eq!(
            text(&out),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
        );
        let mut out = Vec::new();
        send(&mut out, 204, "text/plain", b"x", KEEP).unwrap();
        assert_eq!(
            text(&out),
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"
        );
    }

    #[test]
    fn chunked_stream() {
        let mut out = Vec::new();
        let mut stream = Stream::start(
            &mut out,
            200,
            &[("Content-Type", "text/event-stream")],
            KEEP,
        )
        .unwrap();
        stream.send(b"data: 1\n\n").unwrap();
        stream.send(b"").unwrap();
        stream.finish().unwrap();
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"
        );
    }

    #[test]
    fn http10_streams_close_and_keep_alive_is_explicit() {
        let old = Framing {
            http10: true,
            ..KEEP
        };
        let mut out = Vec::new();
        let mut stream = Stream::start(&mut out, 200, &[], old).unwrap();
        stream.send(b"abc").unwrap();
        stream.finish().unwrap();
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"
        );
        let fixed = head(200, &[], Length::Fixed(0), old);
        assert_eq!(
            text(&fixed),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
        );
    }
}
