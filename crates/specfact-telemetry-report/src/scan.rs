//! The fast path of a report: split the log into lines without copying them, and read
//! from each line only what the aggregation needs, borrowing strings instead of
//! allocating an [`Event`] per line.
//!
//! A line is an event here exactly when [`Event::from_json_line`] accepts it: the keys
//! every event has are checked with the same types and formats, other keys need only be
//! valid JSON. Should the two ever disagree, a line this parser rejects is handed to
//! [`Event::from_json_line`] before it is called malformed.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use specfact_telemetry::event::{Event, parse_timestamp};
use specfact_telemetry::log::MAX_LINE_BYTES;

/// A metadata count as [`Event::count`] would read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Metric {
    /// The key is absent (or its value is null, nested, or an integer beyond `i64`).
    #[default]
    Absent,
    /// The key holds a scalar; its whole-number value, if it is one.
    Present(Option<i64>),
}

impl Metric {
    pub(crate) fn of(e: &Event, key: &str) -> Metric {
        match e.field(key) {
            None => Metric::Absent,
            Some(v) => Metric::Present(v.as_i64()),
        }
    }

    pub(crate) fn is_present(self) -> bool {
        self != Metric::Absent
    }

    /// The count, with absent, negative and non-integer values as 0.
    pub(crate) fn count(self) -> u64 {
        match self {
            // Bounded like a sanitized count (10^12), so sums over any real log cannot
            // overflow even when a hand-edited line holds i64::MAX.
            Metric::Present(Some(n)) => u64::try_from(n).unwrap_or(0).min(1_000_000_000_000),
            _ => 0,
        }
    }
}

/// What the aggregation reads from one event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parts<'a> {
    pub command: Cow<'a, str>,
    pub success: bool,
    pub duration_ms: f64,
    pub session_id: Cow<'a, str>,
    pub timestamp: Option<SystemTime>,
    pub violations: Metric,
    pub checks_total: Metric,
    pub checks_failed: Metric,
    pub features: Metric,
    pub stories: Metric,
}

impl<'a> Parts<'a> {
    pub(crate) fn of(e: &'a Event) -> Parts<'a> {
        Parts {
            command: Cow::Borrowed(&e.command),
            success: e.success,
            duration_ms: e.duration_ms,
            session_id: Cow::Borrowed(&e.session_id),
            timestamp: e.timestamp,
            violations: Metric::of(e, "violations_detected"),
            checks_total: Metric::of(e, "checks_total"),
            checks_failed: Metric::of(e, "checks_failed"),
            features: Metric::of(e, "features_detected"),
            stories: Metric::of(e, "stories_detected"),
        }
    }

    /// Parses one line; `None` if it is not an event.
    pub(crate) fn parse(line: &'a [u8]) -> Option<Parts<'a>> {
        // Checking UTF-8 once for the whole line is cheaper than string by string.
        let text = std::str::from_utf8(line).ok()?;
        serde_json::from_str::<Parts<'a>>(text).ok()
    }
}

enum Key {
    Command,
    Success,
    Error,
    Duration,
    Session,
    OptionalString,
    Timestamp,
    EventId,
    Violations,
    ChecksTotal,
    ChecksFailed,
    Features,
    Stories,
    Other,
}

impl Key {
    fn of(s: &str) -> Key {
        match s {
            "command" => Key::Command,
            "success" => Key::Success,
            "error" => Key::Error,
            "duration_ms" => Key::Duration,
            "session_id" => Key::Session,
            "telemetry_version" | "cli_version" | "opt_in_source" => Key::OptionalString,
            "timestamp" => Key::Timestamp,
            "event_id" => Key::EventId,
            "violations_detected" => Key::Violations,
            "checks_total" => Key::ChecksTotal,
            "checks_failed" => Key::ChecksFailed,
            "features_detected" => Key::Features,
            "stories_detected" => Key::Stories,
            _ => Key::Other,
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key::of(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string, borrowed from the line when it has no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string whose content is checked by `check` and then forgotten.
struct Checked<F>(F);

impl<'de, F: FnOnce(&str) -> Result<(), &'static str>> DeserializeSeed<'de> for Checked<F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<F>(F);
        impl<F: FnOnce(&str) -> Result<(), &'static str>> Visitor<'_> for V<F> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
                (self.0)(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V(self.0))
    }
}

/// `null` or a value read by `seed`, like `Option<T>`.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V<S>(S);
        impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for V<S> {
            type Value = Option<S::Value>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("null or a value")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                self.0.deserialize(d).map(Some)
            }
        }
        d.deserialize_option(V(self.0))
    }
}

/// A metadata value, read as the event parser keeps metadata.
impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metric;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Metric, E> {
                Ok(Metric::Present(None))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Metric, E> {
                Ok(Metric::Present(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Metric, E> {
                Ok(i64::try_from(v).map_or(Metric::Absent, |i| Metric::Present(Some(i))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Metric, E> {
                let whole = v.fract() == 0.0 && v.is_finite();
                Ok(Metric::Present(whole.then_some(v as i64)))
            }
            fn visit_str<E>(self, _: &str) -> Result<Metric, E> {
                Ok(Metric::Present(None))
            }
            fn visit_unit<E>(self) -> Result<Metric, E> {
                Ok(Metric::Absent)
            }
            fn visit_none<E>(self) -> Result<Metric, E> {
                Ok(Metric::Absent)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Metric, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Metric::Absent)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Metric, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Metric::Absent)
            }
        }
        d.deserialize_any(V)
    }
}

fn check_nothing(_: &str) -> Result<(), &'static str> {
    Ok(())
}

fn check_uuid(s: &str) -> Result<(), &'static str> {
    uuid::Uuid::parse_str(s)
        .map(|_| ())
        .map_err(|_| "`event_id` is not a UUID")
}

impl<'de> Deserialize<'de> for Parts<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PartsVisitor)
    }
}

