//! Trust no client: every decoded span is checked again by the core's sanitizer before it may
//! become a [`StoredSpan`], and a request's spans are committed before it is answered.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use specfact_telemetry::schema::FieldKind;
#[cfg(test)]
use specfact_telemetry::{Event, RecheckMemo};
use specfact_telemetry::{FieldValue, MachineIdentity, Sanitizer, Schema, Value};

use crate::decode::{
    self, DecodeError, Failure, Format, PREFIX, RawResource, RawSpan, RawValue, SpanSink,
};
use crate::store::{InsertOutcome, Store, StoreError, StoredSpan, UNKNOWN_DURATION, unix_nanos};

/// How far in the future a span may start (client clocks drift; nothing legitimate is
/// later than this).
const MAX_FUTURE_NANOS: u64 = 24 * 3600 * 1_000_000_000;

/// Spans handed to the store in one [`Store::insert`]; bounds a request's memory.
pub const CHUNK: usize = 2048;

/// Why a span was refused (counted in `partial_success`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Its name is not `specfact.<command>`.
    NotSpecfact,
    /// Its command is not an acceptable dotted identifier.
    BadCommand,
    /// Its trace id is not 16 bytes or its span id not 8, or one is all zero.
    BadIds,
    /// It has no start time.
    NoStartTime,
    /// It starts more than a day in the future.
    InTheFuture,
}

impl Rejection {
    const ALL: [Rejection; 5] = [
        Rejection::NotSpecfact,
        Rejection::BadCommand,
        Rejection::BadIds,
        Rejection::NoStartTime,
        Rejection::InTheFuture,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::NotSpecfact => "not named specfact.<command>",
            Rejection::BadCommand => "the command is not a dotted identifier",
            Rejection::BadIds => "no valid trace and span id",
            Rejection::NoStartTime => "no start time",
            Rejection::InTheFuture => "starts more than a day in the future",
        })
    }
}

/// Checks spans against the core's schema and sanitizer.
#[derive(Debug)]
pub struct Checker {
    schema: Schema,
    identity: MachineIdentity,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new(Schema::specfact())
    }
}

impl Checker {
    /// A checker for `schema`'s fields. The server's own machine identity is irrelevant to
    /// what clients send, so none is used.
    pub fn new(schema: Schema) -> Self {
        Checker {
            schema,
            identity: MachineIdentity::default(),
        }
    }

    /// The resource attributes a span may keep: `service.name` and `deployment.environment`
    /// as identifiers (empty when not acceptable); the version and opt-in source are checked
    /// with each span.
    pub fn resource(&self, resource: &RawResource<'_>) -> CheckedResource {
        let sanitizer = Sanitizer::new(&self.schema, &self.identity);
        let identifier = |v: &Option<Cow<'_, str>>| -> String {
            v.as_deref()
                .and_then(|s| {
                    sanitizer
                        .check(
                            &FieldKind::Identifier { max_len: 64 },
                            &Value::Str(s.to_owned()),
                        )
                        .ok()
                })
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        CheckedResource {
            service_name: identifier(&resource.service_name),
            deployment_environment: identifier(&resource.deployment_environment),
            service_version: resource.service_version.as_deref().map(str::to_owned),
            opt_in_source: resource.opt_in_source.as_deref().map(str::to_owned),
        }
    }

