//! Events as OTLP trace export requests.
//!
//! One event is one span named `specfact.<command>`, of kind INTERNAL, with its
//! fields as `specfact.<field>` attributes of their own type (int, double, bool,
//! string). The span starts at the event's `timestamp` and lasts `duration_ms`; a
//! failed command has status ERROR with its error type as the message. Trace and
//! span ids derive from the event's identity ([`event_identity`]), so a resent
//! event carries the same ids and a receiver can drop the duplicate.
//!
//! Events written without a `timestamp` (by the Python tool) end at the time the
//! request is built and start `duration_ms` earlier: their real time is unknown.
//!
//! Events of one request may come from different host versions or opt-in sources;
//! each distinct resource gets its own `ResourceSpans`, in order of first appearance.
//! Encodings: protobuf (`application/x-protobuf`) or OTLP/JSON, optionally gzipped.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::delivery::{DeliveryConfig, Protocol, event_identity};
use crate::event::{Event, FieldValue};

/// Instrumentation scope name of every span.
pub const SCOPE_NAME: &str = "specfact_cli.telemetry";
/// Prefix of span names and attribute keys.
pub const PREFIX: &str = "specfact.";

/// Span flags: the W3C "sampled" bit, and "parent is known not to be remote" (root span).
const SPAN_FLAGS: u32 = 0x01 | 0x100;

/// Why a request could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// OTLP/JSON serialization failed.
    #[error("cannot encode the request as OTLP/JSON: {0}")]
    Json(#[from] serde_json::Error),
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

impl ResourceInfo {
    /// The resource attributes configured in `config`.
    pub fn from_config(config: &DeliveryConfig) -> Self {
        ResourceInfo {
            service_name: config.service_name.clone(),
            service_namespace: config.service_namespace.clone(),
            deployment_environment: config.deployment_environment.clone(),
        }
    }
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
        let id = *event_identity(event).as_bytes();
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&id[8..]);
        SpanIds {
            trace_id: id,
            span_id,
        }
    }
}

fn kv(key: impl Into<String>, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    let mut k = String::with_capacity(PREFIX.len() + key.len());
    k.push_str(PREFIX);
    k.push_str(key);
    kv(k, value)
}

fn string(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.to_owned())
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

impl Attr<'_> {
    fn to_proto(self) -> any_value::Value {
        match self {
            Attr::Str(s) => string(s),
            Attr::Int(i) => any_value::Value::IntValue(i),
            Attr::Double(d) => any_value::Value::DoubleValue(d),
            Attr::Bool(b) => any_value::Value::BoolValue(b),
        }
    }
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

/// The span of one event. `now` is used as the end time of events without a timestamp.
pub fn event_span(event: &Event, now: SystemTime) -> Span {
    let ids = SpanIds::of(event);
    let (start, end) = span_times(event, now);
    let mut id_buf = [0u8; 36];
    let event_id = event
        .event_id
        .map(|id| &*id.hyphenated().encode_lower(&mut id_buf));
    let mut attributes = Vec::with_capacity(event.fields.len() + 9);
    for_each_attribute(event, event_id, |k, v| {
        attributes.push(attr(k, v.to_proto()))
    });
    let status = if event.success {
        Status::default()
    } else {
        Status {
            code: StatusCode::Error as i32,
            message: event.error.clone().unwrap_or_default(),
        }
    };
    let mut name = String::with_capacity(PREFIX.len() + event.command.len());
    name.push_str(PREFIX);
    name.push_str(&event.command);
    Span {
        trace_id: ids.trace_id.to_vec(),
        span_id: ids.span_id.to_vec(),
        flags: SPAN_FLAGS,
        name,
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        status: Some(status),
        ..Default::default()
    }
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

/// Builds one export request from events, grouping spans by resource.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    info: ResourceInfo,
    now: SystemTime,
    groups: Vec<(Option<String>, Option<String>, ResourceSpans)>,
    spans: usize,
}

