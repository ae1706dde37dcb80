use proptest::prelude::*;
use serde_json::json;

use super::*;

fn mapping(text: &str) -> BTreeMap<String, Entry> {
    match parse(text) {
        Ok(Document::Mapping(m)) => m,
        other => panic!("not a mapping: {other:?}"),
    }
}

fn value(text: &str) -> Value {
    mapping(&format!("v: {text}\n"))["v"].value.clone()
}

fn error(text: &str) -> YamlError {
    parse(text).expect_err("should not parse")
}

#[test]
fn plain_scalars_follow_the_core_schema() {
    for (text, expected) in [
        ("~", Value::Null),
        ("null", Value::Null),
        ("", Value::Null),
        ("true", json!(true)),
        ("False", json!(false)),
        ("yes", json!(true)),
        ("On", json!(true)),
        ("Y", json!(true)),
        ("no", json!(false)),
        ("OFF", json!(false)),
        ("yess", json!("yess")),
        ("42", json!(42)),
        ("-7", json!(-7)),
        ("+7", json!(7)),
        ("0x1F", json!(31)),
        ("0o17", json!(15)),
        ("0755", json!(755)),
        ("1.5", json!(1.5)),
        ("1e3", json!(1000.0)),
        (".5", json!(0.5)),
        ("1_000", json!(1000)),
        ("1__0", json!("1__0")),
        ("_1", json!("_1")),
        ("1_", json!("1_")),
        (".inf", json!(".inf")),
        ("-.inf", json!("-.inf")),
        (".nan", json!(".nan")),
        ("18446744073709551616", json!(18_446_744_073_709_551_616.0)),
        ("https://x.example:4318", json!("https://x.example:4318")),
        ("30s", json!("30s")),
    ] {
        assert_eq!(value(text), expected, "{text:?}");
    }
}

#[test]
fn quoted_and_tagged_scalars() {
    assert_eq!(value("\"true\""), json!("true"));
    assert_eq!(value("'42'"), json!("42"));
    assert_eq!(value("!!str 42"), json!("42"));
    assert_eq!(value("! 42"), json!("42"));
    assert_eq!(value("!!int \"42\""), json!(42));
    assert_eq!(value("!!float 1"), json!(1));
    assert_eq!(value("!!bool true"), json!(true));
    assert_eq!(value("!!null ''"), Value::Null);
    assert_eq!(value("|\n  a\n  b\n"), json!("a\nb\n"));
    assert_eq!(value(">-\n  a\n  b\n"), json!("a b"));
    assert!(error("v: !!int abc\n").reason.contains("!!int"));
    assert!(
        error("v: !!binary aGk=\n")
            .reason
            .starts_with("a tag other than")
    );
    assert!(
        error("v: !custom x\n")
            .reason
            .starts_with("a tag other than")
    );
    assert!(
        error("v: !!map [a]\n")
            .reason
            .starts_with("a tag other than")
    );
}

#[test]
fn collections_nest() {
    let m = mapping("headers:\n  Authorization: Bearer x\n  X-Team: \"7\"\nlist: [a, 1, {b: c}]\n");
    assert_eq!(
        m["headers"].value,
        json!({"Authorization": "Bearer x", "X-Team": "7"})
    );
    assert_eq!(m["list"].value, json!(["a", 1, {"b": "c"}]));
}

#[test]
fn entries_know_where_their_key_and_value_are() {
    let m = mapping("# c\nendpoint: \"https://x.example\"\n\nheaders:\n  A: b\n  Ä: \"ü\"\n");
    assert_eq!(m["endpoint"].key_at, Position { line: 2, column: 1 });
    assert_eq!(
        m["endpoint"].at,
        Position {
            line: 2,
            column: 11
        }
    );
    assert_eq!(m["headers"].key_at, Position { line: 4, column: 1 });
    assert_eq!(m["headers"].at.line, 5);
    let m = mapping("no: 1\n2: x\n~: y\n");
    assert_eq!(m.keys().collect::<Vec<_>>(), ["2", "no", "~"]);
    let m = mapping("{a: 1,   b: 2}");
    assert_eq!(
        m["b"].at,
        Position {
            line: 1,
            column: 13
        }
    );
}

