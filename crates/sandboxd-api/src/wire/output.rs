//! Exec output on the wire: each stream is a JSON string, its UTF-8 text when that is text, or
//! its bytes base64-encoded (flagged by `*_encoding: "base64"`) when it is not valid UTF-8 or its
//! JSON escaping would more than double it (control bytes become six-byte `\u00XX` escapes). So
//! the encoded response stays within about twice the raw output, and it is written straight from
//! the raw bytes into one pre-sized body: no lossy copy, no escaped copy.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// How an exec output stream is encoded in its JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum OutputEncoding {
    /// The string is the output itself.
    #[serde(rename = "utf-8")]
    Utf8,
    /// The string is the output's bytes in standard base64 (with padding).
    #[serde(rename = "base64")]
    Base64,
}

/// One output stream, kept as raw bytes until it is written into the response body.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputBytes {
    bytes: Vec<u8>,
    encoding: OutputEncoding,
}

/// The length of `s` as a JSON string body (without quotes).
fn escaped_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

impl OutputBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        let encoding = match std::str::from_utf8(&bytes) {
            Ok(s) if escaped_len(s) <= 2 * bytes.len() => OutputEncoding::Utf8,
            _ => OutputEncoding::Base64,
        };
        OutputBytes { bytes, encoding }
    }

    pub fn encoding(&self) -> OutputEncoding {
        self.encoding
    }

    /// An upper bound of the encoded JSON string's length, quotes included.
    pub fn encoded_len(&self) -> usize {
        2 + match self.encoding {
            OutputEncoding::Utf8 => 2 * self.bytes.len(),
            OutputEncoding::Base64 => self.bytes.len().div_ceil(3) * 4,
        }
    }
}

impl Serialize for OutputBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.encoding {
            // Checked valid in `new`; the fallback keeps this total.
            OutputEncoding::Utf8 => match std::str::from_utf8(&self.bytes) {
                Ok(text) => s.serialize_str(text),
                Err(_) => s.collect_str(&Base64Display::new(&self.bytes, &STANDARD)),
            },
            OutputEncoding::Base64 => s.collect_str(&Base64Display::new(&self.bytes, &STANDARD)),
        }
    }
}

impl IntoResponse for super::ExecOutput {
    fn into_response(self) -> Response {
        let mut body =
            Vec::with_capacity(self.stdout.encoded_len() + self.stderr.encoded_len() + 512);
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => {
                let mut resp = Response::new(axum::body::Body::from(body));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            // Strings, numbers and booleans always serialize; keep a defined answer anyway.
            Err(e) => crate::error::ApiError::new(
                sandboxd_core::ErrorCode::Internal,
                format!("encoding exec output: {e}"),
            )
            .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> (String, OutputEncoding) {
        let out = OutputBytes::new(bytes.to_vec());
        let text = serde_json::to_string(&out).unwrap();
        assert!(text.len() <= out.encoded_len(), "{text}");
        (serde_json::from_str(&text).unwrap(), out.encoding())
    }

    #[test]
    fn text_stays_text_and_the_rest_is_base64() {
        assert_eq!(json(b"hello\n"), ("hello\n".into(), OutputEncoding::Utf8));
        assert_eq!(
            json("grün \x1b[1mbold\x1b[0m\n".as_bytes()),
            ("grün \x1b[1mbold\x1b[0m\n".into(), OutputEncoding::Utf8)
        );
        assert_eq!(json(b"\xff\xfe"), ("//4=".into(), OutputEncoding::Base64));
        assert_eq!(
            json(&[1u8; 30]).1,
            OutputEncoding::Base64,
            "control bytes would escape to 6x"
        );
        assert_eq!(json(b""), (String::new(), OutputEncoding::Utf8));
    }
}