impl RequestBuilder {
    /// An empty request. `now` is the end time given to events without a timestamp.
    pub fn new(info: ResourceInfo, now: SystemTime) -> Self {
        RequestBuilder {
            info,
            now,
            groups: Vec::new(),
            spans: 0,
        }
    }

    /// Adds one event's span.
    pub fn push(&mut self, event: &Event) {
        let span = event_span(event, self.now);
        let idx = match self
            .groups
            .iter()
            .position(|(v, s, _)| *v == event.cli_version && *s == event.opt_in_source)
        {
            Some(i) => i,
            None => {
                let rs = ResourceSpans {
                    resource: Some(self.resource(event)),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: SCOPE_NAME.to_owned(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                self.groups
                    .push((event.cli_version.clone(), event.opt_in_source.clone(), rs));
                self.groups.len() - 1
            }
        };
        let (_, _, rs) = &mut self.groups[idx];
        if let Some(scope) = rs.scope_spans.first_mut() {
            scope.spans.push(span);
        }
        self.spans += 1;
    }

    fn resource(&self, event: &Event) -> Resource {
        let mut attributes = Vec::with_capacity(8);
        for_each_resource_attribute(
            &self.info,
            event.cli_version.as_deref(),
            event.opt_in_source.as_deref(),
            |k, v| attributes.push(kv(k, string(v))),
        );
        Resource {
            attributes,
            ..Default::default()
        }
    }

    /// Number of spans added.
    pub fn len(&self) -> usize {
        self.spans
    }

    /// Whether no span was added.
    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }

    /// The request.
    pub fn build(self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self.groups.into_iter().map(|(_, _, rs)| rs).collect(),
        }
    }
}

/// The protobuf body of the request [`RequestBuilder`] would build from `events`,
/// written directly: no intermediate messages, a fraction of the allocations. This is
/// what the uploader sends; the tests check it decodes to exactly the built request.
pub fn encode_protobuf<'a>(
    info: &ResourceInfo,
    events: impl IntoIterator<Item = &'a Event>,
    now: SystemTime,
) -> Vec<u8> {
    // Group by resource in order of first appearance, remembering each span's size.
    type Group<'e> = (Option<&'e str>, Option<&'e str>, Vec<(&'e Event, usize)>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut total_hint = 0;
    for e in events {
        let (v, o) = (e.cli_version.as_deref(), e.opt_in_source.as_deref());
        let len = pb::span_len(e);
        total_hint += len + 4;
        match groups.iter_mut().find(|(gv, go, _)| *gv == v && *go == o) {
            Some(g) => g.2.push((e, len)),
            None => groups.push((v, o, vec![(e, len)])),
        }
    }
    let mut out = Vec::with_capacity(total_hint + groups.len() * 256);
    for (v, o, spans) in &groups {
        let resource_len = pb::resource_len(info, *v, *o);
        let scope_len = pb::field_len(1, SCOPE_NAME.len());
        let spans_len: usize = spans.iter().map(|(_, l)| pb::field_len(2, *l)).sum();
        let scope_spans_len = pb::field_len(1, scope_len) + spans_len;
        let rs_len = pb::field_len(1, resource_len) + pb::field_len(2, scope_spans_len);
        pb::put_len_key(&mut out, 1, rs_len);
        pb::put_len_key(&mut out, 1, resource_len);
        for_each_resource_attribute(info, *v, *o, |k, val| {
            pb::put_kv(&mut out, 1, "", k, Attr::Str(val));
        });
        pb::put_len_key(&mut out, 2, scope_spans_len);
        pb::put_len_key(&mut out, 1, scope_len);
        pb::put_bytes(&mut out, 1, SCOPE_NAME.as_bytes());
        for (e, len) in spans {
            pb::put_len_key(&mut out, 2, *len);
            pb::put_span(&mut out, e, now);
        }
    }
    out
}