    /// The span's command, ids and start time, or why the span is refused.
    fn envelope<'s>(
        span: &'s RawSpan<'_>,
        now: u64,
    ) -> Result<(&'s str, [u8; 16], [u8; 8]), Rejection> {
        let command = span
            .name
            .as_deref()
            .and_then(|n| n.strip_prefix(PREFIX))
            .ok_or(Rejection::NotSpecfact)?;
        let trace_id: [u8; 16] = span
            .trace_id
            .as_ref()
            .try_into()
            .map_err(|_| Rejection::BadIds)?;
        let span_id: [u8; 8] = span
            .span_id
            .as_ref()
            .try_into()
            .map_err(|_| Rejection::BadIds)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return Err(Rejection::BadIds);
        }
        if span.start_unix_nano == 0 {
            return Err(Rejection::NoStartTime);
        }
        if span.start_unix_nano > now.saturating_add(MAX_FUTURE_NANOS) {
            return Err(Rejection::InTheFuture);
        }
        Ok((command, trace_id, span_id))
    }

    /// The span as it may be stored, or why not. `now` is Unix nanoseconds.
    ///
    /// The same verdicts as building the span's [`Event`] and passing it through the core's
    /// [`Sanitizer::recheck_with`] (a property test checks that), with each string's verdict
    /// remembered in `memo` and looked up without allocating.
    pub fn check(
        &self,
        memo: &mut Memo,
        resource: &CheckedResource,
        span: &RawSpan<'_>,
        now: u64,
    ) -> Result<StoredSpan, Rejection> {
        let (command, trace_id, span_id) = Self::envelope(span, now)?;
        memo.bound();
        let sanitizer = Sanitizer::new(&self.schema, &self.identity);
        let command = remembered(&mut memo.commands, command, |c| {
            sanitizer.program_command(c).ok()
        })
        .ok_or(Rejection::BadCommand)?;
        let mut success = span.status_code != 2;
        // A span without the attribute has no known duration (`record` without one).
        let mut duration_ms: Option<f64> = None;
        let (mut error, mut session_id, mut telemetry_version) = (None, None, None);
        let mut cli_version = resource.service_version.as_deref();
        let mut opt_in_source = resource.opt_in_source.as_deref();
        let mut event_id = None;
        let mut fields: Vec<(String, FieldValue)> = Vec::new();
        for (key, value) in &span.attributes {
            let text = match value {
                RawValue::Str(s) => Some(s.as_ref()),
                _ => None,
            };
            match key.as_ref() {
                "command" | "timestamp" => {}
                "success" => {
                    if let RawValue::Bool(b) = value {
                        success = *b;
                    }
                }
                "duration_ms" => match value {
                    RawValue::Double(d) => duration_ms = Some(*d),
                    RawValue::Int(i) => duration_ms = Some(*i as f64),
                    _ => {}
                },
                "error" => error = text,
                "session_id" => session_id = text,
                "telemetry_version" => telemetry_version = text,
                "cli_version" => cli_version = text.or(cli_version),
                "opt_in_source" => opt_in_source = text.or(opt_in_source),
                "event_id" => event_id = text.and_then(|t| uuid::Uuid::parse_str(t).ok()),
                field => {
                    let Some(kind) = self.schema.kind(field) else {
                        continue;
                    };
                    let verdict = match value {
                        RawValue::Str(s) => {
                            let verdict =
                                |s: &str| sanitizer.check(kind, &Value::Str(s.to_owned())).ok();
                            match memo.fields.of(field) {
                                Some(known) => remembered_value(known, s, verdict),
                                None => verdict(s),
                            }
                        }
                        RawValue::Bool(b) => sanitizer.check(kind, &Value::Bool(*b)).ok(),
                        RawValue::Int(i) => sanitizer.check(kind, &Value::Int(*i)).ok(),
                        RawValue::Double(d) => sanitizer.check(kind, &Value::Float(*d)).ok(),
                        RawValue::Other => None,
                    };
                    // The last value of a key counts; a refused last value removes the key.
                    let at = fields.iter().position(|(k, _)| k == field);
                    match (verdict, at) {
                        (Some(v), Some(i)) => fields[i].1 = v,
                        (Some(v), None) => fields.push((field.to_owned(), v)),
                        (None, Some(i)) => {
                            fields.remove(i);
                        }
                        (None, None) => {}
                    }
                }
            }
        }
        let duration_ms = duration_ms.and_then(|d| {
            match sanitizer.check(&FieldKind::DurationMs, &Value::Float(d)) {
                Ok(FieldValue::Float(d)) => Some(d),
                _ => None,
            }
        });
        let error =
            error.and_then(|e| remembered(&mut memo.errors, e, |e| sanitizer.error_type(e).ok()));
        let cli_version = cli_version
            .and_then(|v| remembered(&mut memo.versions, v, |v| sanitizer.cli_version(v).ok()));
        Ok(StoredSpan {
            trace_id,
            span_id,
            command,
            start_unix_nano: span.start_unix_nano,
            end_unix_nano: span.end_unix_nano.max(span.start_unix_nano),
            success,
            error,
            duration_ms: duration_ms.unwrap_or(UNKNOWN_DURATION),
            session_id: session_id
                .filter(|s| is_session_id(s))
                .unwrap_or_default()
                .to_owned(),
            event_id,
            telemetry_version: telemetry_version
                .filter(|v| is_format_version(v))
                .map(str::to_owned),
            cli_version,
            opt_in_source: opt_in_source
                .filter(|s| matches!(*s, "env" | "config" | "file"))
                .map(str::to_owned),
            service_name: resource.service_name.clone(),
            deployment_environment: resource.deployment_environment.clone(),
            fields,
        })
    }

    /// [`check`](Self::check) the slow way, through the core's event re-check: the reference
    /// the property test compares with.
    #[cfg(test)]
    fn check_by_recheck(
        &self,
        memo: &mut RecheckMemo,
        resource: &CheckedResource,
        span: &RawSpan<'_>,
        now: u64,
    ) -> Result<StoredSpan, Rejection> {
        let (command, trace_id, span_id) = Self::envelope(span, now)?;
        let sanitizer = Sanitizer::new(&self.schema, &self.identity);
        let event = self.event(command, resource, span);
        // The core's re-check: command, error type, session id, duration, versions and
        // opt-in source by their formats, metadata fields by their kinds in the schema
        // (`event` holds only fields the schema has).
        let event = sanitizer
            .recheck_with(&event, memo)
            .ok_or(Rejection::BadCommand)?;
        Ok(StoredSpan {
            trace_id,
            span_id,
            command: event.command,
            start_unix_nano: span.start_unix_nano,
            end_unix_nano: span.end_unix_nano.max(span.start_unix_nano),
            success: event.success,
            error: event.error,
            // Stored as -1 when the client recorded no duration (`record` without one).
            duration_ms: event.duration_ms.unwrap_or(UNKNOWN_DURATION),
            session_id: event.session_id,
            event_id: event.event_id,
            telemetry_version: event.telemetry_version,
            cli_version: event.cli_version,
            opt_in_source: event.opt_in_source,
            service_name: resource.service_name.clone(),
            deployment_environment: resource.deployment_environment.clone(),
            fields: event.fields,
        })
    }

    #[cfg(test)]
    /// The span's attributes as an [`Event`], unchecked: metadata only where the schema has
    /// the field, the library's own keys as sent. The re-check decides about every value.
    fn event(&self, command: &str, resource: &CheckedResource, span: &RawSpan<'_>) -> Event {
        let mut event = Event {
            command: command.to_owned(),
            success: span.status_code != 2,
            error: None,
            duration_ms: None,
            session_id: String::new(),
            telemetry_version: None,
            cli_version: resource.service_version.clone(),
            opt_in_source: resource.opt_in_source.clone(),
            timestamp: Some(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(span.start_unix_nano),
            ),
            event_id: None,
            fields: Vec::new(),
        };
        for (key, value) in &span.attributes {
            let text = || match value {
                RawValue::Str(s) => Some(s.to_string()),
                _ => None,
            };
            match key.as_ref() {
                "command" | "timestamp" => {}
                "success" => {
                    if let RawValue::Bool(b) = value {
                        event.success = *b;
                    }
                }
                "duration_ms" => match value {
                    RawValue::Double(d) => event.duration_ms = Some(*d),
                    RawValue::Int(i) => event.duration_ms = Some(*i as f64),
                    _ => {}
                },
                "error" => event.error = text(),
                "session_id" => event.session_id = text().unwrap_or_default(),
                "telemetry_version" => event.telemetry_version = text(),
                "cli_version" => event.cli_version = text().or(event.cli_version.take()),
                "opt_in_source" => event.opt_in_source = text().or(event.opt_in_source.take()),
                "event_id" => event.event_id = text().and_then(|t| uuid::Uuid::parse_str(&t).ok()),
                field if self.schema.kind(field).is_some() => {
                    let v = match value {
                        RawValue::Str(s) => FieldValue::Str(s.to_string()),
                        RawValue::Bool(b) => FieldValue::Bool(*b),
                        RawValue::Int(i) => FieldValue::Int(*i),
                        RawValue::Double(d) => FieldValue::Float(*d),
                        // Arrays, maps, bytes fit no field kind; a later value of the key
                        // counts, so an earlier one goes too.
                        RawValue::Other => {
                            event.fields.retain(|(k, _)| k != field);
                            continue;
                        }
                    };
                    match event.fields.iter_mut().find(|(k, _)| k == field) {
                        Some(slot) => slot.1 = v,
                        None => event.fields.push((field.to_owned(), v)),
                    }
                }
                _ => {}
            }
        }
        event
    }
}

