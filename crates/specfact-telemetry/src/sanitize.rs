//! The sanitizer: raw [`Value`]s become typed [`FieldValue`]s, or are dropped with a reason.
//!
//! Nothing downstream of this module sees unsanitized input.
//!
//! Every field is checked in three steps: the key must be in the [`Schema`] (and not one the
//! library sets itself); the value must fit the field's [`FieldKind`]; and a string, whatever
//! its kind, must not look like a path, an e-mail address, a URL, an IP address, a host name,
//! a token, or contain this machine's user or host name ([`MachineIdentity`]).

mod identity;
mod number;
mod patterns;
mod privacy;

use std::fmt;

use crate::event::{FieldValue, RESERVED_KEYS};
use crate::schema::{FieldKind, Schema};
use crate::value::Value;

pub use identity::MachineIdentity;

/// Why a field was dropped. The reason never contains the dropped value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The key is not in the schema.
    UnknownField,
    /// The key is one the library sets itself (`session_id`, `timestamp`, …).
    SetByLibrary,
    /// The value's type does not fit the field's kind.
    WrongType {
        /// What the field takes.
        expected: String,
        /// What was given (a type name, never the value).
        found: &'static str,
    },
    /// An empty string.
    Empty,
    /// Longer than the field allows.
    TooLong {
        /// The maximum length in characters.
        max: usize,
    },
    /// Does not match the field's pattern.
    BadFormat {
        /// What the field takes.
        expected: String,
    },
    /// Looks like a file system path.
    LooksLikePath,
    /// Looks like an e-mail address.
    LooksLikeEmail,
    /// Looks like a URL.
    LooksLikeUrl,
    /// Looks like an IP address.
    LooksLikeIpAddress,
    /// Looks like a host name.
    LooksLikeHostName,
    /// Looks like a token, key or hash.
    LooksLikeToken,
    /// Contains this machine's user name, host name or a home-directory component.
    ContainsMachineIdentity,
    /// A number outside the field's range (negative count, absurd value).
    OutOfRange,
    /// NaN or infinite.
    NotFinite,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::UnknownField => f.write_str("not an allowed field"),
            DropReason::SetByLibrary => f.write_str("set by the library, not by the host"),
            DropReason::WrongType { expected, found } => {
                write!(f, "expected {expected}, got a {found}")
            }
            DropReason::Empty => f.write_str("empty"),
            DropReason::TooLong { max } => write!(f, "longer than {max} characters"),
            DropReason::BadFormat { expected } => write!(f, "not {expected}"),
            DropReason::LooksLikePath => f.write_str("looks like a file path"),
            DropReason::LooksLikeEmail => f.write_str("looks like an e-mail address"),
            DropReason::LooksLikeUrl => f.write_str("looks like a URL"),
            DropReason::LooksLikeIpAddress => f.write_str("looks like an IP address"),
            DropReason::LooksLikeHostName => f.write_str("looks like a host name"),
            DropReason::LooksLikeToken => f.write_str("looks like a token or key"),
            DropReason::ContainsMachineIdentity => {
                f.write_str("contains this machine's user, host or home-directory name")
            }
            DropReason::OutOfRange => f.write_str("out of range"),
            DropReason::NotFinite => f.write_str("not a finite number"),
        }
    }
}

/// A field the sanitizer refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The key, made safe to print: control characters escaped, at most 64 characters.
    pub key: String,
    /// Why it was dropped.
    pub reason: DropReason,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dropped field {:?}: {}", self.key, self.reason)
    }
}

/// The result of sanitizing a batch of metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sanitized {
    /// Kept fields, in input order; a later value for the same key replaces an earlier one.
    pub fields: Vec<(String, FieldValue)>,
    /// Refused fields with their reasons.
    pub dropped: Vec<Dropped>,
}

/// The longest command identifier.
pub const MAX_COMMAND_LEN: usize = 64;
/// The longest error type name.
pub const MAX_ERROR_TYPE_LEN: usize = 64;
/// The longest host version string.
pub const MAX_CLI_VERSION_LEN: usize = 32;

/// String verdicts remembered while re-checking many events
/// ([`Sanitizer::recheck_with`]); bounded, so memory does not grow with the log.
#[derive(Debug, Default)]
pub struct RecheckMemo {
    /// (0 command | 1 error | 2 cli_version, text) → the accepted form.
    names: std::collections::HashMap<(u8, String), Option<String>>,
    /// (field, text) → the accepted value.
    fields: std::collections::HashMap<(String, String), Option<FieldValue>>,
}

impl RecheckMemo {
    /// Most remembered verdicts of each sort; past this the memo starts over.
    const MAX_ENTRIES: usize = 4096;

