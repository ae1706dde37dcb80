//! Events as OTLP trace export requests, written directly as protobuf or OTLP/JSON.
//!
//! One event is one span named `specfact.<command>`, of kind INTERNAL, with its
//! fields as `specfact.<field>` attributes of their own type (int, double, bool,
//! string). The span starts at the event's `timestamp` and lasts `duration_ms`; a
//! failed command has status ERROR with its error type as the message. Trace and
//! span ids derive from the event's identity ([`Event::identity`]), so a resent
//! event carries the same ids and a receiver can drop the duplicate.
//!
//! Events written without a `timestamp` (by the Python tool) end at the time the
//! request is built and start `duration_ms` earlier: their real time is unknown.
//!
//! Events of one request may come from different host versions or opt-in sources;
//! each distinct resource gets its own `ResourceSpans`, in order of first appearance.
//! Encodings: protobuf (`application/x-protobuf`) or OTLP/JSON, optionally gzipped.
//! Both writers are ours (no generated message types at run time); the tests check
//! that what they write decodes, with the official OTLP message types, to exactly
//! the request those types build.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::event::{Event, FieldValue};

mod json;
mod pb;
#[cfg(test)]
mod reference;

/// Instrumentation scope name of every span.
pub const SCOPE_NAME: &str = "specfact_cli.telemetry";
/// Prefix of span names and attribute keys.
pub const PREFIX: &str = "specfact.";

/// Span flags: the W3C "sampled" bit, and "parent is known not to be remote" (root span).
const SPAN_FLAGS: u32 = 0x01 | 0x100;

/// How export requests are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `application/x-protobuf` (OTLP/HTTP binary), the default.
    #[default]
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl Protocol {
    /// The `Content-Type` of a request body in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Protobuf => "application/x-protobuf",
            Protocol::Json => "application/json",
        }
    }
}

/// Whether request bodies are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// `Content-Encoding: gzip`, the default.
    #[default]
    Gzip,
    /// Uncompressed bodies.
    None,
}

/// Why a request could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Compression failed.
    #[error("cannot compress the request: {0}")]
    Compress(#[from] std::io::Error),
}

/// The resource attributes every span shares, from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// `service.name`.
    pub service_name: String,
    /// `service.namespace`.
    pub service_namespace: String,
    /// `deployment.environment`.
    pub deployment_environment: String,
}

/// Trace and span id of an event's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanIds {
    /// 16 bytes: the event identity itself.
    pub trace_id: [u8; 16],
    /// 8 bytes: the identity's last eight bytes (never all zero: they hold the UUID variant bits).
    pub span_id: [u8; 8],
}

impl SpanIds {
    /// The ids of `event`'s span.
    pub fn of(event: &Event) -> SpanIds {
        let id = *event.identity().as_bytes();
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&id[8..]);
        SpanIds {
            trace_id: id,
            span_id,
        }
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One attribute value, borrowed from the event.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Attr<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// Calls `f` with each span attribute (key without the prefix), in the reference's
/// order: metadata first, then the keys the library sets. `event_id` is the event's
/// id, hyphenated, if it has one.
fn for_each_attribute<'a>(
    event: &'a Event,
    event_id: Option<&'a str>,
    mut f: impl FnMut(&'a str, Attr<'a>),
) {
    for (k, v) in &event.fields {
        let a = match v {
            FieldValue::Bool(b) => Attr::Bool(*b),
            FieldValue::Int(i) => Attr::Int(*i),
            FieldValue::Float(x) => Attr::Double(*x),
            FieldValue::Str(s) => Attr::Str(s),
        };
        f(k, a);
    }
    f("session_id", Attr::Str(&event.session_id));
    f("success", Attr::Bool(event.success));
    if let Some(e) = &event.error {
        f("error", Attr::Str(e));
    }
    if let Some(d) = event.duration_ms {
        f("duration_ms", Attr::Double(d));
    }
    f("command", Attr::Str(&event.command));
    for (key, value) in [
        ("telemetry_version", &event.telemetry_version),
        ("cli_version", &event.cli_version),
        ("opt_in_source", &event.opt_in_source),
    ] {
        if let Some(v) = value {
            f(key, Attr::Str(v));
        }
    }
    if let Some(id) = event_id {
        f("event_id", Attr::Str(id));
    }
}

/// Calls `f` with the event's id, hyphenated, if it has one.
fn with_event_id<R>(e: &Event, f: impl FnOnce(Option<&str>) -> R) -> R {
    let mut buf = [0u8; 36];
    let id = e
        .event_id
        .map(|id| &*id.hyphenated().encode_lower(&mut buf));
    f(id)
}