/// A session id as the library writes it: 32 lowercase hex digits (as the core's re-check).
fn is_session_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An event format version (`1.0`), as the core's re-check takes it.
fn is_format_version(v: &str) -> bool {
    !v.is_empty() && v.len() <= 8 && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// String verdicts remembered across the spans of a request; bounded.
#[derive(Debug, Default)]
pub struct Memo {
    commands: HashMap<String, Option<String>>,
    errors: HashMap<String, Option<String>>,
    versions: HashMap<String, Option<String>>,
    fields: FieldMemo,
}

impl Memo {
    /// Most verdicts of each sort remembered; past this a sort starts over.
    const MAX_ENTRIES: usize = 4096;

    fn bound(&mut self) {
        for m in [&mut self.commands, &mut self.errors, &mut self.versions] {
            if m.len() > Self::MAX_ENTRIES {
                m.clear();
            }
        }
        if self.fields.0.values().map(HashMap::len).sum::<usize>() > Self::MAX_ENTRIES {
            self.fields.0.clear();
        }
    }
}

/// Field → text → verdict.
#[derive(Debug, Default)]
struct FieldMemo(HashMap<String, HashMap<String, Option<FieldValue>>>);

impl FieldMemo {
    fn of(&mut self, field: &str) -> Option<&mut HashMap<String, Option<FieldValue>>> {
        if !self.0.contains_key(field) {
            self.0.insert(field.to_owned(), HashMap::new());
        }
        self.0.get_mut(field)
    }
}

fn remembered(
    map: &mut HashMap<String, Option<String>>,
    key: &str,
    verdict: impl FnOnce(&str) -> Option<String>,
) -> Option<String> {
    if let Some(v) = map.get(key) {
        return v.clone();
    }
    let v = verdict(key);
    map.insert(key.to_owned(), v.clone());
    v
}

fn remembered_value(
    map: &mut HashMap<String, Option<FieldValue>>,
    key: &str,
    verdict: impl FnOnce(&str) -> Option<FieldValue>,
) -> Option<FieldValue> {
    if let Some(v) = map.get(key) {
        return v.clone();
    }
    let v = verdict(key);
    map.insert(key.to_owned(), v.clone());
    v
}

/// A resource's attributes as a span may keep them ([`Checker::resource`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedResource {
    /// `service.name` when it is an identifier, else empty.
    pub service_name: String,
    /// `deployment.environment` when it is an identifier, else empty.
    pub deployment_environment: String,
    /// `service.version` as sent (checked with each span as its `cli_version`).
    pub service_version: Option<String>,
    /// `telemetry.opt_in_source` as sent (checked with each span).
    pub opt_in_source: Option<String>,
}