    fn bound(&mut self) {
        if self.names.len() > Self::MAX_ENTRIES {
            self.names.clear();
        }
        if self.fields.len() > Self::MAX_ENTRIES {
            self.fields.clear();
        }
    }
}

/// Checks raw metadata against a [`Schema`] and a [`MachineIdentity`].
#[derive(Debug, Clone, Copy)]
pub struct Sanitizer<'a> {
    schema: &'a Schema,
    identity: &'a MachineIdentity,
}

impl<'a> Sanitizer<'a> {
    /// A sanitizer for this schema and machine.
    pub fn new(schema: &'a Schema, identity: &'a MachineIdentity) -> Self {
        Sanitizer { schema, identity }
    }

    /// Checks one metadata field.
    ///
    /// Keys the library sets itself ([`RESERVED_KEYS`]) are refused with
    /// [`DropReason::SetByLibrary`], keys not in the schema with [`DropReason::UnknownField`].
    pub fn field(&self, key: &str, value: &Value) -> Result<FieldValue, DropReason> {
        if RESERVED_KEYS.contains(&key) {
            return Err(DropReason::SetByLibrary);
        }
        let kind = self.schema.kind(key).ok_or(DropReason::UnknownField)?;
        self.check(kind, value)
    }

    /// Checks a value against a field kind, whatever the field (for values the library
    /// receives from elsewhere, such as a `duration_ms` handed over by another program).
    pub fn check(&self, kind: &FieldKind, value: &Value) -> Result<FieldValue, DropReason> {
        match kind {
            FieldKind::Bool => number::boolean(value, kind).map(FieldValue::Bool),
            FieldKind::Count => number::count(value, kind).map(FieldValue::Int),
            FieldKind::RoundedCount => number::count(value, kind)
                .map(number::round_two_significant)
                .map(FieldValue::Int),
            FieldKind::DurationMs => number::duration_ms(value, kind).map(FieldValue::Float),
            FieldKind::Number => number::number(value, kind).map(FieldValue::Float),
            FieldKind::Command
            | FieldKind::Identifier { .. }
            | FieldKind::OneOf(_)
            | FieldKind::ErrorType => match value {
                Value::Str(s) => self.string(kind, s).map(FieldValue::Str),
                other => Err(DropReason::WrongType {
                    expected: kind.describe(),
                    found: other.type_name(),
                }),
            },
        }
    }

    /// Checks a batch of metadata fields.
    ///
    /// Kept fields stay in input order. When a key comes more than once, the last value is
    /// the one that counts: it replaces the earlier one at the earlier position, and if the
    /// last value is refused the field is left out altogether (a stale earlier value is
    /// never reported in its place).
    pub fn sanitize<'k, I>(&self, metadata: I) -> Sanitized
    where
        I: IntoIterator<Item = (&'k str, &'k Value)>,
    {
        let mut out = Sanitized::default();
        for (key, value) in metadata {
            let position = out.fields.iter().position(|(k, _)| k == key);
            match (self.field(key, value), position) {
                (Ok(v), Some(i)) => out.fields[i].1 = v,
                (Ok(v), None) => out.fields.push((key.to_owned(), v)),
                (Err(reason), position) => {
                    if let Some(i) = position {
                        out.fields.remove(i);
                    }
                    out.dropped.push(Dropped {
                        key: printable_key(key),
                        reason,
                    });
                }
            }
        }
        out
    }

    /// Checks and normalizes a command identifier as a value a user could type
    /// (lowercased, then checked as [`FieldKind::Command`], machine names included).
    pub fn command(&self, command: &str) -> Result<String, DropReason> {
        self.string(&FieldKind::Command, command)
    }

    /// Checks and normalizes the command name a host passes to
    /// [`Telemetry::track_command`](crate::Telemetry::track_command): a dotted identifier,
    /// lowercased.
    ///
    /// A host's command name is a constant of its program, not something a user typed, so
    /// it is *not* compared with the machine's user, host or home-directory names: an
    /// event is never lost because `generate.test-prompt` meets the user `test` or
    /// `plan.init` meets a home directory ending in `/plan`. Command names typed into a
    /// script go through [`free_form_command`](Self::free_form_command) instead.
    ///
    /// For the same reason a name whose last segment happens to be a top-level domain
    /// (`deploy.dev`, `sync.home`, `generate.site`) is a command, not a host name: only
    /// the command pattern (which admits no `/`, `:` or `@`) and the token check apply.
    pub fn program_command(&self, command: &str) -> Result<String, DropReason> {
        match self.command_shape(command) {
            Err(DropReason::LooksLikeHostName) => {
                let c = command.trim().to_ascii_lowercase();
                let fits = c.chars().count() <= MAX_COMMAND_LEN && patterns::is_command(&c);
                if fits && !privacy::looks_like_token(&c) {
                    Ok(c)
                } else {
                    Err(DropReason::LooksLikeHostName)
                }
            }
            other => other,
        }
    }

