//! proto3-JSON helper rule: the encodings serde does not do by itself —
//! base64 bytes, int64 as strings, RFC 3339 timestamps and enums that
//! accept a name or a number — live here once, for every message type.

use base64::Engine as _;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serializer};

/// `bytes` fields: standard base64 (padding optional when reading; URL-safe
/// accepted too, as the proto3 JSON mapping allows).
pub mod b64 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(de::Error::custom)
    }

    /// Decodes standard or URL-safe base64, padded or not.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let trimmed = text.trim_end_matches('=');
        STANDARD_NO_PAD
            .decode(trimmed)
            .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
            .map_err(|e| format!("invalid base64: {e}"))
    }
}

/// `int64`/`uint64` fields: written as strings, read from strings or numbers.
pub mod int64 {
    use super::*;

    pub fn serialize<S: Serializer>(n: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&n.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Num(i64),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Num(n) => Ok(n),
            Either::Text(t) => t.trim().parse().map_err(de::Error::custom),
        }
    }
}

/// `uint32` fields that some clients send as strings.
pub fn u32_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = int64::deserialize(d)?;
    u32::try_from(n).map_err(|_| de::Error::custom(format!("{n} is not a uint32")))
}

/// RFC 3339 in UTC with nanoseconds trimmed (`2026-11-29T14:05:09.123Z`),
/// as proto3 JSON writes `google.protobuf.Timestamp`.
pub fn timestamp(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Declares a proto enum serialized by name and read from a name or number.
#[macro_export]
macro_rules! proto_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $num:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum $name {
            #[default]
            $($variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum Raw { Num(i64), Text(String) }
                match Raw::deserialize(d)? {
                    $(Raw::Num($num) => Ok($name::$variant),)+
                    $(Raw::Text(t) if t == $text => Ok($name::$variant),)+
                    Raw::Num(n) => Err(serde::de::Error::custom(format!("unknown {} {n}", stringify!($name)))),
                    Raw::Text(t) => Err(serde::de::Error::custom(format!("unknown {} {t:?}", stringify!($name)))),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            timestamp(1_795_960_000, 500_000_000),
            "2026-11-29T13:46:40.5Z"
        );
        assert_eq!(timestamp(951_782_400, 0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn int64_and_base64_are_lenient() {
        #[derive(Deserialize)]
        struct M {
            #[serde(with = "int64")]
            n: i64,
            #[serde(with = "b64")]
            b: Vec<u8>,
        }
        let m: M = serde_json::from_str(r#"{"n":"42","b":"aGk"}"#).unwrap();
        assert_eq!((m.n, m.b.as_slice()), (42, &b"hi"[..]));
        let m: M = serde_json::from_str(r#"{"n":7,"b":"aGk="}"#).unwrap();
        assert_eq!(m.n, 7);
    }

    crate::proto_enum!(Color { Unspecified = 0 => "COLOR_UNSPECIFIED", Red = 1 => "COLOR_RED" });

    #[test]
    fn enums_by_name_or_number() {
        let c: Color = serde_json::from_str("\"COLOR_RED\"").unwrap();
        assert_eq!(c, Color::Red);
        let c: Color = serde_json::from_str("1").unwrap();
        assert_eq!(c, Color::Red);
        assert_eq!(serde_json::to_string(&Color::Red).unwrap(), "\"COLOR_RED\"");
        assert!(serde_json::from_str::<Color>("\"COLOR_BLUE\"").is_err());
    }
}
