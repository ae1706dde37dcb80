//! A YAML document read into JSON-like values, each top-level entry with the line and
//! column it is written at.
//!
//! The events come from `saphyr-parser` (a YAML 1.2 event parser); this module builds the
//! values from them with the YAML 1.2 core schema and a work budget, so a hostile file
//! (alias bombs, deep nesting, huge documents) costs little and fails with a clear reason.
//! Errors never repeat the file's contents: only a position and what is wrong there.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

/// Nodes a document may hold, aliases counted as the nodes they repeat.
const MAX_NODES: usize = 10_000;
/// Events the parser may produce for one file.
const MAX_EVENTS: usize = 20_000;
/// How deeply collections may nest.
const MAX_DEPTH: usize = 16;
/// Anchors one document may define.
const MAX_ANCHORS: usize = 100;

/// Where something is written: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    /// The line, from 1.
    pub(crate) line: u64,
    /// The column in characters, from 1.
    pub(crate) column: u64,
}

impl Position {
    fn of(mark: Marker) -> Self {
        Position {
            line: u64::try_from(mark.line()).unwrap_or(u64::MAX),
            column: u64::try_from(mark.col())
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        }
    }
}

/// A top-level value and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The value (`null` when written empty or as `~`).
    pub(crate) value: Value,
    /// Where the value starts.
    pub(crate) at: Position,
    /// Where its key starts.
    pub(crate) key_at: Position,
}

/// What a document holds at its top level.
#[derive(Debug, PartialEq)]
pub(crate) enum Document {
    /// No content (empty, comments only, or a lone `~`).
    Empty,
    /// A mapping: its keys in order of name, each with its value.
    Mapping(BTreeMap<String, Entry>),
    /// Something other than a mapping: `a list`, `a number`, …
    NotMapping(&'static str),
}

/// Why a document could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct YamlError {
    /// What is wrong, without any of the file's text.
    pub(crate) reason: String,
    /// Where, when known.
    pub(crate) at: Option<Position>,
}

impl YamlError {
    fn new(reason: impl Into<String>, at: Option<Position>) -> Self {
        YamlError {
            reason: reason.into(),
            at,
        }
    }

    fn budget(at: Position) -> Self {
        YamlError::new(
            "too many nodes, aliases or nesting levels for a settings file",
            Some(at),
        )
    }
}

/// Reads `text` as one YAML document.
pub(crate) fn parse(text: &str) -> Result<Document, YamlError> {
    let mut builder = Builder::default();
    let mut events = 0usize;
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| builder.scan_error(text, &e))?;
        let at = Position::of(span.start);
        builder.last_index = span.start.index();
        events += 1;
        if events > MAX_EVENTS {
            return Err(YamlError::budget(at));
        }
        builder.event(event, at)?;
    }
    Ok(builder.finish())
}

/// The parser's reason, kept only when it is one of its own fixed sentences.
fn scan_reason(info: &str) -> String {
    let quotes_text = info.contains(['`', '"', '\'']) && info.len() > 80;
    if info.is_empty() || quotes_text {
        "syntax error".to_owned()
    } else {
        info.chars().take(120).collect()
    }
}

/// A collection being filled.
struct Open {
    contents: Contents,
    /// The anchor id given to it (0 for none).
    anchor: usize,
    /// Where it starts, and the character index there.
    at: Position,
    index: usize,
    /// [`Builder::nodes`] before it opened: what was counted since is its size.
    nodes_before: usize,
}

enum Contents {
    Sequence(Vec<Value>),
    Mapping {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<(String, Position)>,
    },
}

#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    /// Anchored values, each with its size in nodes.
    anchors: BTreeMap<usize, (Value, usize)>,
    nodes: usize,
    documents: usize,
    root: Option<Value>,
    /// Where each top-level value and its key start.
    top_level_at: BTreeMap<String, (Position, Position)>,
    /// The character index of the latest event, where a collection opened by it starts.
    last_index: usize,
}

impl Builder {
    /// The parser's error, placed where a person should look: an unclosed `[` or `{` is
    /// reported where it opens rather than at the end of the file.
    fn scan_error(&self, text: &str, e: &saphyr_parser::ScanError) -> YamlError {
        let at_end = e.marker().index() >= text.trim_end().chars().count();
        let unclosed = self
            .open
            .last()
            .filter(|open| at_end && matches!(text.chars().nth(open.index), Some('[' | '{')));
        match unclosed {
            Some(open) => YamlError::new("a `[` or `{` that is never closed", Some(open.at)),
            None => YamlError::new(scan_reason(e.info()), Some(Position::of(*e.marker()))),
        }
    }