/// A minimal protobuf writer for the OTLP trace messages.
mod pb {
    use super::{
        Attr, Event, PREFIX, SPAN_FLAGS, SpanIds, for_each_attribute, for_each_resource_attribute,
        span_times,
    };
    use crate::otlp::ResourceInfo;
    use std::time::SystemTime;

    const VARINT: u64 = 0;
    const I64: u64 = 1;
    const LEN: u64 = 2;
    const I32: u64 = 5;

    pub(super) fn varint_len(v: u64) -> usize {
        (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
    }

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn put_key(out: &mut Vec<u8>, field: u64, wire: u64) {
        put_varint(out, (field << 3) | wire);
    }

    /// Size of a length-delimited field with a `len`-byte payload (field < 16).
    pub(super) fn field_len(_field: u64, len: usize) -> usize {
        1 + varint_len(len as u64) + len
    }

    pub(super) fn put_len_key(out: &mut Vec<u8>, field: u64, len: usize) {
        put_key(out, field, LEN);
        put_varint(out, len as u64);
    }

    pub(super) fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
        put_len_key(out, field, b.len());
        out.extend_from_slice(b);
    }

    fn any_value_len(v: Attr<'_>) -> usize {
        match v {
            Attr::Str(s) => field_len(1, s.len()),
            Attr::Bool(_) => 2,
            Attr::Int(i) => 1 + varint_len(i as u64),
            Attr::Double(_) => 9,
        }
    }

    fn kv_len(prefix: &str, key: &str, v: Attr<'_>) -> usize {
        field_len(1, prefix.len() + key.len()) + field_len(2, any_value_len(v))
    }

    /// Writes a KeyValue as field `field` of the enclosing message.
    pub(super) fn put_kv(out: &mut Vec<u8>, field: u64, prefix: &str, key: &str, v: Attr<'_>) {
        put_len_key(out, field, kv_len(prefix, key, v));
        put_len_key(out, 1, prefix.len() + key.len());
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(key.as_bytes());
        put_len_key(out, 2, any_value_len(v));
        match v {
            Attr::Str(s) => put_bytes(out, 1, s.as_bytes()),
            Attr::Bool(b) => {
                put_key(out, 2, VARINT);
                out.push(u8::from(b));
            }
            Attr::Int(i) => {
                put_key(out, 3, VARINT);
                put_varint(out, i as u64);
            }
            Attr::Double(d) => {
                put_key(out, 4, I64);
                out.extend_from_slice(&d.to_le_bytes());
            }
        }
    }

    pub(super) fn resource_len(info: &ResourceInfo, v: Option<&str>, o: Option<&str>) -> usize {
        let mut n = 0;
        for_each_resource_attribute(info, v, o, |k, val| {
            n += field_len(1, kv_len("", k, Attr::Str(val)))
        });
        n
    }

    fn status_len(e: &Event) -> usize {
        if e.success {
            0
        } else {
            let m = e.error.as_deref().unwrap_or("");
            (if m.is_empty() {
                0
            } else {
                field_len(2, m.len())
            }) + 2
        }
    }

    fn with_event_id<R>(e: &Event, f: impl FnOnce(Option<&str>) -> R) -> R {
        let mut buf = [0u8; 36];
        let id = e
            .event_id
            .map(|id| &*id.hyphenated().encode_lower(&mut buf));
        f(id)
    }

    pub(super) fn span_len(e: &Event) -> usize {
        let mut n = field_len(1, 16) + field_len(2, 8);
        n += field_len(5, PREFIX.len() + e.command.len());
        n += 2; // kind
        n += 9 + 9; // start, end
        with_event_id(e, |id| {
            for_each_attribute(e, id, |k, v| n += field_len(9, kv_len(PREFIX, k, v)));
        });
        n += field_len(15, status_len(e));
        n += 2 + 4; // flags: field 16 takes a two-byte key
        n
    }

