//! Request ids: the `x-request-id` a client sent is kept when it is a sane token (1–128 visible
//! ASCII characters), otherwise a new one is made. The same id names a request in every log line
//! it causes, in the API's answer and in what the preview proxy forwards to the app.

/// The header that carries a request id.
pub const HEADER: &str = "x-request-id";

/// The client's id when usable.
pub fn accept(given: Option<&[u8]>) -> Option<&str> {
    let given = given?;
    let ok = !given.is_empty() && given.len() <= 128 && given.iter().all(|b| b.is_ascii_graphic());
    if ok {
        std::str::from_utf8(given).ok()
    } else {
        None
    }
}

/// A new id: a lowercase ULID (sortable by time, unique without coordination).
pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_sane() {
        assert_eq!(accept(Some(b"abc-123")), Some("abc-123"));
        assert_eq!(accept(Some(b"")), None);
        assert_eq!(accept(Some(b"has space")), None);
        assert_eq!(accept(Some(&[b'a'; 129])), None);
        assert_eq!(accept(None), None);
        let id = new_id();
        assert_eq!(id.len(), 26);
        assert_ne!(id, new_id());
    }
}
