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

fn field_value(v: &FieldValue) -> any_value::Value {
    match v {
        FieldValue::Bool(b) => any_value::Value::BoolValue(*b),
        FieldValue::Int(i) => any_value::Value::IntValue(*i),
        FieldValue::Float(f) => any_value::Value::DoubleValue(*f),
        FieldValue::Str(s) => string(s),
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The span of one event. `now` is used as the end time of events without a timestamp.
pub fn event_span(event: &Event, now: SystemTime) -> Span {
    let ids = SpanIds::of(event);
    let duration =
        Duration::try_from_secs_f64(event.duration_ms.max(0.0) / 1000.0).unwrap_or_default();
    let (start, end) = match event.timestamp {
        Some(start) => (start, start.checked_add(duration).unwrap_or(start)),
        None => (now.checked_sub(duration).unwrap_or(now), now),
    };
    let mut attributes = Vec::with_capacity(event.fields.len() + 9);
    for (k, v) in &event.fields {
        attributes.push(attr(k, field_value(v)));
    }
    attributes.push(attr("session_id", string(&event.session_id)));
    attributes.push(attr("success", any_value::Value::BoolValue(event.success)));
    if let Some(e) = &event.error {
        attributes.push(attr("error", string(e)));
    }
    attributes.push(attr(
        "duration_ms",
        any_value::Value::DoubleValue(event.duration_ms),
    ));
    attributes.push(attr("command", string(&event.command)));
    for (key, value) in [
        ("telemetry_version", &event.telemetry_version),
        ("cli_version", &event.cli_version),
        ("opt_in_source", &event.opt_in_source),
    ] {
        if let Some(v) = value {
            attributes.push(attr(key, string(v)));
        }
    }
    if let Some(id) = event.event_id {
        attributes.push(attr("event_id", string(&id.hyphenated().to_string())));
    }
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
        start_time_unix_nano: unix_nanos(start),
        end_time_unix_nano: unix_nanos(end),
        attributes,
        status: Some(status),
        ..Default::default()
    }
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
        let mut attributes = vec![
            kv("service.name", string(&self.info.service_name)),
            kv("service.namespace", string(&self.info.service_namespace)),
        ];
        if let Some(v) = &event.cli_version {
            attributes.push(kv("service.version", string(v)));
        }
        attributes.push(kv(
            "deployment.environment",
            string(&self.info.deployment_environment),
        ));
        if let Some(s) = &event.opt_in_source {
            attributes.push(kv("telemetry.opt_in_source", string(s)));
        }
        attributes.push(kv("telemetry.sdk.name", string("specfact-telemetry")));
        attributes.push(kv("telemetry.sdk.language", string("rust")));
        attributes.push(kv(
            "telemetry.sdk.version",
            string(env!("CARGO_PKG_VERSION")),
        ));
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
    (p.rejected_spans != 0 || !p.error_message.is_empty()).then(|| PartialSuccess {
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
            duration_ms: 1500.0,
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
