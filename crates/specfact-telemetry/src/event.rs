//! One recorded command: the [`Event`] and its JSON line.
//!
//! The JSON key names are exactly the reference implementation's, so existing
//! logs, `tail | jq` habits and downstream scripts keep working. Two keys are
//! ours: `timestamp` (command start, RFC 3339 UTC) and `event_id` (UUID v7).
//! Readers accept events without them, as the Python tool wrote.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The value of the `telemetry_version` key this library writes.
pub const TELEMETRY_VERSION: &str = "1.0";

/// Namespace of the name-based UUIDs the library derives: identities of events
/// written without an `event_id`, and delivery state keys.
pub(crate) const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_9a57_3b1e_4c2d_9f0e_5a4b_7c8d_2e10);

/// A sanitized, typed field value: the only kinds of value that reach disk or the network.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A boolean (`shadow_mode`, `success`).
    Bool(bool),
    /// A whole number (counts).
    Int(i64),
    /// A finite number (`duration_ms`, host-defined measures).
    Float(f64),
    /// A string that passed its field's pattern.
    Str(String),
}

impl FieldValue {
    /// The value as an integer, if it is one (floats with no fraction count too).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            FieldValue::Int(i) => Some(*i),
            FieldValue::Float(f) if f.fract() == 0.0 && f.is_finite() => Some(*f as i64),
            _ => None,
        }
    }

    /// The value as a float, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Bool(b) => write!(f, "{b}"),
            FieldValue::Int(i) => write!(f, "{i}"),
            FieldValue::Float(x) => write!(f, "{x}"),
            FieldValue::Str(s) => f.write_str(s),
        }
    }
}

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Bool(b) => s.serialize_bool(*b),
            FieldValue::Int(i) => s.serialize_i64(*i),
            FieldValue::Float(f) => s.serialize_f64(*f),
            FieldValue::Str(v) => s.serialize_str(v),
        }
    }
}

/// One command's telemetry: what is appended to the local log as one JSON line
/// and exported as one span.
///
/// `fields` holds the metadata the host recorded (`mode`, `files_analyzed`, host-registered
/// fields, …), already sanitized, in the order they were recorded. The other members are the
/// keys every event has; `timestamp`, `event_id`, `cli_version`, `opt_in_source` and
/// `telemetry_version` may be missing in logs written by other tools.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Dotted command identifier, e.g. `import.from_code`.
    pub command: String,
    /// Whether the command succeeded.
    pub success: bool,
    /// Error type name when it failed (`Exit`, `TimeoutError`, `io::NotFound`), never a message.
    pub error: Option<String>,
    /// Command duration in milliseconds, two decimals; `None` when the host did not time
    /// the command (the line then has no `duration_ms` key). An unknown duration is
    /// never written as 0.
    pub duration_ms: Option<f64>,
    /// Random per-process identifier (32 lowercase hex digits).
    pub session_id: String,
    /// Version of the event format (`"1.0"`).
    pub telemetry_version: Option<String>,
    /// The host CLI's version.
    pub cli_version: Option<String>,
    /// How telemetry was enabled: `env`, `config` or `file`.
    pub opt_in_source: Option<String>,
    /// When the command started; absent in logs written by the Python tool.
    pub timestamp: Option<SystemTime>,
    /// Unique event identifier (UUID v7); absent in logs written by the Python tool.
    pub event_id: Option<Uuid>,
    /// Sanitized metadata, in recording order.
    pub fields: Vec<(String, FieldValue)>,
}

/// The command of the test span that `specfact-telemetry doctor` sends to check a
/// collector end to end. See [`is_diagnostic`].
pub const DIAGNOSTIC_COMMAND: &str = "doctor.check";

/// The `mode` that marks an event as a diagnostic. See [`is_diagnostic`].
pub const DIAGNOSTIC_MODE: &str = "diagnostic";

/// Whether an event is a diagnostic, not a use of the host: command
/// [`DIAGNOSTIC_COMMAND`] (`doctor.check`, span `specfact.doctor.check`) **and** metadata
/// `mode` = [`DIAGNOSTIC_MODE`] (`diagnostic`). Reports, dashboards and servers leave
/// such events out of every figure.
///
/// Both marks are needed, so a host command that happens to share one of them is still
/// counted.
///
/// ```
/// use specfact_telemetry::event::{Event, is_diagnostic};
///
/// let probe = Event::from_json_line(br#"{"mode":"diagnostic","command":"doctor.check","success":true}"#).unwrap();
/// let real = Event::from_json_line(br#"{"mode":"repro","command":"repro.run","success":true}"#).unwrap();
/// assert!(is_diagnostic(&probe) && !is_diagnostic(&real));
/// ```
pub fn is_diagnostic(event: &Event) -> bool {
    event.command == DIAGNOSTIC_COMMAND
        && matches!(event.field("mode"), Some(FieldValue::Str(m)) if m == DIAGNOSTIC_MODE)
}