/// What one request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOutcome {
    /// Spans that passed the checks and are committed (new or already stored).
    pub accepted: u64,
    /// Of those, spans that were already stored.
    pub duplicates: u64,
    /// Spans refused, by reason (indexed like [`Rejection`]).
    rejected_by: [u64; 5],
}

impl RequestOutcome {
    /// Spans refused.
    pub fn rejected(&self) -> u64 {
        self.rejected_by.iter().sum()
    }

    /// Refused spans of one reason.
    pub fn rejected_for(&self, reason: Rejection) -> u64 {
        self.rejected_by[reason.index()]
    }

    /// The `partial_success.error_message`: counts by reason, never span contents.
    pub fn message(&self) -> String {
        let parts: Vec<String> = Rejection::ALL
            .iter()
            .filter(|r| self.rejected_for(**r) > 0)
            .map(|r| format!("{} {r}", self.rejected_for(*r)))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(
                "{} span(s) rejected: {}; this server stores only specfact spans",
                self.rejected(),
                parts.join(", ")
            )
        }
    }
}

/// Why a request failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body is malformed (400).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The store failed (503: the client re-sends).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks and stores every span of one decoded body, in one pass. Returns after the accepted
/// spans are committed.
///
/// Spans go to the store [`CHUNK`] at a time. A malformed body therefore stores nothing
/// unless more than [`CHUNK`] acceptable spans come before the malformation: those are kept
/// (they passed every check; the client is told 400 and does not re-send them).
pub fn ingest(
    checker: &Checker,
    store: &dyn Store,
    body: &[u8],
    format: Format,
    now: SystemTime,
) -> Result<RequestOutcome, IngestError> {
    let mut sink = Ingest {
        resource: None,
        checker,
        store,
        memo: Memo::default(),
        now: unix_nanos(now),
        pending: Vec::with_capacity(512),
        outcome: RequestOutcome::default(),
    };
    match decode::decode(body, format, &mut sink) {
        Ok(()) => {}
        Err(Failure::Decode(e)) => return Err(e.into()),
        Err(Failure::Sink(e)) => return Err(e.into()),
    }
    sink.flush()?;
    Ok(sink.outcome)
}

