//! Rule: a relaunch list is written in exactly the format [`super::parse`]
//! reads back unchanged: one JSON array, one entry per line, with `argv`,
//! `cwd` (omitted when unknown) and `env` as `KEY=VALUE` strings.
//!
//! Strings are escaped per RFC 8259: `"` and `\`, plus every control
//! character below U+0020 (short forms where JSON has them, `\u00XX`
//! otherwise); everything else, non-ASCII included, is written as UTF-8.
//! A `cwd` that is not UTF-8 cannot be written and is omitted, so callers
//! must check it first.

use std::fmt::Write;

use super::Entry;

/// `text` as a quoted JSON string.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Writing to a String cannot fail.
            c if c < '\u{20}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One entry as a single-line JSON object.
pub fn entry(entry: &Entry) -> String {
    let argv = array(entry.argv.iter().map(String::as_str).map(quote));
    let env = array(entry.env.iter().map(|(k, v)| quote(&format!("{k}={v}"))));
    let cwd = match entry.cwd.as_deref().and_then(|p| p.to_str()) {
        Some(cwd) => format!(",\"cwd\":{}", quote(cwd)),
        None => String::new(),
    };
    format!("{{\"argv\":{argv}{cwd},\"env\":{env}}}")
}

/// Already-rendered JSON values as an array on one line.
fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(","))
}

/// A whole relaunch list from already-rendered entries (see [`entry`]).
pub fn list(rendered: &[String]) -> String {
    if rendered.is_empty() {
        return "[]\n".to_string();
    }
    format!("[\n  {}\n]\n", rendered.join(",\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relaunch::{json, parse};
    use std::path::PathBuf;

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("plain text"), r#""plain text""#);
        assert_eq!(quote(r#"say "hi"\"#), r#""say \"hi\"\\""#);
        assert_eq!(quote("a\nb\rc\td\u{8}e\u{c}"), r#""a\nb\rc\td\be\f""#);
        assert_eq!(quote("\0\u{1}\u{1f}"), r#""\u0000\u0001\u001f""#);
        assert_eq!(quote("é中😀\u{7f}/"), "\"é中😀\u{7f}/\"");
    }

    #[test]
    fn every_escaped_string_decodes_to_itself() {
        let mut all_low: String = (0u8..0x80).map(char::from).collect();
        all_low.push_str("ünïcødé 😀 \u{2028}");
        for text in ["", "x", "\"\\\"", "C:\\dir\\", all_low.as_str()] {
            let decoded = json::parse(&quote(text));
            assert_eq!(decoded, Ok(json::Value::String(text.to_string())));
        }
    }

    #[test]
    fn rendered_lists_parse_back_unchanged() {
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let entries = vec![
            Entry {
                argv: ["python3", "-m", "http.server", "3000"]
                    .map(String::from)
                    .to_vec(),
                cwd: Some(PathBuf::from("/home/sandbox/my \"app\"")),
                env: vec![
                    pair("PATH", "/usr/bin:/bin"),
                    pair("A", "b=c"),
                    pair("E", ""),
                ],
            },
            Entry {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "echo 'a\tb'\nexit 0".into(),
                    "".into(),
                ],
                cwd: None,
                env: vec![pair("MULTI", "line\none"), pair("U", "é\u{1}")],
            },
        ];
        let rendered: Vec<String> = entries.iter().map(entry).collect();
        assert!(rendered.iter().all(|line| !line.contains('\n')));
        let text = list(&rendered);
        assert!(text.starts_with("[\n  {\"argv\":[\"python3\""), "{text}");
        assert_eq!(parse(&text), Ok(entries));
    }

    #[test]
    fn empty_list_is_an_empty_array() {
        assert_eq!(list(&[]), "[]\n");
        assert_eq!(parse(&list(&[])), Ok(vec![]));
    }
}
