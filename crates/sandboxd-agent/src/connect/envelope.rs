//! Envelope rule: a streaming Connect body is a sequence of
//! `[flags:u8][length:u32 BE][payload]` envelopes; the length prefix is read
//! and written by tokio-util's length-delimited codec (configured to skip the
//! flag byte), payloads over [`MAX_MESSAGE`] are refused, and a compressed
//! envelope (flag 0x01) is refused because only the identity encoding is
//! accepted.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use super::error::{Code, RpcError};

/// The largest message accepted or sent in one envelope.
pub const MAX_MESSAGE: usize = 8 << 20;
/// Flag bit: the payload is compressed.
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag bit: the end-of-stream message (server to client only).
pub const FLAG_END_STREAM: u8 = 0x02;

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_offset(1)
        .length_field_length(4)
        // With nothing skipped the frame must also cover the 5 header bytes.
        .length_adjustment(5)
        .num_skip(0)
        .max_frame_length(MAX_MESSAGE)
        .big_endian()
        .new_codec()
}

/// One decoded envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub flags: u8,
    pub payload: Bytes,
}

/// Encodes one envelope (flags, then the length-prefixed payload).
pub fn encode(flags: u8, payload: Bytes) -> Bytes {
    let mut buf = BytesMut::with_capacity(payload.len() + 5);
    buf.put_u8(flags);
    // The codec writes only the 4-byte length and the payload after the flag
    // byte (it ignores the read-side offset); it fails only over the maximum
    // frame length, which our own messages never reach (checked by callers).
    let mut body = BytesMut::new();
    let mut enc = LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(usize::MAX)
        .big_endian()
        .new_codec();
    if enc.encode(payload, &mut body).is_ok() {
        buf.extend_from_slice(&body);
    }
    buf.freeze()
}

/// Turns a stream of body chunks into a stream of envelopes. A malformed or
/// oversized envelope, or one that ends mid-way, yields an `invalid_argument`
/// (`resource_exhausted` when too large) error and ends the stream.
pub fn decode<S, E>(body: S) -> impl Stream<Item = Result<Envelope, RpcError>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let state = (body, BytesMut::new(), codec(), false);
    futures_util::stream::unfold(state, |(mut body, mut buf, mut codec, done)| async move {
        if done {
            return None;
        }
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    let flags = frame[0];
                    let payload = frame.freeze().slice(5..);
                    let item = if flags & FLAG_COMPRESSED != 0 {
                        Err(RpcError::new(
                            Code::Unimplemented,
                            "compressed envelopes are not supported (use identity)",
                        ))
                    } else {
                        Ok(Envelope { flags, payload })
                    };
                    let failed = item.is_err();
                    return Some((item, (body, buf, codec, failed)));
                }
                Ok(None) => {}
                Err(err) => {
                    let e = RpcError::new(
                        Code::ResourceExhausted,
                        format!("envelope refused: {err} (limit {MAX_MESSAGE} bytes)"),
                    );
                    return Some((Err(e), (body, buf, codec, true)));
                }
            }
            match body.next().await {
                Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                Some(Err(err)) => {
                    let e = RpcError::new(Code::Canceled, format!("request body failed: {err}"));
                    return Some((Err(e), (body, buf, codec, true)));
                }
                None if buf.is_empty() => return None,
                None => {
                    let e = RpcError::invalid("request body ended inside an envelope");
                    return Some((Err(e), (body, buf, codec, true)));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn chunks(parts: Vec<&'static [u8]>) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    #[test]
    fn encode_writes_flags_length_payload() {
        let out = encode(FLAG_END_STREAM, Bytes::from_static(b"{}"));
        assert_eq!(&out[..], &[2, 0, 0, 0, 2, b'{', b'}']);
    }

    #[tokio::test]
    async fn decodes_envelopes_split_across_chunks() {
        let one = encode(0, Bytes::from_static(b"{\"a\":1}"));
        let two = encode(0, Bytes::from_static(b"{}"));
        let mut all = one.to_vec();
        all.extend_from_slice(&two);
        let leaked: &'static [u8] = Box::leak(all.into_boxed_slice());
        let body = chunks(vec![&leaked[..3], &leaked[3..9], &leaked[9..]]);
        let got: Vec<_> = decode(body).collect().await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().payload, "{\"a\":1}");
        assert_eq!(got[1].as_ref().unwrap().payload, "{}");
    }

    #[tokio::test]
    async fn truncated_oversized_and_compressed_are_errors() {
        let cut = decode(chunks(vec![&[0, 0, 0, 0, 9, b'{']]))
            .collect::<Vec<_>>()
            .await;
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].as_ref().unwrap_err().code, Code::InvalidArgument);
        let big = decode(chunks(vec![&[0, 0xff, 0xff, 0xff, 0xff]]))
            .collect::<Vec<_>>()
            .await;
        assert_eq!(big[0].as_ref().unwrap_err().code, Code::ResourceExhausted);
        let gz = decode(chunks(vec![&[1, 0, 0, 0, 0]]))
            .collect::<Vec<_>>()
            .await;
        assert_eq!(gz[0].as_ref().unwrap_err().code, Code::Unimplemented);
    }
}