/// Keys that every event carries besides its metadata; a metadata field may never use them.
pub const RESERVED_KEYS: &[&str] = &[
    "command",
    "success",
    "error",
    "duration_ms",
    "session_id",
    "telemetry_version",
    "cli_version",
    "opt_in_source",
    "timestamp",
    "event_id",
];

impl Event {
    /// The stable identity of this event: its `event_id`, or for events written without
    /// one (the Python tool's) a name-based UUID of its canonical JSON line. Trace and
    /// span ids derive from it, so a resent event is recognisable.
    pub fn identity(&self) -> Uuid {
        match self.event_id {
            Some(id) => id,
            None => Uuid::new_v5(&ID_NAMESPACE, self.to_json_line().as_bytes()),
        }
    }

    /// The metadata field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A metadata count (`violations_detected`, `checks_total`, …), if present.
    pub fn count(&self, key: &str) -> Option<i64> {
        self.field(key).and_then(FieldValue::as_i64)
    }

    /// The command family: the part of `command` before the first dot (`repro` for `repro.run`).
    pub fn family(&self) -> &str {
        self.command.split('.').next().unwrap_or(&self.command)
    }

    /// When the command ended: `timestamp + duration_ms`, if the event has a timestamp
    /// (the timestamp itself when the duration is unknown).
    pub fn end_time(&self) -> Option<SystemTime> {
        let start = self.timestamp?;
        let ms = self.duration_ms.unwrap_or(0.0);
        let d = Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).ok()?;
        start.checked_add(d)
    }

    /// The event as one compact JSON line, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        // Serializing our own types into a String cannot fail: every value is finite
        // or a plain string, and the map keys are strings.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one JSON line. Unknown keys with scalar values are kept as metadata;
    /// keys with nested values are skipped.
    pub fn from_json_line(line: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice(line)
    }
}

/// Formats a time as RFC 3339 UTC with millisecond precision (`2026-11-24T06:15:00.123Z`).
///
/// Never panics: times before 1970 are written as the epoch and times past 9999 as the
/// last millisecond of 9999 (the formatter itself refuses both).
pub fn format_timestamp(t: SystemTime) -> String {
    // 9999-12-31T23:59:59.999Z
    const LAST: Duration = Duration::from_millis(253_402_300_799_999);
    let since = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .min(LAST);
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + since).to_string()
}

/// Parses an RFC 3339 UTC timestamp as written by [`format_timestamp`].
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s).ok()
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        // Same order as the reference: metadata first, then the keys the library sets.
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("session_id", &self.session_id)?;
        m.serialize_entry("success", &self.success)?;
        if let Some(e) = &self.error {
            m.serialize_entry("error", e)?;
        }
        if let Some(d) = &self.duration_ms {
            m.serialize_entry("duration_ms", d)?;
        }
        m.serialize_entry("command", &self.command)?;
        if let Some(v) = &self.telemetry_version {
            m.serialize_entry("telemetry_version", v)?;
        }
        if let Some(v) = &self.cli_version {
            m.serialize_entry("cli_version", v)?;
        }
        if let Some(v) = &self.opt_in_source {
            m.serialize_entry("opt_in_source", v)?;
        }
        if let Some(t) = self.timestamp {
            m.serialize_entry("timestamp", &format_timestamp(t))?;
        }
        if let Some(id) = &self.event_id {
            m.serialize_entry("event_id", &id.hyphenated().to_string())?;
        }
        m.end()
    }
}

/// A metadata value as read back from a log: scalars only.
enum LoggedValue {
    Field(FieldValue),
    Skip,
}

impl<'de> Deserialize<'de> for LoggedValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LoggedValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Field(FieldValue::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Field(FieldValue::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<LoggedValue, E> {
                Ok(i64::try_from(v)
                    .map(|i| LoggedValue::Field(FieldValue::Int(i)))
                    .unwrap_or(LoggedValue::Skip))
            }
            fn visit_f64<E>(self, v: f64) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Field(FieldValue::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Field(FieldValue::Str(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Field(FieldValue::Str(v)))
            }
            fn visit_unit<E>(self) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Skip)
            }
            fn visit_none<E>(self) -> Result<LoggedValue, E> {
                Ok(LoggedValue::Skip)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<LoggedValue, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LoggedValue::Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<LoggedValue, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LoggedValue::Skip)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EventVisitor)
    }
}

