//! Rule: a request head is read as whole lines up to the blank line (leading
//! blank lines ignored, at most [`MAX_HEAD`] bytes), then parsed into a
//! [`Request`] with lowercased header names, values trimmed, order and
//! duplicates kept. Only HTTP/1.0 and HTTP/1.1 are spoken; obsolete line
//! folding and whitespace before a header's colon are rejected.

use std::io::BufRead;

use super::{read_line, HttpError, MAX_HEAD, MAX_LINE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target exactly as received (path and query).
    pub target: String,
    /// `true` for HTTP/1.0, `false` for HTTP/1.1.
    pub http10: bool,
    /// `(lowercased name, value)` in the order received.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// First value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Comma-separated tokens of every `name` header, trimmed.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Whether header `name` lists `token` (case-insensitively).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }

    /// Whether the client allows another request on this connection.
    pub fn keep_alive(&self) -> bool {
        if self.has_token("connection", "close") {
            return false;
        }
        !self.http10 || self.has_token("connection", "keep-alive")
    }

    /// The path part of the target (absolute-form targets lose scheme and authority).
    pub fn path(&self) -> &str {
        let mut target = self.target.as_str();
        for scheme in ["http://", "https://"] {
            if let Some(rest) = target.strip_prefix(scheme) {
                target = rest.find('/').map_or("/", |at| &rest[at..]);
            }
        }
        target.split(['?', '#']).next().unwrap_or(target)
    }

    /// Value of query parameter `key` (first occurrence, not percent-decoded).
    pub fn query(&self, key: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        let query = query.split('#').next().unwrap_or(query);
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == key).then_some(v)
        })
    }
}

/// Reads the next request head, including its blank line. `Ok(None)` means
/// the peer closed the connection cleanly between requests.
pub fn read_head<R: BufRead>(reader: &mut R) -> Result<Option<Vec<u8>>, HttpError> {
    let mut head = Vec::new();
    loop {
        if head.is_empty() && reader.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let line = read_line(reader, MAX_LINE)?;
        if line.is_empty() {
            if head.is_empty() {
                continue; // RFC 9112 §2.2: ignore empty lines before a request line.
            }
            head.extend_from_slice(b"\r\n");
            return Ok(Some(head));
        }
        if head.len() + line.len() + 2 > MAX_HEAD {
            return Err(HttpError::Bad("request head too large"));
        }
        head.extend_from_slice(&line);
        head.extend_from_slice(b"\r\n");
    }
}

/// Parses a request head as returned by [`read_head`].
pub fn parse_head(head: &[u8]) -> Result<Request, HttpError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Bad("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) || target.is_empty() {
        return Err(HttpError::Bad("malformed request line"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(HttpError::Bad("unsupported HTTP version")),
    };
    let mut headers = Vec::new();
    for line in lines.take_while(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Bad("header line without a colon"));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(HttpError::Bad("malformed header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        headers.push((name.to_ascii_lowercase(), value.to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        http10,
        headers,
    })
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Request, HttpError> {
        let mut reader = raw;
        let head = read_head(&mut reader)?.expect("a head");
        parse_head(&head)
    }

    #[test]
    fn parses_a_request_with_headers() {
        let req = parse(b"GET /sse?n=3&interval_ms=50 HTTP/1.1\r\nHost: a:3000\r\nX-Forwarded-For:  1.2.3.4 \r\nAccept: */*\r\n\r\n")
            .unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/sse?n=3&interval_ms=50");
        assert!(!req.http10);
        assert_eq!(req.path(), "/sse");
        assert_eq!(req.query("n"), Some("3"));
        assert_eq!(req.query("interval_ms"), Some("50"));
        assert_eq!(req.query("x"), None);
        assert_eq!(req.header("host"), Some("a:3000"));
        assert_eq!(req.header("x-forwarded-for"), Some("1.2.3.4"));
        assert_eq!(req.headers.len(), 3);
        assert!(req.keep_alive());
    }

    #[test]
    fn head_stops_at_blank_line_and_skips_leading_ones() {
        let mut reader: &[u8] = b"\r\nGET / HTTP/1.1\nHost: x\n\nBODY";
        let head = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(head, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(reader, b"BODY");
        let mut empty: &[u8] = b"";
        assert!(read_head(&mut empty).unwrap().is_none());
        let mut cut: &[u8] = b"GET / HTTP/1.1\r\nHost";
        assert!(matches!(read_head(&mut cut), Err(HttpError::Io(_))));
    }

    #[test]
    fn connection_semantics() {
        let close = parse(b"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n").unwrap();
        assert!(!close.keep_alive());
        let old = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(old.http10 && !old.keep_alive());
        let old_ka = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(old_ka.keep_alive());
        let upgrade =
            parse(b"GET /ws HTTP/1.1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n")
                .unwrap();
        assert!(upgrade.has_token("connection", "upgrade"));
    }

    #[test]
    fn absolute_form_and_fragments() {
        let req = parse(b"GET http://example.com:80/bytes?n=5 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(req.path(), "/bytes");
        assert_eq!(req.query("n"), Some("5"));
        let bare = parse(b"GET http://example.com HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(bare.path(), "/");
    }

    #[test]
    fn rejects_malformed_heads() {
        for raw in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        ] {
            assert!(matches!(parse(raw), Err(HttpError::Bad(_))), "{raw:?}");
        }
    }

    #[test]
    fn rejects_huge_heads() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEAD / 10 {
            raw.extend_from_slice(format!("h{i}: vvvv\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&raw), Err(HttpError::Bad(_))));
    }
}