    /// Checks a command name written by a person (the argument of `specfact-telemetry
    /// record`): [`program_command`](Self::program_command), then refused with
    /// [`DropReason::ContainsMachineIdentity`] when one of its dot-separated segments is
    /// the user's name or the host's name ([`MachineIdentity::names_a_command_segment`]).
    pub fn free_form_command(&self, command: &str) -> Result<String, DropReason> {
        // Typed by a person: a host name here is refused like anywhere else.
        let checked = self.command_shape(command)?;
        if self.identity.names_a_command_segment(&checked) {
            return Err(DropReason::ContainsMachineIdentity);
        }
        Ok(checked)
    }

    /// A command identifier checked as a value, but not against the machine's names.
    fn command_shape(&self, command: &str) -> Result<String, DropReason> {
        let nobody = MachineIdentity::default();
        Sanitizer {
            schema: self.schema,
            identity: &nobody,
        }
        .string(&FieldKind::Command, command)
    }

    /// Checks an error type name.
    pub fn error_type(&self, error: &str) -> Result<String, DropReason> {
        self.string(&FieldKind::ErrorType, error)
    }

    /// Checks an event read back from the local log before it leaves the machine.
    ///
    /// The log is the user's file: the Python tool wrote error messages and whatever
    /// metadata it was given, and people edit logs by hand. So every field is checked
    /// again: schema fields by their kind, other well-named fields as a boolean, a
    /// finite number or a dotted identifier (the only shapes this library ever writes),
    /// and the library's own keys by their formats. Returns `None` when the command
    /// itself is not acceptable, so the event is not sent at all.
    pub fn recheck(&self, event: &crate::event::Event) -> Option<crate::event::Event> {
        self.recheck_with(event, &mut RecheckMemo::default())
    }

    /// [`recheck`](Self::recheck) for many events: string verdicts are remembered in
    /// `memo`, since a log repeats the same command names, modes and versions.
    pub fn recheck_with(
        &self,
        event: &crate::event::Event,
        memo: &mut RecheckMemo,
    ) -> Option<crate::event::Event> {
        memo.bound();
        let command = memo
            .names
            .entry((0, event.command.clone()))
            .or_insert_with(|| self.program_command(&event.command).ok())
            .clone()?;
        let mut fields = Vec::with_capacity(event.fields.len());
        for (key, value) in &event.fields {
            let raw = match value {
                FieldValue::Bool(b) => Value::Bool(*b),
                FieldValue::Int(i) => Value::Int(*i),
                FieldValue::Float(f) => Value::Float(*f),
                FieldValue::Str(s) => Value::Str(s.clone()),
            };
            if let FieldValue::Str(text) = value {
                let verdict = memo
                    .fields
                    .entry((key.clone(), text.clone()))
                    .or_insert_with(|| self.recheck_field(key, value, &raw))
                    .clone();
                if let Some(v) = verdict {
                    fields.push((key.clone(), v));
                }
                continue;
            }
            if let Some(v) = self.recheck_field(key, value, &raw) {
                fields.push((key.clone(), v));
            }
        }
        Some(self.recheck_rest(event, command, fields, memo))
    }

    fn recheck_field(&self, key: &str, value: &FieldValue, raw: &Value) -> Option<FieldValue> {
        {
            let checked = match self.schema.kind(key) {
                Some(kind) => self.check(kind, raw),
                None if RESERVED_KEYS.contains(&key) || !crate::schema::is_field_name(key) => {
                    Err(DropReason::UnknownField)
                }
                None => match value {
                    FieldValue::Bool(_) => self.check(&FieldKind::Bool, raw),
                    FieldValue::Int(_) | FieldValue::Float(_) => {
                        self.check(&FieldKind::Number, raw)
                    }
                    FieldValue::Str(_) => self.check(&FieldKind::Command, raw),
                },
            };
            checked.ok()
        }
    }

