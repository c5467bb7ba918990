//! Rule: the HTTP/1.1 wire format lives here and nowhere else — reading and
//! parsing request heads (`request`), decoding request bodies framed by
//! Content-Length or `Transfer-Encoding: chunked` (`body`), and framing
//! responses with Content-Length or chunked encoding (`response`). Anything
//! malformed becomes [`HttpError::Bad`], which the connection answers with
//! 400 and then closes; limits below keep a hostile peer from exhausting
//! memory.

pub mod body;
pub mod request;
pub mod response;

use std::io::{self, BufRead, Read};

/// Longest request line, header line or chunk-size line accepted.
pub const MAX_LINE: usize = 16 * 1024;
/// Largest request head (request line plus headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted (after chunked decoding).
pub const MAX_BODY: usize = 64 << 20;

/// Why a request could not be read.
#[derive(Debug)]
pub enum HttpError {
    /// The connection failed or ended mid-message: just drop it.
    Io(io::Error),
    /// The peer sent something malformed: answer 400 with this reason.
    Bad(&'static str),
}

impl From<io::Error> for HttpError {
    fn from(err: io::Error) -> Self {
        HttpError::Io(err)
    }
}

/// Reads one LF-terminated line of at most `limit` bytes and returns it
/// without its line ending (CRLF or bare LF). EOF before the end of the line
/// is an [`HttpError::Io`] of kind `UnexpectedEof`.
pub fn read_line<R: BufRead>(reader: &mut R, limit: usize) -> Result<Vec<u8>, HttpError> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        if line.len() > limit {
            return Err(HttpError::Bad("line too long"));
        }
        return Err(HttpError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_endings() {
        let mut input: &[u8] = b"one\r\ntwo\nthree";
        assert_eq!(read_line(&mut input, 10).unwrap(), b"one");
        assert_eq!(read_line(&mut input, 10).unwrap(), b"two");
        assert!(matches!(read_line(&mut input, 10), Err(HttpError::Io(_))));
    }

    #[test]
    fn long_lines_are_bad() {
        let mut input: &[u8] = b"0123456789abc\n";
        assert!(matches!(read_line(&mut input, 10), Err(HttpError::Bad(_))));
        let mut exact: &[u8] = b"0123456789\n";
        assert_eq!(read_line(&mut exact, 10).unwrap(), b"0123456789");
    }
}