struct Ingest<'c> {
    /// The last resource seen, as sent and as checked: spans of one resource share it.
    resource: Option<(RawResource<'static>, CheckedResource)>,
    checker: &'c Checker,
    store: &'c dyn Store,
    memo: Memo,
    now: u64,
    pending: Vec<StoredSpan>,
    outcome: RequestOutcome,
}

impl Ingest<'_> {
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let InsertOutcome {
            inserted,
            duplicates,
        } = self.store.insert(&self.pending)?;
        self.outcome.accepted += inserted + duplicates;
        self.outcome.duplicates += duplicates;
        self.pending.clear();
        Ok(())
    }
}

impl<'a> SpanSink<'a> for Ingest<'_> {
    type Error = StoreError;

    fn span(&mut self, resource: &RawResource<'a>, span: RawSpan<'a>) -> Result<(), StoreError> {
        if !matches!(&self.resource, Some((raw, _)) if raw == resource) {
            let checked = self.checker.resource(resource);
            self.resource = Some((owned(resource), checked));
        }
        let Some((_, checked)) = &self.resource else {
            return Ok(());
        };
        match self.checker.check(&mut self.memo, checked, &span, self.now) {
            Ok(s) => {
                // The same span twice in one request is stored once and counted as a duplicate.
                self.pending.push(s);
                if self.pending.len() >= CHUNK {
                    self.flush()?;
                }
            }
            Err(r) => self.outcome.rejected_by[r.index()] += 1,
        }
        Ok(())
    }
}