    fn recheck_rest(
        &self,
        event: &crate::event::Event,
        command: String,
        fields: Vec<(String, FieldValue)>,
        memo: &mut RecheckMemo,
    ) -> crate::event::Event {
        let session_id = if event.session_id.len() == 32
            && event
                .session_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            event.session_id.clone()
        } else {
            String::new()
        };
        // An unknown duration stays unknown, and so does one that does not fit the field.
        let duration_ms = event.duration_ms.and_then(|d| {
            match self.check(&FieldKind::DurationMs, &Value::Float(d)) {
                Ok(FieldValue::Float(d)) => Some(d),
                _ => None,
            }
        });
        let error = event.error.as_ref().and_then(|e| {
            memo.names
                .entry((1, e.clone()))
                .or_insert_with(|| self.error_type(e).ok())
                .clone()
        });
        let cli_version = event.cli_version.as_ref().and_then(|v| {
            memo.names
                .entry((2, v.clone()))
                .or_insert_with(|| self.cli_version(v).ok())
                .clone()
        });
        crate::event::Event {
            command,
            success: event.success,
            error,
            duration_ms,
            session_id,
            telemetry_version: event
                .telemetry_version
                .as_deref()
                .filter(|v| {
                    !v.is_empty()
                        && v.len() <= 8
                        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                })
                .map(str::to_owned),
            cli_version,
            opt_in_source: event
                .opt_in_source
                .as_deref()
                .filter(|s| matches!(*s, "env" | "config" | "file"))
                .map(str::to_owned),
            timestamp: event.timestamp,
            event_id: event.event_id,
            fields,
        }
    }

    /// Checks the host's version string (`0.20.5`, `1.2.0-rc.1+abc`), at most 32 characters.
    pub fn cli_version(&self, version: &str) -> Result<String, DropReason> {
        let s = self.common_string_checks(version, || "a version number".to_owned())?;
        if s.chars().count() > MAX_CLI_VERSION_LEN {
            return Err(DropReason::TooLong {
                max: MAX_CLI_VERSION_LEN,
            });
        }
        if !patterns::is_cli_version(s) {
            return Err(DropReason::BadFormat {
                expected: "a version number".to_owned(),
            });
        }
        Ok(s.to_owned())
    }

    /// Checks a string for one of the string kinds.
    fn string(&self, kind: &FieldKind, raw: &str) -> Result<String, DropReason> {
        let s = self.common_string_checks(raw, || kind.describe())?;
        let bad_format = || DropReason::BadFormat {
            expected: kind.describe(),
        };
        let (max, lowercase, pattern): (usize, bool, fn(&str) -> bool) = match kind {
            FieldKind::Command => (MAX_COMMAND_LEN, true, patterns::is_command),
            FieldKind::Identifier { max_len } => (*max_len, true, patterns::is_identifier),
            FieldKind::ErrorType => (MAX_ERROR_TYPE_LEN, false, patterns::is_error_type),
            FieldKind::OneOf(values) => {
                return values
                    .iter()
                    .find(|v| v.as_str() == s)
                    .cloned()
                    .ok_or_else(bad_format);
            }
            _ => return Err(bad_format()),
        };
        if s.chars().count() > max {
            return Err(DropReason::TooLong { max });
        }
        let s = if lowercase {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        };
        if pattern(&s) {
            Ok(s)
        } else {
            Err(bad_format())
        }
    }

    /// Trimming, emptiness, control characters and the privacy checks every string gets.
    fn common_string_checks<'s>(
        &self,
        raw: &'s str,
        expected: impl FnOnce() -> String,
    ) -> Result<&'s str, DropReason> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(DropReason::Empty);
        }
        if s.chars().any(char::is_control) {
            return Err(DropReason::BadFormat {
                expected: expected(),
            });
        }
        if let Some(reason) = privacy::hazard(s) {
            return Err(reason);
        }
        if self.identity.appears_in(s) {
            return Err(DropReason::ContainsMachineIdentity);
        }
        Ok(s)
    }
}