#[test]
fn documents_that_are_not_mappings() {
    assert_eq!(parse(""), Ok(Document::Empty));
    assert_eq!(parse("# only a comment\n\n"), Ok(Document::Empty));
    assert_eq!(parse("~\n"), Ok(Document::Empty));
    assert_eq!(parse("---\n...\n"), Ok(Document::Empty));
    assert_eq!(parse("- a\n"), Ok(Document::NotMapping("a list")));
    assert_eq!(parse("42"), Ok(Document::NotMapping("a number")));
    assert_eq!(
        parse("true"),
        Ok(Document::NotMapping("a true/false value"))
    );
    assert_eq!(
        parse("Bearer x"),
        Ok(Document::NotMapping("a single text value"))
    );
}

#[test]
fn structural_errors_are_positioned_and_quote_nothing() {
    let e = error("a: 1\nb: [x, y\n");
    assert_eq!(e.at, Some(Position { line: 2, column: 4 }));
    let e = error("a: 1\na: 2\n");
    assert_eq!(e.reason, "duplicate mapping key: a");
    assert_eq!(e.at, Some(Position { line: 2, column: 1 }));
    let e = error("sk_live_0123456789: 1\nsk_live_0123456789: 2\n");
    assert_eq!(e.reason, "duplicate mapping key");
    let e = error("a: 1\n---\nb: 2\n");
    assert_eq!(e.reason, "more than one YAML document");
    assert_eq!(e.at.map(|p| p.line), Some(2));
    let e = error("[a]: 1\n");
    assert_eq!(e.reason, "a list or mapping used as a key");
    let e = error("a: *nowhere\n");
    assert!(e.at.is_some());
}

#[test]
fn aliases_repeat_their_anchor_within_the_budget() {
    let m = mapping("base: &b {x: 1}\ncopy: *b\n");
    assert_eq!(m["copy"].value, json!({"x": 1}));
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = error(&text);
    assert_eq!(
        e.reason,
        "too many nodes, aliases or nesting levels for a settings file"
    );
}

#[test]
fn nesting_and_size_are_bounded() {
    let deep = format!("a: {}{}\n", "[".repeat(40), "]".repeat(40));
    assert!(error(&deep).reason.starts_with("too many nodes"));
    let wide = format!("a: [{}]\n", vec!["1"; MAX_NODES + 1].join(","));
    assert!(error(&wide).reason.starts_with("too many nodes"));
    let ok = format!(
        "a: {}{}\n",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(parse(&ok).is_ok());
}

proptest! {
    #[test]
    fn never_panics(text in "(?s).{0,300}") {
        let _ = parse(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-z:\\-\\[\\]{}&*!#'\" \n,|>~.0-9]{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn flat_mappings_read_back(entries in proptest::collection::btree_map(
        "[a-z_]{1,12}", "[A-Za-z0-9 ./:_-]{0,30}", 0..12
    )) {
        let text: String = entries
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", serde_json::to_string(v).unwrap_or_default()))
            .collect();
        let read = match parse(&text) {
            Ok(Document::Mapping(m)) => m,
            Ok(Document::Empty) => BTreeMap::new(),
            other => panic!("{other:?}"),
        };
        prop_assert_eq!(read.len(), entries.len());
        for (line, (k, v)) in entries.iter().enumerate() {
            let entry = &read[k];
            prop_assert_eq!(&entry.value, &Value::String(v.clone()));
            prop_assert_eq!(entry.key_at, Position { line: line as u64 + 1, column: 1 });
            prop_assert_eq!(entry.at.column, k.chars().count() as u64 + 3);
        }
    }
}

#[test]
fn an_unclosed_bracket_is_reported_where_it_opens() {
    let e = error("enabled: true\nheaders: [a, b\n");
    assert_eq!(
        e.at,
        Some(Position {
            line: 2,
            column: 10
        })
    );
    assert_eq!(e.reason, "a `[` or `{` that is never closed");
    let e = error("a: {x: 1,\n  y: 2\n");
    assert_eq!(e.at, Some(Position { line: 1, column: 4 }));
    // A problem before the end is reported where it is.
    let e = error("a: {x: 1\nb: 2\n");
    assert_eq!(e.at.map(|p| p.line), Some(2));
    let e = error("a: b: c\n");
    assert_eq!(e.at, Some(Position { line: 1, column: 5 }));
    assert_eq!(e.reason, "mapping values are not allowed in this context");
}
