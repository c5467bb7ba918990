//! Rule: a request body is framed exactly as RFC 9112 §6.3 says — a
//! Transfer-Encoding whose final coding is `chunked` wins over
//! Content-Length (chunk extensions and trailers are read and dropped), any
//! other Transfer-Encoding is refused, conflicting or malformed
//! Content-Lengths are refused, and with neither there is no body. Decoded
//! bodies are capped at [`MAX_BODY`].

use std::io::{BufRead, Read};

use super::request::Request;
use super::{read_line, HttpError, MAX_BODY, MAX_LINE};

/// Reads the body of `req` from `reader`, which is positioned right after the head.
pub fn read_body<R: BufRead>(reader: &mut R, req: &Request) -> Result<Vec<u8>, HttpError> {
    if req.header("transfer-encoding").is_some() {
        return match req.tokens("transfer-encoding").last() {
            Some(coding) if coding.eq_ignore_ascii_case("chunked") => read_chunked(reader),
            _ => Err(HttpError::Bad("unsupported transfer-encoding")),
        };
    }
    let mut length = None;
    for value in req.tokens("content-length") {
        let parsed = parse_length(value)?;
        if length.is_some_and(|seen| seen != parsed) {
            return Err(HttpError::Bad("conflicting content-length"));
        }
        length = Some(parsed);
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY as u64 {
        return Err(HttpError::Bad("request body too large"));
    }
    let mut body = Vec::new();
    reader.by_ref().take(length).read_to_end(&mut body)?;
    if body.len() as u64 != length {
        return Err(HttpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(body)
}

fn parse_length(value: &str) -> Result<u64, HttpError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::Bad("malformed content-length"));
    }
    value
        .parse()
        .map_err(|_| HttpError::Bad("content-length out of range"))
}

/// Decodes a chunked body: `size[;ext]` lines, data + CRLF, a zero-size
/// chunk, optional trailer lines, then a blank line.
pub fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, MAX_LINE)?;
        let size = chunk_size(&line)?;
        if size == 0 {
            while !read_line(reader, MAX_LINE)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        let end = start
            .checked_add(size)
            .filter(|&end| end <= MAX_BODY)
            .ok_or(HttpError::Bad("request body too large"))?;
        body.resize(end, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader, 2)?.is_empty() {
            return Err(HttpError::Bad("chunk data not followed by CRLF"));
        }
    }
}

fn chunk_size(line: &[u8]) -> Result<usize, HttpError> {
    let bad = || HttpError::Bad("malformed chunk size");
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let digits = line[..end].trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    let digits = std::str::from_utf8(digits).map_err(|_| bad())?;
    usize::from_str_radix(digits, 16).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::parse_head;

    fn body_of(head: &str, rest: &[u8]) -> (Result<Vec<u8>, HttpError>, Vec<u8>) {
        let req = parse_head(head.as_bytes()).unwrap();
        let mut reader = rest;
        let body = read_body(&mut reader, &req);
        (body, reader.to_vec())
    }

    #[test]
    fn content_length_body_leaves_the_next_request() {
        let head = "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
        let (body, rest) = body_of(head, b"helloGET / HTTP/1.1\r\n");
        assert_eq!(body.unwrap(), b"hello");
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn no_framing_means_no_body() {
        let (body, rest) = body_of("GET / HTTP/1.1\r\n\r\n", b"GET");
        assert_eq!(body.unwrap(), b"");
        assert_eq!(rest, b"GET");
    }

    #[test]
    fn truncated_content_length_is_eof() {
        let head = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
        assert!(matches!(body_of(head, b"abc").0, Err(HttpError::Io(_))));
    }

    #[test]
    fn bad_content_lengths() {
        for value in ["-1", "abc", "1, 2", "+5", "99999999999999999999999"] {
            let head = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
            assert!(
                matches!(body_of(&head, b"").0, Err(HttpError::Bad(_))),
                "{value}"
            );
        }
        let same = "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(body_of(same, b"ok").0.unwrap(), b"ok");
        let huge = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(body_of(&huge, b"").0, Err(HttpError::Bad(_))));
    }

    #[test]
    fn decodes_chunks_with_extensions_and_trailers() {
        let head = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        let wire = b"4;name=v\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let (body, rest) = body_of(head, wire);
        assert_eq!(body.unwrap(), b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn decodes_uppercase_hex_and_bare_lf() {
        let mut wire: &[u8] = b"A\nabcdefghij\n0\n\n";
        assert_eq!(read_chunked(&mut wire).unwrap(), b"abcdefghij");
    }

    #[test]
    fn rejects_malformed_chunks() {
        for wire in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"3\r\nabcX\r\n0\r\n\r\n",
            b"ffffffffffffffffffff\r\n",
        ] {
            let mut reader = wire;
            assert!(
                matches!(read_chunked(&mut reader), Err(HttpError::Bad(_))),
                "{wire:?}"
            );
        }
        let mut cut: &[u8] = b"5\r\nab";
        assert!(matches!(read_chunked(&mut cut), Err(HttpError::Io(_))));
        let mut too_big: &[u8] = b"8000000\r\n";
        assert!(matches!(read_chunked(&mut too_big), Err(HttpError::Bad(_))));
    }

    #[test]
    fn other_transfer_codings_are_refused() {
        let head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        assert!(matches!(body_of(head, b"").0, Err(HttpError::Bad(_))));
    }
}
