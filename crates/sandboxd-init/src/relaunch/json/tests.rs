//! Tests for the JSON reader: accepted shapes, exact string decoding, and
//! rejection of everything RFC 8259 does not allow.

use super::*;

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

#[test]
fn parses_nested_structures_in_order() {
    let v = parse(r#" { "a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "e": [] } "#);
    let expected = Value::Object(vec![
        (
            "a".into(),
            Value::Array(vec![
                Value::Number("1".into()),
                Value::Number("-2.5e3".into()),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null,
            ]),
        ),
        ("b".into(), Value::Object(vec![("c".into(), s("d"))])),
        ("e".into(), Value::Array(vec![])),
    ]);
    assert_eq!(v, Ok(expected));
}

#[test]
fn decodes_escapes_and_unicode() {
    assert_eq!(
        parse(r#""a\"b\\c\/d\n\t\r\b\f""#),
        Ok(s("a\"b\\c/d\n\t\r\u{8}\u{c}"))
    );
    assert_eq!(parse(r#""\u00e9\u4e2d""#), Ok(s("é中")));
    assert_eq!(parse(r#""\ud83d\ude00""#), Ok(s("😀")));
    assert_eq!(parse(r#""raw ünïcødé 😀""#), Ok(s("raw ünïcødé 😀")));
    assert_eq!(parse(r#""\u0000""#), Ok(s("\0")));
}

#[test]
fn get_returns_first_member() {
    let v = parse(r#"{"k": 1, "k": 2}"#).unwrap_or(Value::Null);
    assert_eq!(v.get("k"), Some(&Value::Number("1".into())));
    assert_eq!(v.get("missing"), None);
    assert_eq!(s("x").get("k"), None);
}

#[test]
fn rejects_malformed_input() {
    let bad = [
        "",
        "   ",
        "[1,]",
        "[1 2]",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{a:1}",
        "[\"unterminated]",
        "\"tab\there\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "01",
        "-",
        "1.",
        "1e",
        "tru",
        "nul",
        "[] []",
        "'single'",
    ];
    for text in bad {
        assert!(parse(text).is_err(), "accepted {text:?}");
    }
}

#[test]
fn caps_nesting_depth() {
    let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&deep_ok).is_ok());
    let too_deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        parse(&too_deep).map_err(|e| e.starts_with("nesting too deep")),
        Err(true)
    );
}

#[test]
fn errors_name_the_offset() {
    assert_eq!(
        parse("[1, x]"),
        Err("unexpected character at byte 4".to_string())
    );
}
