//! Trust no client: every decoded span is checked again by the core's sanitizer before it may
//! become a [`StoredSpan`], and a request's spans are committed before it is answered.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use specfact_telemetry::schema::FieldKind;
use specfact_telemetry::{Event, MachineIdentity, RecheckMemo, Sanitizer, Schema, Value};

use crate::decode::{
    self, DecodeError, Failure, Format, PREFIX, RawResource, RawSpan, RawValue, SpanSink,
};
use crate::store::{InsertOutcome, Store, StoreError, StoredSpan, unix_nanos};

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

    /// The span as it may be stored, or why not. `now` is Unix nanoseconds.
    pub fn check(
        &self,
        memo: &mut RecheckMemo,
        resource: &RawResource<'_>,
        span: &RawSpan<'_>,
        now: u64,
    ) -> Result<StoredSpan, Rejection> {
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
        let sanitizer = Sanitizer::new(&self.schema, &self.identity);
        let event = self.event(&sanitizer, command, resource, span);
        // The core's re-check: command, error type, session id, duration, versions and
        // opt-in source by their formats, metadata by the schema.
        let event = sanitizer
            .recheck_with(&event, memo)
            .ok_or(Rejection::BadCommand)?;
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
        Ok(StoredSpan {
            trace_id,
            span_id,
            command: event.command,
            start_unix_nano: span.start_unix_nano,
            end_unix_nano: span.end_unix_nano.max(span.start_unix_nano),
            success: event.success,
            error: event.error,
            duration_ms: event.duration_ms,
            session_id: event.session_id,
            event_id: event.event_id,
            telemetry_version: event.telemetry_version,
            cli_version: event.cli_version,
            opt_in_source: event.opt_in_source,
            service_name: identifier(&resource.service_name),
            deployment_environment: identifier(&resource.deployment_environment),
            fields: event.fields,
        })
    }

    /// The span's attributes as an [`Event`]: metadata only where the schema has the field,
    /// the library's own keys as sent (the re-check decides about those).
    fn event(
        &self,
        sanitizer: &Sanitizer<'_>,
        command: &str,
        resource: &RawResource<'_>,
        span: &RawSpan<'_>,
    ) -> Event {
        let mut event = Event {
            command: command.to_owned(),
            success: span.status_code != 2,
            error: None,
            duration_ms: span.end_unix_nano.saturating_sub(span.start_unix_nano) as f64 / 1e6,
            session_id: String::new(),
            telemetry_version: None,
            cli_version: resource.service_version.as_deref().map(str::to_owned),
            opt_in_source: resource.opt_in_source.as_deref().map(str::to_owned),
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
                    RawValue::Double(d) => event.duration_ms = *d,
                    RawValue::Int(i) => event.duration_ms = *i as f64,
                    _ => {}
                },
                "error" => event.error = text(),
                "session_id" => event.session_id = text().unwrap_or_default(),
                "telemetry_version" => event.telemetry_version = text(),
                "cli_version" => event.cli_version = text().or(event.cli_version.take()),
                "opt_in_source" => event.opt_in_source = text().or(event.opt_in_source.take()),
                "event_id" => event.event_id = text().and_then(|t| uuid::Uuid::parse_str(&t).ok()),
                field => {
                    let raw = match value {
                        RawValue::Str(s) => Value::Str(s.to_string()),
                        RawValue::Bool(b) => Value::Bool(*b),
                        RawValue::Int(i) => Value::Int(*i),
                        RawValue::Double(d) => Value::Float(*d),
                        RawValue::Other => Value::Map,
                    };
                    if let Ok(v) = sanitizer.field(field, &raw) {
                        match event.fields.iter_mut().find(|(k, _)| k == field) {
                            Some(slot) => slot.1 = v,
                            None => event.fields.push((field.to_owned(), v)),
                        }
                    }
                }
            }
        }
        event
    }
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

/// Checks and stores every span of one decoded body. Returns after the accepted spans are
/// committed. The body is validated completely first, so a malformed request stores nothing.
pub fn ingest(
    checker: &Checker,
    store: &dyn Store,
    body: &[u8],
    format: Format,
    now: SystemTime,
) -> Result<RequestOutcome, IngestError> {
    match decode::decode(body, format, &mut decode::Validate::default()) {
        Ok(()) => {}
        Err(Failure::Decode(e)) => return Err(e.into()),
        Err(Failure::Sink(never)) => match never {},
    }
    let mut sink = Ingest {
        checker,
        store,
        memo: RecheckMemo::default(),
        now: unix_nanos(now),
        pending: Vec::new(),
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
    checker: &'c Checker,
    store: &'c dyn Store,
    memo: RecheckMemo,
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
        match self
            .checker
            .check(&mut self.memo, resource, &span, self.now)
        {
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

#[cfg(test)]
mod tests {
    use super::*;
    use specfact_telemetry::FieldValue;

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
        let got = c
            .check(&mut RecheckMemo::default(), &resource, &span, NOW)
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
        let mut memo = RecheckMemo::default();
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
        let got = c.check(&mut memo, &resource, &span, NOW).unwrap();
        assert_eq!(got.error, None);
        assert!(got.fields.is_empty(), "{:?}", got.fields);
        assert_eq!(got.session_id, "");
        assert_eq!(got.event_id, None);
        assert_eq!(got.opt_in_source, None);
        assert_eq!(got.cli_version, None);
        assert_eq!(got.service_name, "");

        let reject = |span: RawSpan<'_>| {
            c.check(&mut RecheckMemo::default(), &resource, &span, NOW)
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