fn owned(r: &RawResource<'_>) -> RawResource<'static> {
    let own = |c: &Option<Cow<'_, str>>| c.as_deref().map(|s| Cow::Owned(s.to_owned()));
    RawResource {
        service_name: own(&r.service_name),
        service_version: own(&r.service_version),
        deployment_environment: own(&r.deployment_environment),
        opt_in_source: own(&r.opt_in_source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(name: &'a str, attrs: Vec<(&'a str, RawValue<'a>)>) -> RawSpan<'a> {
        RawSpan {
            trace_id: Cow::Owned(vec![1; 16]),
            span_id: Cow::Owned(vec![2; 8]),
            name: Some(Cow::Borrowed(name)),
            start_unix_nano: 1_800_000_000_000_000_000,
            end_unix_nano: 1_800_000_000_005_000_000,
            status_code: 0,
            attributes: attrs
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
        }
    }

    fn s(v: &str) -> RawValue<'_> {
        RawValue::Str(Cow::Borrowed(v))
    }

    const NOW: u64 = 1_800_000_000_000_000_000;

    #[test]
    fn a_reference_span_keeps_its_allowed_fields() {
        let resource = RawResource {
            service_name: Some(Cow::Borrowed("specfact-cli")),
            service_version: Some(Cow::Borrowed("0.20.5")),
            deployment_environment: Some(Cow::Borrowed("production")),
            opt_in_source: Some(Cow::Borrowed("env")),
        };
        let span = raw(
            "specfact.repro.run",
            vec![
                ("mode", s("repro")),
                ("files_analyzed", RawValue::Int(143)),
                ("checks_total", RawValue::Int(3)),
                ("session_id", s("e66ed2f0ed0a4d81bf92d91b2add3fed")),
                ("success", RawValue::Bool(false)),
                ("error", s("Exit")),
                ("duration_ms", RawValue::Double(14.79)),
                ("command", s("repro.run")),
                ("telemetry_version", s("1.0")),
                ("repo", s("/home/ada/payments")),
                ("checks_failed", s("three")),
            ],
        );
        let c = Checker::default();
        let resource = c.resource(&resource);
        let got = c
            .check(&mut Memo::default(), &resource, &span, NOW)
            .unwrap();
        assert_eq!(got.command, "repro.run");
        assert!(!got.success);
        assert_eq!(got.error.as_deref(), Some("Exit"));
        assert_eq!(got.duration_ms, 14.79);
        assert_eq!(got.session_id, "e66ed2f0ed0a4d81bf92d91b2add3fed");
        assert_eq!(got.cli_version.as_deref(), Some("0.20.5"));
        assert_eq!(got.opt_in_source.as_deref(), Some("env"));
        assert_eq!(got.service_name, "specfact-cli");
        assert_eq!(got.deployment_environment, "production");
        assert_eq!(
            got.fields,
            vec![
                ("mode".to_owned(), FieldValue::Str("repro".into())),
                ("files_analyzed".to_owned(), FieldValue::Int(140)),
                ("checks_total".to_owned(), FieldValue::Int(3)),
            ]
        );
    }

    #[test]
    fn hostile_values_are_dropped_and_hostile_spans_rejected() {
        let c = Checker::default();
        let mut memo = Memo::default();
        let resource = RawResource {
            service_name: Some(Cow::Borrowed("/srv/shop")),
            service_version: Some(Cow::Borrowed("ada@example.com")),
            ..Default::default()
        };
        let span = raw(
            "specfact.plan.init",
            vec![
                ("error", s("[Errno 2] No such file: '/home/ada/x'")),
                ("mode", s("ada@example.com")),
                ("execution_mode", s("C:\\Users\\ada")),
                ("session_id", s("not-a-session")),
                ("event_id", s("x")),
                ("opt_in_source", s("everything")),
            ],
        );
        let resource = c.resource(&resource);
        let got = c.check(&mut memo, &resource, &span, NOW).unwrap();
        assert_eq!(got.error, None);
        assert!(got.fields.is_empty(), "{:?}", got.fields);
        assert_eq!(got.session_id, "");
        assert_eq!(got.event_id, None);
        assert_eq!(got.opt_in_source, None);
        assert_eq!(got.cli_version, None);
        assert_eq!(got.service_name, "");

        let reject = |span: RawSpan<'_>| {
            c.check(&mut Memo::default(), &resource, &span, NOW)
                .unwrap_err()
        };
        assert_eq!(reject(raw("GET /checkout", vec![])), Rejection::NotSpecfact);
        assert_eq!(
            reject(raw("specfact./etc/passwd", vec![])),
            Rejection::BadCommand
        );
        assert_eq!(
            reject(raw("specfact.ada@example.com", vec![])),
            Rejection::BadCommand
        );
        let mut no_ids = raw("specfact.plan.init", vec![]);
        no_ids.span_id = Cow::Owned(vec![0; 8]);
        assert_eq!(reject(no_ids), Rejection::BadIds);
        let mut short = raw("specfact.plan.init", vec![]);
        short.trace_id = Cow::Owned(vec![1; 15]);
        assert_eq!(reject(short), Rejection::BadIds);
        let mut future = raw("specfact.plan.init", vec![]);
        future.start_unix_nano = NOW + 2 * MAX_FUTURE_NANOS;
        assert_eq!(reject(future), Rejection::InTheFuture);
        let mut unnamed = raw("x", vec![]);
        unnamed.name = None;
        assert_eq!(reject(unnamed), Rejection::NotSpecfact);
    }

    fn value_strategy() -> impl proptest::strategy::Strategy<Value = RawValue<'static>> {
        use proptest::prelude::*;
        let texts = prop::sample::select(vec![
            "repro",
            "Repro ",
            "",
            "  ",
            "/home/ada/x",
            "ada@example.com",
            "https://x.io/a",
            "Exit",
            "TimeoutError",
            "io::NotFound",
            "boom at /tmp/x",
            "0.20.5",
            "1.2.0-rc.1",
            "1.0",
            "env",
            "config",
            "everything",
            "e66ed2f0ed0a4d81bf92d91b2add3fed",
            "E66ED2F0ED0A4D81BF92D91B2ADD3FED",
            "0190a0d6-3f3e-7c4b-9a1e-2f5d6c7b8a90",
            "cicd",
            "a\u{0}b",
            "plan.init",
            "x".repeat(40).leak(),
        ]);
        prop_oneof![
            texts.prop_map(|t| RawValue::Str(Cow::Borrowed(t))),
            any::<bool>().prop_map(RawValue::Bool),
            prop_oneof![
                Just(-5i64),
                Just(0),
                Just(3),
                Just(143),
                Just(i64::MAX),
                any::<i64>()
            ]
            .prop_map(RawValue::Int),
            prop_oneof![
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(-1.0),
                Just(12.34),
                Just(1e300),
                any::<f64>()
            ]
            .prop_map(RawValue::Double),
            Just(RawValue::Other),
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_fast_check_agrees_with_the_cores_recheck(
            attrs in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "mode", "execution_mode", "shadow_mode", "files_analyzed",
                        "features_detected", "checks_total", "checks_failed", "success", "error",
                        "duration_ms", "session_id", "telemetry_version", "cli_version",
                        "opt_in_source", "event_id", "command", "timestamp", "repository",
                        "Mode", "",
                    ]),
                    value_strategy(),
                ),
                0..24,
            ),
            command in proptest::sample::select(vec!["repro.run", "Plan.Init", "/etc/x", "a..b", "ada@example.com"]),
            status in 0i32..3,
            version in proptest::option::of(proptest::sample::select(vec!["0.20.5", "ada@example.com", ""])),
        ) {
            let c = Checker::default();
            let name = format!("specfact.{command}");
            let mut span = raw(&name, attrs);
            span.status_code = status;
            let resource = c.resource(&RawResource {
                service_version: version.map(Cow::Borrowed),
                opt_in_source: Some(Cow::Borrowed("env")),
                ..Default::default()
            });
            let sort = |r: Result<StoredSpan, Rejection>| r.map(|mut s| {
                s.fields.sort_by(|a, b| a.0.cmp(&b.0));
                format!("{s:?}")
            });
            let mut memo = Memo::default();
            let fast = sort(c.check(&mut memo, &resource, &span, NOW));
            // Remembered verdicts give the same answer.
            let again = sort(c.check(&mut memo, &resource, &span, NOW));
            let slow = sort(c.check_by_recheck(&mut RecheckMemo::default(), &resource, &span, NOW));
            proptest::prop_assert_eq!(&fast, &slow);
            proptest::prop_assert_eq!(fast, again);
        }
    }

    #[test]
    fn the_message_counts_reasons_without_contents() {
        let mut o = RequestOutcome::default();
        o.rejected_by[Rejection::NotSpecfact.index()] = 2;
        o.rejected_by[Rejection::BadIds.index()] = 1;
        assert_eq!(o.rejected(), 3);
        assert_eq!(
            o.message(),
            "3 span(s) rejected: 2 not named specfact.<command>, 1 no valid trace and span id; this server stores only specfact spans"
        );
        assert_eq!(RequestOutcome::default().message(), "");
    }
}