struct PartsVisitor;

impl<'de> Visitor<'de> for PartsVisitor {
    type Value = Parts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a telemetry event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parts<'de>, A::Error> {
        let mut command = None;
        let mut success = None;
        let mut duration_ms = None;
        let mut session_id = None;
        let mut timestamp = None;
        let mut metrics = [Metric::Absent; 5];
        while let Some(key) = map.next_key::<Key>()? {
            let metric = match key {
                Key::Command => {
                    command = Some(map.next_value::<Str<'de>>()?.0);
                    continue;
                }
                Key::Success => {
                    success = Some(map.next_value::<bool>()?);
                    continue;
                }
                Key::Duration => {
                    duration_ms = Some(map.next_value::<f64>()?);
                    continue;
                }
                Key::Session => {
                    session_id = Some(map.next_value::<Str<'de>>()?.0);
                    continue;
                }
                Key::Error | Key::OptionalString => {
                    map.next_value_seed(Nullable(Checked(check_nothing)))?;
                    continue;
                }
                Key::EventId => {
                    map.next_value_seed(Nullable(Checked(check_uuid)))?;
                    continue;
                }
                Key::Timestamp => {
                    let mut parsed = None;
                    let seed = Checked(|s: &str| {
                        parsed = parse_timestamp(s);
                        parsed
                            .map(|_| ())
                            .ok_or("`timestamp` is not an RFC 3339 UTC time")
                    });
                    if map.next_value_seed(Nullable(seed))?.is_some() {
                        timestamp = parsed;
                    }
                    continue;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Key::Violations => 0,
                Key::ChecksTotal => 1,
                Key::ChecksFailed => 2,
                Key::Features => 3,
                Key::Stories => 4,
            };
            let value = map.next_value::<Metric>()?;
            // Like `Event::field`, the first occurrence of a metadata key wins.
            if !metrics[metric].is_present() {
                metrics[metric] = value;
            }
        }
        let [violations, checks_total, checks_failed, features, stories] = metrics;
        Ok(Parts {
            command: command.ok_or_else(|| de::Error::missing_field("command"))?,
            success: success.ok_or_else(|| de::Error::missing_field("success"))?,
            duration_ms: duration_ms.unwrap_or(0.0),
            session_id: session_id.unwrap_or(Cow::Borrowed("")),
            timestamp,
            violations,
            checks_total,
            checks_failed,
            features,
            stories,
        })
    }
}

/// One line of the log, borrowed from the reader's buffer.
pub(crate) struct RawLine<'a> {
    /// The line without its newline; empty when it was too long to keep.
    pub bytes: &'a [u8],
    /// Byte offset where the line starts (read by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub offset: u64,
    /// Byte offset just past it (and its newline).
    pub end: u64,
    /// Whether it ends with a newline.
    pub complete: bool,
    /// Whether it is longer than [`MAX_LINE_BYTES`].
    pub too_long: bool,
}

/// Calls `f` for every non-blank line that starts in `[start, end)` (to the end of the
/// file without `end`), until `f` returns `false`. Lines are split exactly as
/// [`LogReader`](specfact_telemetry::log::LogReader) splits them, but are not copied unless they
/// straddle two reads.
pub(crate) fn for_each_line(
    path: &Path,
    start: u64,
    end: Option<u64>,
    mut f: impl FnMut(RawLine<'_>) -> bool,
) -> io::Result<()> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    let mut r = BufReader::with_capacity(256 * 1024, file);
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_too_long = false;
    let mut offset = start;
    let mut line_start = start;
    loop {
        if end.is_some_and(|e| line_start >= e) {
            return Ok(());
        }
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if offset > line_start {
                let line = RawLine {
                    bytes: if carry_too_long { &[] } else { &carry },
                    offset: line_start,
                    end: offset,
                    complete: false,
                    too_long: carry_too_long,
                };
                if !is_blank(&line) {
                    f(line);
                }
            }
            return Ok(());
        }
        let mut pos = 0;
        let mut go_on = true;
        while let Some(i) = memchr::memchr(b'\n', &chunk[pos..]) {
            let content = &chunk[pos..pos + i];
            let line_end = offset + (pos + i + 1) as u64;
            let (bytes, too_long): (&[u8], bool) = if carry.is_empty() && !carry_too_long {
                (content, content.len() > MAX_LINE_BYTES)
            } else {
                if !carry_too_long && carry.len() + content.len() <= MAX_LINE_BYTES {
                    carry.extend_from_slice(content);
                } else {
                    carry_too_long = true;
                }
                (&carry, carry_too_long)
            };
            let line = RawLine {
                bytes: if too_long { &[] } else { bytes },
                offset: line_start,
                end: line_end,
                complete: true,
                too_long,
            };
            if !is_blank(&line) {
                go_on = f(line);
            }
            carry.clear();
            carry_too_long = false;
            pos += i + 1;
            line_start = line_end;
            if !go_on || end.is_some_and(|e| line_start >= e) {
                return Ok(());
            }
        }
        let rest = &chunk[pos..];
        if !carry_too_long {
            if carry.len() + rest.len() <= MAX_LINE_BYTES {
                carry.extend_from_slice(rest);
            } else {
                carry.clear();
                carry_too_long = true;
            }
        }
        let n = chunk.len();
        r.consume(n);
        offset += n as u64;
    }
}

