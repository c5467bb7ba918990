//! Rule: RFC 6455 §5 framing. Reading accepts masked (as clients must send)
//! and, leniently, unmasked frames, unmasks the payload, and refuses reserved
//! bits, unknown opcodes, fragmented or oversized (> 125 bytes) control
//! frames and payloads over the caller's limit. Writing produces the
//! shortest length encoding, masked only when given a key (servers never
//! mask; tests play the client).

use std::io::{self, Read};

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    /// Unmasked payload.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    /// Violates RFC 6455: close with 1002.
    Protocol(&'static str),
    /// Payload above the limit: close with 1009.
    TooBig,
}

impl From<io::Error> for FrameError {
    fn from(err: io::Error) -> Self {
        FrameError::Io(err)
    }
}

/// Reads one frame whose payload is at most `max_payload` bytes.
pub fn read<R: Read>(reader: &mut R, max_payload: u64) -> Result<Frame, FrameError> {
    let mut start = [0u8; 2];
    reader.read_exact(&mut start)?;
    let fin = start[0] & 0x80 != 0;
    let opcode = start[0] & 0x0F;
    if start[0] & 0x70 != 0 {
        return Err(FrameError::Protocol("reserved bits set"));
    }
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err(FrameError::Protocol("unknown opcode"));
    }
    let masked = start[1] & 0x80 != 0;
    let len = match start[1] & 0x7F {
        126 => {
            let mut ext = [0u8; 2];
            reader.read_exact(&mut ext)?;
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            reader.read_exact(&mut ext)?;
            u64::from_be_bytes(ext)
        }
        short => u64::from(short),
    };
    if opcode & 0x8 != 0 && (!fin || len > 125) {
        return Err(FrameError::Protocol(
            "fragmented or oversized control frame",
        ));
    }
    if len > max_payload {
        return Err(FrameError::TooBig);
    }
    let mut mask = [0u8; 4];
    if masked {
        reader.read_exact(&mut mask)?;
    }
    let mut payload = Vec::new();
    reader.take(len).read_to_end(&mut payload)?;
    if payload.len() as u64 != len {
        return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    if masked {
        for (byte, key) in payload.iter_mut().zip(mask.iter().cycle()) {
            *byte ^= key;
        }
    }
    Ok(Frame {
        fin,
        opcode,
        payload,
    })
}

/// Encodes one frame; `mask` is `None` for server frames.
pub fn encode(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0F));
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        let mut reader = bytes;
        read(&mut reader, 1 << 20)
    }

    #[test]
    fn rfc_6455_examples() {
        // §5.7: single-frame unmasked and masked text "Hello".
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        for wire in [&unmasked[..], &masked[..]] {
            let frame = decode(wire).unwrap();
            assert_eq!((frame.fin, frame.opcode), (true, TEXT));
            assert_eq!(frame.payload, b"Hello");
        }
        assert_eq!(encode(true, TEXT, b"Hello", None), unmasked);
        assert_eq!(
            encode(true, TEXT, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
            masked
        );
        // Fragmented "Hel" + "lo", and an unmasked ping "Hello".
        let first = decode(&[0x01, 0x03, 0x48, 0x65, 0x6c]).unwrap();
        assert_eq!(
            (first.fin, first.opcode, &first.payload[..]),
            (false, TEXT, &b"Hel"[..])
        );
        let last = decode(&[0x80, 0x02, 0x6c, 0x6f]).unwrap();
        assert_eq!(
            (last.fin, last.opcode, &last.payload[..]),
            (true, CONTINUATION, &b"lo"[..])
        );
        assert_eq!(
            decode(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
                .unwrap()
                .opcode,
            PING
        );
    }

    #[test]
    fn length_encodings_round_trip() {
        for len in [0usize, 125, 126, 256, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let wire = encode(true, BINARY, &payload, Some([1, 2, 3, 4]));
            let header = match len {
                0..=125 => 2,
                126..=65535 => 4,
                _ => 10,
            };
            assert_eq!(wire.len(), header + 4 + len, "len {len}");
            let frame = decode(&wire).unwrap();
            assert_eq!(frame.payload, payload, "len {len}");
            let plain = encode(true, BINARY, &payload, None);
            assert_eq!(plain.len(), header + len);
            assert_eq!(decode(&plain).unwrap().payload, payload);
        }
        // 256 bytes: 16-bit length 0x0100.
        assert_eq!(
            &encode(true, BINARY, &[0; 256], None)[..4],
            &[0x82, 126, 1, 0]
        );
    }

    #[test]
    fn rejects_protocol_violations() {
        for wire in [
            &[0xC1, 0x00][..],         // RSV1 set
            &[0x83, 0x00],             // reserved opcode 3
            &[0x09, 0x00],             // fragmented ping
            &[0x88, 0x7E, 0x00, 0x7E], // 126-byte close
        ] {
            assert!(
                matches!(decode(wire), Err(FrameError::Protocol(_))),
                "{wire:?}"
            );
        }
        let mut big: &[u8] = &[0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(read(&mut big, 1 << 20), Err(FrameError::TooBig)));
        assert!(matches!(
            decode(&[0x81, 0x85, 1, 2]),
            Err(FrameError::Io(_))
        ));
        assert!(matches!(
            decode(&[0x81, 0x05, b'a']),
            Err(FrameError::Io(_))
        ));
    }
}