pub(crate) use crate::schema::printable_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_verdicts_match_fresh_ones_and_the_memo_stays_bounded() {
        let schema = Schema::specfact();
        let identity = MachineIdentity::from_names(["ada"]);
        let s = Sanitizer::new(&schema, &identity);
        let mut memo = RecheckMemo::default();
        let lines = [
            r#"{"mode":"repro","command":"repro.run","success":false,"error":"Exit","duration_ms":3,"session_id":"0123456789abcdef0123456789abcdef","cli_version":"1.2.3"}"#,
            r#"{"mode":"/home/ada","command":"repro.run","success":false,"error":"boom at /tmp/x","duration_ms":3,"session_id":"0123456789abcdef0123456789abcdef","cli_version":"ada"}"#,
            r#"{"mode":"ada-build","command":"ada.run","success":true,"duration_ms":3,"session_id":"x"}"#,
        ];
        for round in 0..3 {
            for line in lines {
                let e = crate::event::Event::from_json_line(line.as_bytes()).unwrap();
                assert_eq!(
                    s.recheck_with(&e, &mut memo),
                    s.recheck(&e),
                    "round {round}: {line}"
                );
            }
        }
        for i in 0..10_000 {
            let line = format!(
                r#"{{"mode":"m{i}","command":"c.x{i}","success":true,"duration_ms":1,"session_id":"y"}}"#
            );
            let e = crate::event::Event::from_json_line(line.as_bytes()).unwrap();
            s.recheck_with(&e, &mut memo);
        }
        assert!(memo.names.len() <= RecheckMemo::MAX_ENTRIES + 1);
        assert!(memo.fields.len() <= RecheckMemo::MAX_ENTRIES + 1);
    }
    use crate::schema::library_field_kind;

    /// The event log written by SpecFact CLI 0.20.5 (`fixtures/python-specfact-0.20.5/telemetry.log`).
    const REFERENCE_LOG: &str = r#"{"session_id":"8b9b064be73c4ceb9176ec5b6af08d1a","success":true,"duration_ms":14.19,"command":"plan.init","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}
{"mode":"cicd","execution_mode":"direct","files_analyzed":2,"shadow_mode":false,"features_detected":1,"stories_detected":1,"session_id":"7ef3a78e77384ba1be852ab72911422f","success":true,"duration_ms":8511.68,"command":"import.from_code","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}
{"mode":"repro","files_analyzed":2,"checks_total":3,"checks_failed":0,"violations_detected":0,"session_id":"98c0831d368b4a6b96126000557448f6","success":true,"duration_ms":12.98,"command":"repro.run","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}
{"error":"Exit","session_id":"7d369c1e5c3e45bd9e48a70fbde8d684","success":false,"duration_ms":4.39,"command":"plan.compare","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}
{"session_id":"67d7927bff68411b9a7eec0e52d01e93","success":true,"duration_ms":4.88,"command":"enforce.stage","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}
{"mode":"repro","files_analyzed":2,"checks_total":3,"checks_failed":0,"violations_detected":0,"session_id":"e66ed2f0ed0a4d81bf92d91b2add3fed","success":true,"duration_ms":14.79,"command":"repro.run","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}"#;

    fn schema() -> Schema {
        let mut schema = Schema::specfact();
        schema
            .register(
                "backend",
                FieldKind::OneOf(vec!["ast".into(), "agent".into()]),
            )
            .and_then(|s| s.register("ratio", FieldKind::Number))
            .and_then(|s| s.register("wait_ms", FieldKind::DurationMs))
            .and_then(|s| s.register("cause", FieldKind::ErrorType))
            .and_then(|s| s.register("subcommand", FieldKind::Command))
            .unwrap();
        schema
    }

    fn check(key: &str, value: impl Into<Value>) -> Result<FieldValue, DropReason> {
        let schema = schema();
        let identity = MachineIdentity::from_names(["ada"]).with_host_name("workbench.lan");
        Sanitizer::new(&schema, &identity).field(key, &value.into())
    }

    fn kept_str(key: &str, value: &str) -> String {
        match check(key, value) {
            Ok(FieldValue::Str(s)) => s,
            other => panic!("{key} = {value:?} was not kept as a string: {other:?}"),
        }
    }

    fn is_wrong_type(r: Result<FieldValue, DropReason>) -> bool {
        matches!(r, Err(DropReason::WrongType { .. }))
    }

    fn is_bad_format(r: Result<FieldValue, DropReason>) -> bool {
        matches!(r, Err(DropReason::BadFormat { .. }))
    }

    #[test]
    fn reserved_and_unknown_keys_are_refused() {
        for key in RESERVED_KEYS {
            assert_eq!(check(key, "x"), Err(DropReason::SetByLibrary), "{key}");
        }
        assert_eq!(check("repository", "x"), Err(DropReason::UnknownField));
        assert_eq!(check("Mode", "repro"), Err(DropReason::UnknownField));
        assert_eq!(check("", 1), Err(DropReason::UnknownField));
    }

    #[test]
    fn identifiers_are_trimmed_lowercased_and_bounded() {
        assert_eq!(kept_str("mode", "  Repro "), "repro");
        assert_eq!(kept_str("execution_mode", "fix-prompt_2"), "fix-prompt_2");
        let longest = format!("{}abcdefgh", "abcdefg-".repeat(3));
        assert_eq!(kept_str("mode", &longest), longest);
        assert_eq!(
            check("mode", "abcd-".repeat(7).as_str()),
            Err(DropReason::TooLong { max: 32 })
        );
        assert_eq!(check("mode", "   "), Err(DropReason::Empty));
        for bad in [
            "2fast", "-x", "re pro", "ré", "a.b", "a\tb", "a\u{0}b", "a;b", "a+b",
        ] {
            assert!(is_bad_format(check("mode", bad)), "{bad:?}");
        }
        for other in [
            Value::Int(1),
            Value::Bool(true),
            Value::List(2),
            Value::Map,
            Value::Null,
        ] {
            assert!(is_wrong_type(check("mode", other.clone())), "{other:?}");
        }
    }

    #[test]
    fn a_hosts_command_name_is_never_refused_for_common_words() {
        let schema = schema();
        let identity = MachineIdentity::from_names(["test", "plan"]);
        let s = Sanitizer::new(&schema, &identity);
        assert_eq!(
            s.program_command("generate.test-prompt").as_deref(),
            Ok("generate.test-prompt")
        );
        assert_eq!(s.program_command("Plan.Init").as_deref(), Ok("plan.init"));
        // A last segment that is also a top-level domain is still a host's command...
        for c in [
            "deploy.dev",
            "sync.home",
            "generate.site",
            "aaa-aaa.aaa.xyz",
        ] {
            assert_eq!(s.program_command(c).as_deref(), Ok(c));
        }
        // ...but typed into `record` it may be a machine's name.
        assert_eq!(
            s.free_form_command("build.example.com"),
            Err(DropReason::LooksLikeHostName)
        );
        assert!(s.command("plan.init").is_err());
        assert!(matches!(
            s.program_command("/home/plan"),
            Err(DropReason::LooksLikePath)
        ));
        // Typed into a script: refused only when a whole segment is a user or host name.
        assert_eq!(
            s.free_form_command("generate.test-prompt").as_deref(),
            Ok("generate.test-prompt")
        );
        assert_eq!(
            s.free_form_command("test.run"),
            Err(DropReason::ContainsMachineIdentity)
        );
    }

    #[test]
    fn commands_are_dotted_identifiers() {
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        assert_eq!(
            s.command("Import.From_Code").as_deref(),
            Ok("import.from_code")
        );
        assert_eq!(
            s.command("generate.fix-prompt").as_deref(),
            Ok("generate.fix-prompt")
        );
        assert_eq!(s.command(" repro ").as_deref(), Ok("repro"));
        let longest = format!("{}abcdefgh", "abcdefg.".repeat(7));
        assert!(longest.len() == MAX_COMMAND_LEN && s.command(&longest).is_ok());
        assert_eq!(
            s.command(&format!("{longest}c")),
            Err(DropReason::TooLong { max: 64 })
        );
        for bad in [
            "plan..init",
            ".plan",
            "plan.",
            "plan.2",
            "plan init",
            "plan:init",
        ] {
            assert!(
                matches!(s.command(bad), Err(DropReason::BadFormat { .. })),
                "{bad}"
            );
        }
        assert_eq!(s.command(""), Err(DropReason::Empty));
        assert_eq!(kept_str("subcommand", "Sync.Bridge"), "sync.bridge");
    }

    #[test]
    fn one_of_takes_only_listed_values() {
        assert_eq!(kept_str("backend", " ast "), "ast");
        assert!(is_bad_format(check("backend", "AST")));
        assert!(is_bad_format(check("backend", "asts")));
        assert_eq!(check("backend", ""), Err(DropReason::Empty));
        assert!(is_wrong_type(check("backend", 1)));
    }

    #[test]
    fn listed_values_still_get_the_privacy_checks() {
        let mut schema = Schema::empty();
        schema
            .register(
                "target",
                FieldKind::OneOf(vec!["/srv/app".into(), "ada-box".into(), "ok".into()]),
            )
            .unwrap();
        let identity = MachineIdentity::from_names(["ada"]);
        let s = Sanitizer::new(&schema, &identity);
        assert_eq!(
            s.field("target", &"/srv/app".into()),
            Err(DropReason::LooksLikePath)
        );
        assert_eq!(
            s.field("target", &"ada-box".into()),
            Err(DropReason::ContainsMachineIdentity)
        );
        assert_eq!(
            s.field("target", &"ok".into()),
            Ok(FieldValue::Str("ok".into()))
        );
    }

    #[test]
    fn error_types_are_names_not_messages() {
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        for good in [
            "Exit",
            "TimeoutError",
            "io::NotFound",
            "requests.exceptions.ConnectionError",
            "ConnectionRefusedError",
            "NotADirectoryError",
            "std::io::ErrorKind::PermissionDenied",
        ] {
            assert_eq!(s.error_type(good).as_deref(), Ok(good));
        }
        assert_eq!(
            s.error_type("[Errno 2] No such file or directory: '/home/ada/x'"),
            Err(DropReason::LooksLikePath)
        );
        for message in [
            "connection refused",
            "Exit(1)",
            "'Exit'",
            "io:NotFound",
            "Bad-Type",
        ] {
            assert!(
                matches!(s.error_type(message), Err(DropReason::BadFormat { .. })),
                "{message}"
            );
        }
        let long = format!("E{}", "rror".repeat(16));
        assert_eq!(s.error_type(&long), Err(DropReason::TooLong { max: 64 }));
        assert_eq!(kept_str("cause", "ValueError"), "ValueError");
    }

    #[test]
    fn cli_versions() {
        let schema = schema();
        let identity = MachineIdentity::from_names(["ada"]);
        let s = Sanitizer::new(&schema, &identity);
        for good in ["0.20.5", "1.2.0-rc.1+abc", "v3", "2026.1.0"] {
            assert_eq!(s.cli_version(good).as_deref(), Ok(good));
        }
        assert_eq!(s.cli_version(" 0.20.5\n").as_deref(), Ok("0.20.5"));
        for bad in ["release", "1.0 beta", "V1", "1_0", "1.0\u{7}"] {
            assert!(
                matches!(s.cli_version(bad), Err(DropReason::BadFormat { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(s.cli_version(""), Err(DropReason::Empty));
        assert_eq!(
            s.cli_version(&format!("1.2.3-{}", "beta.".repeat(6))),
            Err(DropReason::TooLong { max: 32 })
        );
        assert_eq!(
            s.cli_version("1.0.0+ada"),
            Err(DropReason::ContainsMachineIdentity)
        );
        assert_eq!(
            s.cli_version("1.0.0+0123456789abcdef0123456789abcdef"),
            Err(DropReason::LooksLikeToken)
        );
    }

    #[test]
    fn numbers_and_booleans_through_fields() {
        assert_eq!(check("checks_total", 6), Ok(FieldValue::Int(6)));
        assert_eq!(check("checks_failed", "2"), Ok(FieldValue::Int(2)));
        assert_eq!(
            check("features_detected", vec![1, 2, 3]),
            Ok(FieldValue::Int(3))
        );
        assert_eq!(
            check("violations_detected", -1),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(check("files_analyzed", 143), Ok(FieldValue::Int(140)));
        assert_eq!(check("files_analyzed", 145u32), Ok(FieldValue::Int(150)));
        assert_eq!(check("files_analyzed", 99.0), Ok(FieldValue::Int(99)));
        assert_eq!(check("files_analyzed", 999), Ok(FieldValue::Int(1000)));
        assert_eq!(check("shadow_mode", "TRUE"), Ok(FieldValue::Bool(true)));
        assert_eq!(check("shadow_mode", 0), Ok(FieldValue::Bool(false)));
        assert!(is_wrong_type(check("shadow_mode", "on")));
        assert_eq!(check("wait_ms", 12.345), Ok(FieldValue::Float(12.35)));
        assert_eq!(check("wait_ms", 7), Ok(FieldValue::Float(7.0)));
        assert_eq!(check("ratio", 0.333333), Ok(FieldValue::Float(0.3333)));
        assert_eq!(check("ratio", f64::NAN), Err(DropReason::NotFinite));
        assert!(is_wrong_type(check("ratio", Value::Map)));
    }

    #[test]
    fn library_kinds_check_library_values() {
        let schema = Schema::empty();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        let duration = library_field_kind("duration_ms").unwrap();
        assert_eq!(
            s.check(&duration, &Value::Float(4.386)),
            Ok(FieldValue::Float(4.39))
        );
        let success = library_field_kind("success").unwrap();
        assert_eq!(
            s.check(&success, &Value::Str("false".into())),
            Ok(FieldValue::Bool(false))
        );
    }

    #[test]
    fn every_privacy_heuristic_applies_to_field_values() {
        use DropReason::*;
        let cases: [(&str, &str, DropReason); 12] = [
            ("subcommand", "plan/init", LooksLikePath),
            ("mode", r"C:\work", LooksLikePath),
            ("mode", "~", LooksLikePath),
            ("mode", "ada.lovelace@example.org", LooksLikeEmail),
            ("subcommand", "https://example.com", LooksLikeUrl),
            ("subcommand", "www.example", LooksLikeUrl),
            ("mode", "10.1.2.3", LooksLikeIpAddress),
            ("cause", "a1::b2", LooksLikeIpAddress),
            ("subcommand", "build.example.com", LooksLikeHostName),
            ("mode", "ghp_abcdefghijklmnop", LooksLikeToken),
            (
                "subcommand",
                "deploy.d41d8cd98f00b204e9800998ecf8427e",
                LooksLikeToken,
            ),
            ("mode", "ada-build", ContainsMachineIdentity),
        ];
        for (key, value, reason) in cases {
            assert_eq!(check(key, value), Err(reason), "{key} = {value:?}");
        }
        assert_eq!(check("mode", "Workbench2"), Err(ContainsMachineIdentity));
        assert_eq!(check("cause", "AdaFailure"), Err(ContainsMachineIdentity));
        assert_eq!(kept_str("mode", "adapter"), "adapter");
    }

    #[test]
    fn the_reference_log_passes_unchanged() {
        let schema = Schema::specfact();
        let identity = MachineIdentity::from_names(["ada"]).with_host_name("workbench");
        let s = Sanitizer::new(&schema, &identity);
        let mut metadata_fields = 0;
        for line in REFERENCE_LOG.lines() {
            let event: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            for (key, json) in &event {
                let value = Value::from(json);
                let expected = match json {
                    serde_json::Value::Bool(b) => FieldValue::Bool(*b),
                    serde_json::Value::Number(n) if n.is_i64() => {
                        FieldValue::Int(n.as_i64().unwrap())
                    }
                    serde_json::Value::Number(n) => FieldValue::Float(n.as_f64().unwrap()),
                    serde_json::Value::String(s) => FieldValue::Str(s.clone()),
                    other => panic!("unexpected value {other}"),
                };
                let text = json.as_str().unwrap_or_default();
                let got = match key.as_str() {
                    "command" => s.command(text).map(FieldValue::Str),
                    "error" => s.error_type(text).map(FieldValue::Str),
                    "cli_version" => s.cli_version(text).map(FieldValue::Str),
                    "success" | "duration_ms" => s.check(&library_field_kind(key).unwrap(), &value),
                    "session_id" | "telemetry_version" | "opt_in_source" => {
                        assert_eq!(s.field(key, &value), Err(DropReason::SetByLibrary));
                        continue;
                    }
                    _ => {
                        metadata_fields += 1;
                        s.field(key, &value)
                    }
                };
                assert_eq!(got, Ok(expected), "{key} in {line}");
            }
        }
        assert_eq!(metadata_fields, 16);
    }

    #[test]
    fn sanitize_keeps_order_and_lets_the_last_value_count() {
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        let values = [
            ("mode", Value::from("repro")),
            ("checks_total", Value::from(3)),
            ("mode", Value::from("cicd")),
            ("repository", Value::from("secret")),
            ("checks_failed", Value::from(1)),
            ("checks_total", Value::from("/tmp/x")),
            ("session_id", Value::from("x")),
        ];
        let out = s.sanitize(values.iter().map(|(k, v)| (*k, v)));
        assert_eq!(
            out.fields,
            vec![
                ("mode".to_owned(), FieldValue::Str("cicd".into())),
                ("checks_failed".to_owned(), FieldValue::Int(1)),
            ]
        );
        let dropped: Vec<(&str, &DropReason)> = out
            .dropped
            .iter()
            .map(|d| (d.key.as_str(), &d.reason))
            .collect();
        assert_eq!(dropped.len(), 3);
        assert_eq!(dropped[0], ("repository", &DropReason::UnknownField));
        assert_eq!(dropped[1].0, "checks_total");
        assert_eq!(dropped[2], ("session_id", &DropReason::SetByLibrary));
    }

    #[test]
    fn dropped_keys_are_printable() {
        let schema = Schema::empty();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        let long = "k".repeat(200);
        let nasty = "a\u{1b}[2Jb\u{202e}c\n";
        let v = Value::Null;
        let out = s.sanitize([(long.as_str(), &v), (nasty, &v), ("short", &v)]);
        assert_eq!(out.dropped[0].key.chars().count(), 64);
        assert!(out.dropped[0].key.ends_with('…'));
        assert_eq!(out.dropped[1].key, r"a\u{1b}[2Jb\u{202e}c\n");
        assert_eq!(out.dropped[2].key, "short");
        let exactly = "x".repeat(64);
        assert_eq!(printable_key(&exactly), exactly);
        let escaped_tail = format!("{}\u{7}", "x".repeat(62));
        let printed = printable_key(&escaped_tail);
        assert_eq!(printed, format!("{}…", "x".repeat(62)));
    }

    #[test]
    fn drop_reasons_never_contain_the_value() {
        let secret = "hunter2-sk-abcdefghijklmnop";
        let schema = schema();
        let identity = MachineIdentity::default();
        let s = Sanitizer::new(&schema, &identity);
        for key in [
            "mode",
            "subcommand",
            "backend",
            "cause",
            "checks_total",
            "ratio",
            "shadow_mode",
        ] {
            let reason = s.field(key, &Value::from(secret)).unwrap_err();
            let text = format!("{reason} {reason:?}");
            assert!(!text.contains("hunter2"), "{key}: {text}");
        }
        let reason = s.cli_version(secret).unwrap_err();
        assert!(!reason.to_string().contains("hunter2"));
    }
}
