//! The reference for our writers: the same request built from the official OTLP
//! message types (`opentelemetry-proto`, a dev-dependency). The tests check that
//! what [`super::encode_protobuf`] and [`super::encode_json`] write decodes to
//! exactly what this builds.

use std::time::SystemTime;

pub(crate) use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
pub(crate) use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value,
};
pub(crate) use opentelemetry_proto::tonic::resource::v1::Resource;
pub(crate) use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
pub(crate) use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
pub(crate) use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
pub(crate) use prost::Message;

use super::{
    Attr, Event, PREFIX, Protocol, ResourceInfo, SCOPE_NAME, SPAN_FLAGS, SpanIds,
    for_each_attribute, for_each_resource_attribute, span_times,
};

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

pub(crate) fn string(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.to_owned())
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

/// The span of one event. `now` is used as the end time of events without a timestamp.
pub(crate) fn event_span(event: &Event, now: SystemTime) -> Span {
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

/// Builds one export request from events, grouping spans by resource.
#[derive(Debug, Clone)]
pub(crate) struct RequestBuilder {
    info: ResourceInfo,
    now: SystemTime,
    groups: Vec<(Option<String>, Option<String>, ResourceSpans)>,
    spans: usize,
}

impl RequestBuilder {
    /// An empty request. `now` is the end time given to events without a timestamp.
    pub(crate) fn new(info: ResourceInfo, now: SystemTime) -> Self {
        RequestBuilder {
            info,
            now,
            groups: Vec::new(),
            spans: 0,
        }
    }

    /// Adds one event's span.
    pub(crate) fn push(&mut self, event: &Event) {
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
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    /// The request.
    pub(crate) fn build(self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self.groups.into_iter().map(|(_, _, rs)| rs).collect(),
        }
    }
}

/// The request body in `protocol`'s encoding, by the official message types.
pub(crate) fn encode(
    request: &ExportTraceServiceRequest,
    protocol: Protocol,
) -> Result<Vec<u8>, serde_json::Error> {
    Ok(match protocol {
        Protocol::Protobuf => request.encode_to_vec(),
        Protocol::Json => serde_json::to_vec(request)?,
    })
}