    pub(super) fn put_span(out: &mut Vec<u8>, e: &Event, now: SystemTime) {
        let ids = SpanIds::of(e);
        let (start, end) = span_times(e, now);
        put_bytes(out, 1, &ids.trace_id);
        put_bytes(out, 2, &ids.span_id);
        put_len_key(out, 5, PREFIX.len() + e.command.len());
        out.extend_from_slice(PREFIX.as_bytes());
        out.extend_from_slice(e.command.as_bytes());
        put_key(out, 6, VARINT);
        out.push(1); // SPAN_KIND_INTERNAL
        put_key(out, 7, I64);
        out.extend_from_slice(&start.to_le_bytes());
        put_key(out, 8, I64);
        out.extend_from_slice(&end.to_le_bytes());
        with_event_id(e, |id| {
            for_each_attribute(e, id, |k, v| put_kv(out, 9, PREFIX, k, v));
        });
        put_len_key(out, 15, status_len(e));
        if !e.success {
            let m = e.error.as_deref().unwrap_or("");
            if !m.is_empty() {
                put_bytes(out, 2, m.as_bytes());
            }
            put_key(out, 3, VARINT);
            out.push(2); // STATUS_CODE_ERROR
        }
        put_key(out, 16, I32);
        out.extend_from_slice(&SPAN_FLAGS.to_le_bytes());
    }
}

/// The request body in `protocol`'s encoding (uncompressed).
pub fn encode(
    request: &ExportTraceServiceRequest,
    protocol: Protocol,
) -> Result<Vec<u8>, EncodeError> {
    Ok(match protocol {
        Protocol::Protobuf => request.encode_to_vec(),
        Protocol::Json => serde_json::to_vec(request)?,
    })
}

/// The request as pretty-printed OTLP/JSON (for dry runs and people).
pub fn to_json_pretty(request: &ExportTraceServiceRequest) -> Result<String, EncodeError> {
    Ok(serde_json::to_string_pretty(request)?)
}