    fn event(&mut self, event: Event<'_>, at: Position) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError::new("more than one YAML document", Some(at)));
                }
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                // A key is its text: `no:` and `1:` name settings, they are not false or 1.
                let value = if self.expects_key() {
                    Value::String(text.into_owned())
                } else {
                    scalar(&text, style, tag.as_deref(), at)?
                };
                self.count(1, at)?;
                self.remember(anchor, &value, 1, at)?;
                self.place(value, at)
            }
            Event::Alias(id) => {
                let (value, size) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| YamlError::new("an alias to an unknown anchor", Some(at)))?;
                self.count(size, at)?;
                self.place(value, at)
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "seq", at)?;
                self.push(Contents::Sequence(Vec::new()), anchor, at)
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "map", at)?;
                let contents = Contents::Mapping {
                    map: Map::new(),
                    key: None,
                };
                self.push(contents, anchor, at)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.open.pop() else {
                    return Ok(());
                };
                let value = match open.contents {
                    Contents::Sequence(items) => Value::Array(items),
                    Contents::Mapping { map, .. } => Value::Object(map),
                };
                let size = self.nodes - open.nodes_before;
                self.remember(open.anchor, &value, size, at)?;
                self.place(value, open.at)
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
        }
    }

    fn expects_key(&self) -> bool {
        matches!(
            self.open.last(),
            Some(Open {
                contents: Contents::Mapping { key: None, .. },
                ..
            })
        )
    }

    fn count(&mut self, nodes: usize, at: Position) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(YamlError::budget(at));
        }
        Ok(())
    }

    fn push(&mut self, contents: Contents, anchor: usize, at: Position) -> Result<(), YamlError> {
        let nodes_before = self.nodes;
        self.count(1, at)?;
        if self.open.len() >= MAX_DEPTH {
            return Err(YamlError::budget(at));
        }
        self.open.push(Open {
            contents,
            anchor,
            at,
            index: self.last_index,
            nodes_before,
        });
        Ok(())
    }

    fn remember(
        &mut self,
        anchor: usize,
        value: &Value,
        size: usize,
        at: Position,
    ) -> Result<(), YamlError> {
        if anchor == 0 {
            return Ok(());
        }
        if self.anchors.len() >= MAX_ANCHORS && !self.anchors.contains_key(&anchor) {
            return Err(YamlError::budget(at));
        }
        self.anchors.insert(anchor, (value.clone(), size));
        Ok(())
    }

    /// Puts a finished node where it belongs: as the next key or value of the open
    /// mapping, the next item of the open sequence, or the document's root.
    fn place(&mut self, value: Value, at: Position) -> Result<(), YamlError> {
        let depth = self.open.len();
        let Some(open) = self.open.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        match &mut open.contents {
            Contents::Sequence(items) => items.push(value),
            Contents::Mapping { map, key } => match key.take() {
                None => *key = Some((key_text(value, at)?, at)),
                Some((name, key_at)) => {
                    if map.contains_key(&name) {
                        return Err(duplicate_key(&name, key_at));
                    }
                    if depth == 1 {
                        self.top_level_at.insert(name.clone(), (at, key_at));
                    }
                    map.insert(name, value);
                }
            },
        }
        Ok(())
    }

    fn finish(mut self) -> Document {
        match self.root {
            None | Some(Value::Null) => Document::Empty,
            Some(Value::Object(map)) => Document::Mapping(
                map.into_iter()
                    .filter_map(|(name, value)| {
                        let (at, key_at) = self.top_level_at.remove(&name)?;
                        Some((name, Entry { value, at, key_at }))
                    })
                    .collect(),
            ),
            Some(Value::Array(_)) => Document::NotMapping("a list"),
            Some(Value::Number(_)) => Document::NotMapping("a number"),
            Some(Value::Bool(_)) => Document::NotMapping("a true/false value"),
            Some(Value::String(_)) => Document::NotMapping("a single text value"),
        }
    }
}

fn key_text(key: Value, at: Position) -> Result<String, YamlError> {
    match key {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Array(_) | Value::Object(_) => {
            Err(YamlError::new("a list or mapping used as a key", Some(at)))
        }
    }
}