/// A key of an event line. The keys every event has are matched without allocating;
/// only metadata keys are copied.
enum Key {
    Command,
    Success,
    Error,
    DurationMs,
    SessionId,
    TelemetryVersion,
    CliVersion,
    OptInSource,
    Timestamp,
    EventId,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, k: &str) -> Result<Key, E> {
                Ok(match k {
                    "command" => Key::Command,
                    "success" => Key::Success,
                    "error" => Key::Error,
                    "duration_ms" => Key::DurationMs,
                    "session_id" => Key::SessionId,
                    "telemetry_version" => Key::TelemetryVersion,
                    "cli_version" => Key::CliVersion,
                    "opt_in_source" => Key::OptInSource,
                    "timestamp" => Key::Timestamp,
                    "event_id" => Key::EventId,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a telemetry event (a JSON object with `command` and `success`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut command: Option<String> = None;
        let mut success: Option<bool> = None;
        let mut error: Option<String> = None;
        let mut duration_ms: Option<f64> = None;
        let mut session_id: Option<String> = None;
        let mut telemetry_version = None;
        let mut cli_version = None;
        let mut opt_in_source = None;
        let mut timestamp = None;
        let mut event_id = None;
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Command => command = Some(map.next_value()?),
                Key::Success => success = Some(map.next_value()?),
                Key::Error => error = map.next_value()?,
                Key::DurationMs => duration_ms = map.next_value()?,
                Key::SessionId => session_id = Some(map.next_value()?),
                Key::TelemetryVersion => telemetry_version = map.next_value()?,
                Key::CliVersion => cli_version = map.next_value()?,
                Key::OptInSource => opt_in_source = map.next_value()?,
                Key::Timestamp => {
                    let s: Option<std::borrow::Cow<'de, str>> = map.next_value()?;
                    if let Some(s) = s {
                        timestamp = Some(parse_timestamp(&s).ok_or_else(|| {
                            de::Error::custom("`timestamp` is not an RFC 3339 UTC time")
                        })?);
                    }
                }
                Key::EventId => {
                    let s: Option<std::borrow::Cow<'de, str>> = map.next_value()?;
                    if let Some(s) = s {
                        event_id = Some(
                            Uuid::parse_str(&s)
                                .map_err(|_| de::Error::custom("`event_id` is not a UUID"))?,
                        );
                    }
                }
                Key::Other(name) => {
                    if let LoggedValue::Field(v) = map.next_value::<LoggedValue>()? {
                        fields.push((name, v));
                    }
                }
            }
        }
        Ok(Event {
            command: command.ok_or_else(|| de::Error::missing_field("command"))?,
            success: success.ok_or_else(|| de::Error::missing_field("success"))?,
            error,
            duration_ms,
            session_id: session_id.unwrap_or_default(),
            telemetry_version,
            cli_version,
            opt_in_source,
            timestamp,
            event_id,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTHON_LINE: &str = r#"{"mode":"repro","files_analyzed":2,"checks_total":3,"checks_failed":0,"violations_detected":0,"session_id":"98c0831d368b4a6b96126000557448f6","success":true,"duration_ms":12.98,"command":"repro.run","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}"#;

    #[test]
    fn python_line_round_trips_byte_for_byte() {
        let e = Event::from_json_line(PYTHON_LINE.as_bytes()).unwrap();
        assert_eq!(e.command, "repro.run");
        assert_eq!(e.count("checks_total"), Some(3));
        assert_eq!(e.field("mode"), Some(&FieldValue::Str("repro".into())));
        assert_eq!(e.timestamp, None);
        assert_eq!(e.to_json_line(), PYTHON_LINE);
    }

    #[test]
    fn our_keys_round_trip() {
        let e = Event {
            command: "plan.compare".into(),
            success: false,
            error: Some("Exit".into()),
            duration_ms: Some(4.39),
            session_id: "7d369c1e5c3e45bd9e48a70fbde8d684".into(),
            telemetry_version: Some(TELEMETRY_VERSION.into()),
            cli_version: Some("0.21.0".into()),
            opt_in_source: Some("file".into()),
            timestamp: parse_timestamp("2026-11-24T06:15:00.123Z"),
            event_id: Some(Uuid::now_v7()),
            fields: vec![("shadow_mode".into(), FieldValue::Bool(true))],
        };
        let line = e.to_json_line();
        assert!(
            line.contains(r#""timestamp":"2026-11-24T06:15:00.123Z""#),
            "{line}"
        );
        assert_eq!(Event::from_json_line(line.as_bytes()).unwrap(), e);
    }

    #[test]
    fn nested_values_are_skipped_and_missing_command_is_an_error() {
        let e = Event::from_json_line(
            br#"{"command":"x","success":true,"paths":["/home/a"],"cfg":{"a":1},"n":null}"#,
        )
        .unwrap();
        assert!(e.fields.is_empty());
        let err = Event::from_json_line(br#"{"success":true}"#).unwrap_err();
        assert!(err.to_string().contains("command"), "{err}");
        assert!(Event::from_json_line(b"[1,2]").is_err());
        assert!(
            Event::from_json_line(br#"{"command":"x","success":true,"timestamp":"yesterday"}"#)
                .is_err()
        );
    }

    #[test]
    fn timestamps_out_of_range_are_clamped_not_panics() {
        let before = std::time::UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(format_timestamp(before), "1970-01-01T00:00:00.000Z");
        let far = std::time::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_timestamp(far), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn end_time_adds_the_duration() {
        let e = Event {
            timestamp: parse_timestamp("2026-01-01T00:00:00Z"),
            duration_ms: Some(1500.0),
            ..Event::from_json_line(PYTHON_LINE.as_bytes()).unwrap()
        };
        assert_eq!(e.end_time(), parse_timestamp("2026-01-01T00:00:01.500Z"));
        assert_eq!(e.family(), "repro");
    }
}
