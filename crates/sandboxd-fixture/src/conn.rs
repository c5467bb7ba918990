//! Rule: one connection, one thread, requests answered strictly in order.
//! The connection stays open for the next request unless the client asked
//! to close (or spoke HTTP/1.0 without keep-alive), the request was
//! malformed (answered 400, then closed), a handler took the socket over
//! (WebSocket) or ended a response by closing — and any I/O error quietly
//! ends the thread.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;

use crate::http::body::read_body;
use crate::http::request::{parse_head, read_head};
use crate::http::response::{send, Framing};
use crate::http::HttpError;
use crate::routes::{self, Next};

/// Serves `stream` until it closes; `port` is the listening port it came from.
pub fn serve(stream: TcpStream, port: u16) {
    // Small request/response exchanges must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    // Errors only mean the peer is gone or misbehaved; nothing to report.
    let _ = exchange_all(&mut reader, &mut out, port);
}

/// Runs request/response exchanges over `reader`/`out` until one says close.
pub fn exchange_all<R: BufRead, W: Write>(
    reader: &mut R,
    out: &mut W,
    port: u16,
) -> io::Result<()> {
    loop {
        let req = match read_head(reader).and_then(|head| head.map(|h| parse_head(&h)).transpose())
        {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(()),
            Err(err) => return reject(out, err),
        };
        if !req.http10 && req.has_token("expect", "100-continue") {
            out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            out.flush()?;
        }
        let body = match read_body(reader, &req) {
            Ok(body) => body,
            Err(err) => return reject(out, err),
        };
        if routes::handle(&req, &body, port, reader, out)? == Next::Close {
            return Ok(());
        }
    }
}

/// Ends the connection after a failed read, answering 400 if it was malformed.
fn reject<W: Write>(out: &mut W, err: HttpError) -> io::Result<()> {
    match err {
        HttpError::Io(err) => Err(err),
        HttpError::Bad(why) => {
            let framing = Framing {
                keep_alive: false,
                http10: false,
                head_only: false,
            };
            send(
                out,
                400,
                "text/plain; charset=utf-8",
                format!("{why}\n").as_bytes(),
                framing,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> String {
        let mut reader = input;
        let mut out = Vec::new();
        let _ = exchange_all(&mut reader, &mut out, 3000);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn close_route_ends_a_keep_alive_connection() {
        let out = run(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(
            out.ends_with("closing\n"),
            "the second request was served: {out}"
        );
    }

    #[test]
    fn keep_alive_serves_pipelined_requests_in_order() {
        let out = run(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\
                        POST /echo HTTP/1.1\r\nContent-Type: text/x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
                        GET /bytes?n=3 HTTP/1.1\r\nConnection: close\r\n\r\n\
                        GET /never HTTP/1.1\r\n\r\n");
        let expected = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 32\r\n\r\nhello from fixture on port 3000\n\
                        HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nContent-Length: 3\r\n\r\nabc\
                        HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\nConnection: close\r\n\r\naaa";
        assert_eq!(out, expected);
    }

    #[test]
    fn expect_continue_and_headers_listing() {
        let out = run(b"PUT /headers?x=1 HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok");
        assert!(
            out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
            "{out}"
        );
        assert!(
            out.ends_with(
                "\r\n\r\nPUT /headers?x=1\nhost: h\nexpect: 100-continue\ncontent-length: 2\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn malformed_requests_get_400_and_close() {
        let out = run(b"GET / HTTP/1.1\r\nbad header\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"));
        assert_eq!(out.matches("HTTP/1.1").count(), 1);
    }

    #[test]
    fn statuses_queries_and_not_found() {
        let out = run(b"GET /status?code=503 HTTP/1.1\r\n\r\nGET /status?code=42 HTTP/1.1\r\n\r\n\
                        GET /bytes?n=x HTTP/1.1\r\n\r\nHEAD /bytes?n=9 HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n");
        let statuses: Vec<&str> = out.split("HTTP/1.1 ").skip(1).map(|r| &r[..3]).collect();
        assert_eq!(statuses, ["503", "400", "400", "200", "404"]);
        assert!(out.contains("status 503\n"));
        assert!(
            out.contains("Content-Length: 9\r\n\r\nHTTP/1.1 404"),
            "{out}"
        );
    }

    #[test]
    fn sse_is_chunked_and_http10_streams_close() {
        let out =
            run(b"GET /sse?n=2&interval_ms=1 HTTP/1.1\r\n\r\nGET /slow?ms=1 HTTP/1.1\r\n\r\n");
        assert!(out.contains("Transfer-Encoding: chunked\r\n\r\nf\r\ndata: event 0\n\n\r\nf\r\ndata: event 1\n\n\r\n0\r\n\r\n"), "{out}");
        assert!(out.ends_with("slow done"));
        let old = run(b"GET /sse?n=1&interval_ms=0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        assert!(
            old.ends_with("Connection: close\r\n\r\ndata: event 0\n\n"),
            "{old}"
        );
    }
}