/// Start and end of the span, in Unix nanoseconds.
fn span_times(event: &Event, now: SystemTime) -> (u64, u64) {
    let duration = Duration::try_from_secs_f64(event.duration_ms.unwrap_or(0.0).max(0.0) / 1000.0)
        .unwrap_or_default();
    let (start, end) = match event.timestamp {
        Some(start) => (start, start.checked_add(duration).unwrap_or(start)),
        None => (now.checked_sub(duration).unwrap_or(now), now),
    };
    (unix_nanos(start), unix_nanos(end))
}

/// Calls `f` with each resource attribute of events with this version and opt-in source.
fn for_each_resource_attribute<'a>(
    info: &'a ResourceInfo,
    cli_version: Option<&'a str>,
    opt_in_source: Option<&'a str>,
    mut f: impl FnMut(&'static str, &'a str),
) {
    f("service.name", &info.service_name);
    f("service.namespace", &info.service_namespace);
    if let Some(v) = cli_version {
        f("service.version", v);
    }
    f("deployment.environment", &info.deployment_environment);
    if let Some(s) = opt_in_source {
        f("telemetry.opt_in_source", s);
    }
    f("telemetry.sdk.name", "specfact-telemetry");
    f("telemetry.sdk.language", "rust");
    f("telemetry.sdk.version", env!("CARGO_PKG_VERSION"));
}

/// Events of one resource (`cli_version`, `opt_in_source`), each with a value `T`.
type Group<'e, T> = (Option<&'e str>, Option<&'e str>, Vec<(&'e Event, T)>);

/// Groups events by resource in order of first appearance, keeping their order.
fn group_by_resource<'e, T>(
    events: impl IntoIterator<Item = &'e Event>,
    mut value: impl FnMut(&'e Event) -> T,
) -> Vec<Group<'e, T>> {
    let mut groups: Vec<Group<'e, T>> = Vec::new();
    for e in events {
        let (v, o) = (e.cli_version.as_deref(), e.opt_in_source.as_deref());
        let x = value(e);
        match groups.iter_mut().find(|(gv, go, _)| *gv == v && *go == o) {
            Some(g) => g.2.push((e, x)),
            None => groups.push((v, o, vec![(e, x)])),
        }
    }
    groups
}

/// The protobuf body (`ExportTraceServiceRequest`) of the request for `events`,
/// written directly: no intermediate messages, a fraction of the allocations.
pub fn encode_protobuf<'a>(
    info: &ResourceInfo,
    events: impl IntoIterator<Item = &'a Event>,
    now: SystemTime,
) -> Vec<u8> {
    pb::encode_request(info, group_by_resource(events, pb::span_len), now)
}

/// The OTLP/JSON body of the request for `events`, compact: hex trace and span ids,
/// integer enums, 64-bit integers as strings, default values left out.
pub fn encode_json<'a>(
    info: &ResourceInfo,
    events: impl IntoIterator<Item = &'a Event>,
    now: SystemTime,
) -> Vec<u8> {
    json::encode_request(info, group_by_resource(events, |_| ()), now)
}

/// The request body for `events` in `protocol`'s encoding (uncompressed).
pub fn encode<'a>(
    info: &ResourceInfo,
    events: impl IntoIterator<Item = &'a Event>,
    now: SystemTime,
    protocol: Protocol,
) -> Vec<u8> {
    match protocol {
        Protocol::Protobuf => encode_protobuf(info, events, now),
        Protocol::Json => encode_json(info, events, now),
    }
}

/// The request for `events` as pretty-printed OTLP/JSON (for dry runs and people).
pub fn to_json_pretty<'a>(
    info: &ResourceInfo,
    events: impl IntoIterator<Item = &'a Event>,
    now: SystemTime,
) -> String {
    let body = encode_json(info, events, now);
    // Our own output is valid JSON; re-reading it only adds the indentation.
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Gzips a body with a fast setting: request bodies are small and the uploader's
/// time matters more than a few percent of size.
#[cfg(feature = "otlp")]
pub fn gzip(body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    Ok(enc.finish()?)
}

/// A collector's partial-success answer: it accepted the request but dropped some spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialSuccess {
    /// Spans the collector rejected (0 with a message means a warning).
    pub rejected_spans: i64,
    /// The collector's explanation.
    pub error_message: String,
}

/// Reads a 2xx answer body (`ExportTraceServiceResponse`); `None` when it reports full
/// success or cannot be read (a 2xx is an acknowledgement either way).
pub fn decode_response(body: &[u8], content_type: Option<&str>) -> Option<PartialSuccess> {
    if body.is_empty() {
        return None;
    }
    let is_json = content_type.is_some_and(|c| c.contains("json"));
    let (rejected_spans, error_message) = if is_json {
        json::partial_success(body)?
    } else {
        pb::partial_success(body)?
    };
    (rejected_spans != 0 || !error_message.is_empty()).then_some(PartialSuccess {
        rejected_spans,
        error_message,
    })
}

#[cfg(test)]
mod tests;