/// Gzips a body with a fast setting: request bodies are small and the uploader's
/// time matters more than a few percent of size.
pub fn gzip(body: &[u8]) -> Result<Vec<u8>, EncodeError> {
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

/// Reads a 2xx answer body; `None` when it reports full success or cannot be read
/// (a 2xx is an acknowledgement either way).
pub fn decode_response(body: &[u8], content_type: Option<&str>) -> Option<PartialSuccess> {
    if body.is_empty() {
        return None;
    }
    let is_json = content_type.is_some_and(|c| c.contains("json"));
    let response = if is_json {
        serde_json::from_slice::<ExportTraceServiceResponse>(body).ok()?
    } else {
        ExportTraceServiceResponse::decode(body).ok()?
    };
    let p = response.partial_success?;
    (p.rejected_spans != 0 || !p.error_message.is_empty()).then_some(PartialSuccess {
        rejected_spans: p.rejected_spans,
        error_message: p.error_message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_timestamp;
    use uuid::Uuid;

    const FIXTURE_LINE: &str = r#"{"mode":"repro","files_analyzed":2,"checks_total":3,"checks_failed":0,"violations_detected":0,"session_id":"e66ed2f0ed0a4d81bf92d91b2add3fed","success":true,"duration_ms":14.79,"command":"repro.run","telemetry_version":"1.0","cli_version":"0.20.5","opt_in_source":"env"}"#;

    fn info() -> ResourceInfo {
        ResourceInfo {
            service_name: "specfact-cli".into(),
            service_namespace: "cli".into(),
            deployment_environment: "production".into(),
        }
    }

    fn attrs(kvs: &[KeyValue]) -> Vec<(String, any_value::Value)> {
        kvs.iter()
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
            .collect()
    }

    #[test]
    fn a_python_event_matches_the_reference_span_attributes() {
        let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
        let now = parse_timestamp("2026-11-24T06:00:00Z").unwrap();
        let s = event_span(&e, now);
        assert_eq!(s.name, "specfact.repro.run");
        assert_eq!(s.kind, SpanKind::Internal as i32);
        let a = attrs(&s.attributes);
        let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
        // The reference's keys, in the reference's order.
        assert_eq!(
            keys,
            [
                "specfact.mode",
                "specfact.files_analyzed",
                "specfact.checks_total",
                "specfact.checks_failed",
                "specfact.violations_detected",
                "specfact.session_id",
                "specfact.success",
                "specfact.duration_ms",
                "specfact.command",
                "specfact.telemetry_version",
                "specfact.cli_version",
                "specfact.opt_in_source",
            ]
        );
        assert_eq!(a[1].1, any_value::Value::IntValue(2));
        assert_eq!(a[6].1, any_value::Value::BoolValue(true));
        assert_eq!(a[7].1, any_value::Value::DoubleValue(14.79));
        assert_eq!(s.end_time_unix_nano, unix_nanos(now));
        assert_eq!(s.end_time_unix_nano - s.start_time_unix_nano, 14_790_000);
        assert_eq!(s.status, Some(Status::default()));
        // Deterministic ids, derived from the line.
        assert_eq!(s.trace_id, event_span(&e, now).trace_id);
        assert_eq!(s.trace_id.len(), 16);
        assert_eq!(s.span_id.len(), 8);
        assert!(s.span_id.iter().any(|b| *b != 0));
    }

    #[test]
    fn our_events_have_real_times_error_status_and_ids_from_the_event_id() {
        let id = Uuid::parse_str("01936b2e-1f00-7abc-8def-0123456789ab").unwrap();
        let e = Event {
            success: false,
            error: Some("TimeoutError".into()),
            timestamp: parse_timestamp("2026-01-02T03:04:05.500Z"),
            duration_ms: Some(1500.0),
            event_id: Some(id),
            ..Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap()
        };
        let s = event_span(&e, SystemTime::now());
        assert_eq!(s.start_time_unix_nano, 1_767_323_045_500_000_000);
        assert_eq!(s.end_time_unix_nano, 1_767_323_047_000_000_000);
        assert_eq!(s.trace_id, id.as_bytes().to_vec());
        assert_eq!(s.span_id, id.as_bytes()[8..].to_vec());
        let st = s.status.unwrap();
        assert_eq!(
            (st.code, st.message.as_str()),
            (StatusCode::Error as i32, "TimeoutError")
        );
        let a = attrs(&s.attributes);
        assert!(a.contains(&("specfact.error".into(), string("TimeoutError"))));
        assert!(a.contains(&("specfact.event_id".into(), string(&id.to_string()))));
    }

    #[test]
    fn events_are_grouped_by_resource_and_the_fixture_resource_is_reproduced() {
        let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
        let other = Event {
            cli_version: Some("0.21.0".into()),
            ..e.clone()
        };
        let mut b = RequestBuilder::new(info(), SystemTime::now());
        b.push(&e);
        b.push(&other);
        b.push(&e);
        assert_eq!(b.len(), 3);
        let req = b.build();
        assert_eq!(req.resource_spans.len(), 2);
        let counts: Vec<usize> = req
            .resource_spans
            .iter()
            .map(|rs| rs.scope_spans[0].spans.len())
            .collect();
        assert_eq!(counts, [2, 1]);
        let scope = req.resource_spans[0].scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(scope.name, SCOPE_NAME);
        let res = attrs(&req.resource_spans[0].resource.as_ref().unwrap().attributes);
        for (k, v) in [
            ("service.name", "specfact-cli"),
            ("service.namespace", "cli"),
            ("service.version", "0.20.5"),
            ("deployment.environment", "production"),
            ("telemetry.opt_in_source", "env"),
        ] {
            assert!(res.contains(&(k.into(), string(v))), "{k}: {res:?}");
        }
        let res2 = attrs(&req.resource_spans[1].resource.as_ref().unwrap().attributes);
        assert!(res2.contains(&("service.version".into(), string("0.21.0"))));
    }

    #[test]
    fn protobuf_and_json_encodings_decode_back() {
        let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
        let mut b = RequestBuilder::new(info(), SystemTime::now());
        b.push(&e);
        let req = b.build();
        let pb = encode(&req, Protocol::Protobuf).unwrap();
        assert_eq!(
            ExportTraceServiceRequest::decode(pb.as_slice()).unwrap(),
            req
        );
        let json = encode(&req, Protocol::Json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        // OTLP/JSON: hex ids, integer enums, 64-bit integers as strings.
        assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
        assert_eq!(span["spanId"].as_str().unwrap().len(), 16);
        assert_eq!(span["kind"], 1);
        assert!(span["startTimeUnixNano"].is_string());
        assert_eq!(span["attributes"][1]["value"]["intValue"], "2");
        let back: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, req);
        let gz = gzip(&pb).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out)
            .unwrap();
        assert_eq!(out, pb);
    }

    #[test]
    fn the_reference_protobuf_payload_has_the_same_shape_as_ours() {
        let pb = include_bytes!("../tests/fixtures/python-specfact-0.20.5/otlp-repro.run.pb");
        let theirs = ExportTraceServiceRequest::decode(pb.as_slice()).unwrap();
        let e = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
        let mut b = RequestBuilder::new(info(), SystemTime::now());
        b.push(&e);
        let ours = b.build();
        let (t, o) = (&theirs.resource_spans[0], &ours.resource_spans[0]);
        assert_eq!(
            t.scope_spans[0].scope.as_ref().unwrap().name,
            o.scope_spans[0].scope.as_ref().unwrap().name
        );
        let (ts, os) = (&t.scope_spans[0].spans[0], &o.scope_spans[0].spans[0]);
        assert_eq!(ts.name, os.name);
        assert_eq!(ts.kind, os.kind);
        assert_eq!(attrs(&ts.attributes), attrs(&os.attributes));
        let their_res = attrs(&t.resource.as_ref().unwrap().attributes);
        for kv in attrs(&o.resource.as_ref().unwrap().attributes) {
            if !kv.0.starts_with("telemetry.sdk.") {
                assert!(
                    their_res.contains(&kv),
                    "{kv:?} not in the reference resource"
                );
            }
        }
    }

    #[test]
    fn the_direct_protobuf_writer_matches_the_official_messages() {
        let base = Event::from_json_line(FIXTURE_LINE.as_bytes()).unwrap();
        let events = vec![
            base.clone(),
            Event {
                success: false,
                error: Some("TimeoutError".into()),
                event_id: Some(Uuid::now_v7()),
                timestamp: Some(SystemTime::now()),
                cli_version: Some("0.21.0".into()),
                fields: vec![
                    ("shadow_mode".into(), FieldValue::Bool(false)),
                    ("files_analyzed".into(), FieldValue::Int(-1)),
                    ("big".into(), FieldValue::Int(i64::MAX)),
                    ("ratio".into(), FieldValue::Float(0.25)),
                    ("long".into(), FieldValue::Str("x".repeat(300))),
                ],
                ..base.clone()
            },
            Event {
                success: false,
                error: None,
                opt_in_source: None,
                ..base.clone()
            },
            base,
        ];
        let now = SystemTime::now();
        let mut b = RequestBuilder::new(info(), now);
        for e in &events {
            b.push(e);
        }
        let want = b.build();
        let bytes = encode_protobuf(&info(), &events, now);
        assert_eq!(
            ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap(),
            want
        );
        assert_eq!(bytes.len(), want.encoded_len());
    }

    #[test]
    fn partial_success_answers_are_read_in_both_encodings() {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess;
        let r = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 3,
                error_message: "too old".into(),
            }),
        };
        let want = Some(PartialSuccess {
            rejected_spans: 3,
            error_message: "too old".into(),
        });
        assert_eq!(
            decode_response(&r.encode_to_vec(), Some("application/x-protobuf")),
            want
        );
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(decode_response(&json, Some("application/json")), want);
        assert_eq!(decode_response(b"", None), None);
        assert_eq!(decode_response(b"{}", Some("application/json")), None);
    }
}