fn is_blank(line: &RawLine<'_>) -> bool {
    !line.too_long && line.bytes.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines whose handling is easy to get subtly different from the event parser.
    const TRICKY: &[&str] = &[
        r#"{"command":"repro.run","success":true}"#,
        r#"{"command":"a\u002eb","success":false,"session_id":"x\"y"}"#,
        r#"{"command":"a","success":true,"violations_detected":3,"violations_detected":5}"#,
        r#"{"command":"a","success":true,"violations_detected":null,"violations_detected":5}"#,
        r#"{"command":"a","success":true,"violations_detected":[1],"violations_detected":2.0}"#,
        r#"{"command":"a","success":true,"violations_detected":2.5}"#,
        r#"{"command":"a","success":true,"violations_detected":-4}"#,
        r#"{"command":"a","success":true,"violations_detected":18446744073709551615}"#,
        r#"{"command":"a","success":true,"checks_total":"3"}"#,
        r#"{"command":"a","success":true,"checks_total":true}"#,
        r#"{"command":"a","success":true,"features_detected":{"a":1}}"#,
        r#"{"command":"a","success":true,"timestamp":null,"event_id":null,"error":null}"#,
        r#"{"command":"a","success":true,"timestamp":"2026-01-05T10:00:00.123Z"}"#,
        r#"{"command":"a","success":true,"timestamp":"2026-01-05 10:00:00Z"}"#,
        r#"{"command":"a","success":true,"timestamp":"yesterday"}"#,
        r#"{"command":"a","success":true,"timestamp":5}"#,
        r#"{"command":"a","success":true,"event_id":"019b8b74-64a2-7bdd-9f24-f8e3d56c6692"}"#,
        r#"{"command":"a","success":true,"event_id":"nope"}"#,
        r#"{"command":"a","success":true,"error":3}"#,
        r#"{"command":"a","success":true,"cli_version":false}"#,
        r#"{"command":"a","success":true,"duration_ms":"5"}"#,
        r#"{"command":"a","success":true,"duration_ms":null}"#,
        r#"{"command":"a","success":true,"duration_ms":7}"#,
        r#"{"command":"a","success":true,"session_id":null}"#,
        r#"{"command":null,"success":true}"#,
        r#"{"command":"a","success":"true"}"#,
        r#"{"command":"a"}"#,
        r#"{"command":"a","success":true,"x":[1,{"y":null}],"z":{"w":[]}}"#,
        r#"{"command":"a","success":true} trailing"#,
        r#"  {"command":"a","success":true}  "#,
        r#"[{"command":"a","success":true}]"#,
        r#"{"command":"a","success":true,"nested":{"command":"b"}}"#,
        r#"{"command":"a","success":tru}"#,
        "\u{feff}{\"command\":\"a\",\"success\":true}",
        r#"{"command":"a","success":true,"command":"b"}"#,
        r#"{"command":"a","success":true,"session_id":"s","session_id":"t"}"#,
    ];

    #[test]
    fn accepts_exactly_what_the_event_parser_accepts_and_reads_the_same() {
        for line in TRICKY {
            let full = Event::from_json_line(line.as_bytes());
            let fast = Parts::parse(line.as_bytes());
            match (&full, &fast) {
                (Ok(e), Some(p)) => assert_eq!(&Parts::of(e), p, "{line}"),
                (Err(_), None) => {}
                _ => panic!("disagree on {line}: {full:?} vs {fast:?}"),
            }
        }
    }

    /// (bytes, start, end, complete, too long) of each line.
    type Got = Vec<(Vec<u8>, u64, u64, bool, bool)>;

    fn lines_in(path: &Path, start: u64, end: Option<u64>) -> Got {
        let mut out = Vec::new();
        for_each_line(path, start, end, |l| {
            out.push((l.bytes.to_vec(), l.offset, l.end, l.complete, l.too_long));
            true
        })
        .unwrap();
        out
    }

    fn lines_of(content: &[u8], start: u64, end: Option<u64>) -> Got {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, content).unwrap();
        lines_in(&path, start, end)
    }

    #[test]
    fn splits_like_the_log_reader() {
        let long = "y".repeat(MAX_LINE_BYTES + 1);
        // Lines longer than the read buffer, blank lines, a torn last line.
        let big = "x".repeat(300 * 1024);
        let content = format!("a\n\n  \n{big}\n{long}\nb\r\nc");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, &content).unwrap();
        let got = lines_in(&path, 0, None);
        let want: Vec<_> = specfact_telemetry::LocalLog::new(&path)
            .read()
            .unwrap()
            .map(|l| {
                let l = l.unwrap();
                (l.offset, l.end, l.complete)
            })
            .collect();
        let got_pos: Vec<_> = got.iter().map(|l| (l.1, l.2, l.3)).collect();
        assert_eq!(got_pos, want);
        assert_eq!(got[0].0, b"a");
        assert_eq!(got[1].0.len(), big.len());
        assert!(got[2].4 && got[2].0.is_empty());
        assert_eq!(got[3].0, b"b\r");
        assert_eq!(got[4].0, b"c");
    }

    #[test]
    fn stops_at_the_end_of_its_range() {
        let content = b"one\ntwo\nthree\n";
        let got = lines_of(content, 4, Some(8));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, b"two");
        let got = lines_of(content, 4, Some(9));
        assert_eq!(got.len(), 2);
        assert!(lines_of(content, 4, Some(4)).is_empty());
    }
}