fn duplicate_key(name: &str, at: Position) -> YamlError {
    // Name the key only when it looks like a setting name, never a token pasted by mistake.
    let nameable = !name.is_empty()
        && name.chars().count() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.');
    let reason = if nameable {
        format!("duplicate mapping key: {name}")
    } else {
        "duplicate mapping key".to_owned()
    };
    YamlError::new(reason, Some(at))
}

/// Which core-schema type an explicit tag asks for, if it is one this reader knows.
fn core_tag(tag: &Tag) -> Option<&str> {
    const CORE: &str = "tag:yaml.org,2002:";
    if tag.is_yaml_core_schema() {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        // Verbatim: `!<tag:yaml.org,2002:str>`.
        tag.suffix.strip_prefix(CORE)
    } else {
        None
    }
}

/// The non-specific tag `!`, which makes a scalar text whatever it looks like.
fn is_non_specific(tag: &Tag) -> bool {
    (tag.handle.is_empty() && tag.suffix == "!") || (tag.handle == "!" && tag.suffix.is_empty())
}

fn unsupported_tag(at: Position) -> YamlError {
    YamlError::new(
        "a tag other than !!str, !!int, !!float, !!bool, !!null, !!seq or !!map",
        Some(at),
    )
}

fn collection_tag(tag: Option<&Tag>, expected: &str, at: Position) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) if core_tag(t) == Some(expected) => Ok(()),
        Some(t) if is_non_specific(t) => Ok(()),
        Some(_) => Err(unsupported_tag(at)),
    }
}

/// A scalar's value under the YAML 1.2 core schema, or as its explicit tag says.
fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: Position,
) -> Result<Value, YamlError> {
    let Some(tag) = tag else {
        return Ok(match style {
            ScalarStyle::Plain => resolve_plain(text),
            _ => Value::String(text.to_owned()),
        });
    };
    if is_non_specific(tag) {
        // The non-specific tag `!`: a string, whatever it looks like.
        return Ok(Value::String(text.to_owned()));
    }
    let mismatch =
        |kind: &str| YamlError::new(format!("a value tagged !!{kind} that is not one"), Some(at));
    match core_tag(tag) {
        Some("str") => Ok(Value::String(text.to_owned())),
        Some("null") => match resolve_plain(text) {
            Value::Null => Ok(Value::Null),
            _ => Err(mismatch("null")),
        },
        Some("bool") => match resolve_plain(text) {
            b @ Value::Bool(_) => Ok(b),
            _ => Err(mismatch("bool")),
        },
        Some("int") => match resolve_plain(text) {
            Value::Number(n) if !n.is_f64() => Ok(Value::Number(n)),
            _ => Err(mismatch("int")),
        },
        Some("float") => match resolve_plain(text) {
            Value::Number(n) => Ok(Value::Number(n)),
            Value::String(s) if is_non_finite(&s) => Ok(Value::String(s)),
            _ => Err(mismatch("float")),
        },
        _ => Err(unsupported_tag(at)),
    }
}

fn is_non_finite(s: &str) -> bool {
    matches!(
        s,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    )
}

/// A plain scalar under the YAML 1.2 core schema, with the YAML 1.1 spellings of true and
/// false (`yes`, `on`, `y` and `no`, `off`, `n`, in any case) that settings files written
/// for the original tool's YAML 1.1 reader use, and `_` between digits. Infinities and NaN
/// stay text (JSON has no such numbers).
fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    if is(&["true", "yes", "y", "on"]) {
        return Value::Bool(true);
    }
    if is(&["false", "no", "n", "off"]) {
        return Value::Bool(false);
    }
    if let Some(n) = without_digit_separators(text).as_deref().and_then(integer) {
        return Value::Number(n);
    }
    if is_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

/// `text` without `_` between two digits; `None` when an `_` is anywhere else.
fn without_digit_separators(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let digit = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_hexdigit)
        };
        if !(digit(i.checked_sub(1)) && digit(Some(i + 1))) {
            return None;
        }
    }
    Some(out)
}

fn integer(text: &str) -> Option<Number> {
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, text)
    };
    let unsigned = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    let signed_ok = radix == 10 || unsigned.len() == digits.len();
    if unsigned.is_empty() || !signed_ok || !unsigned.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if digits.starts_with('-') {
        i64::from_str_radix(digits, radix).ok().map(Number::from)
    } else {
        u64::from_str_radix(unsigned, radix).ok().map(Number::from)
    }
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |d: &str| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests;
