//! OTLP trace export requests, decoded only as far as the server needs them.
//!
//! Both encodings — protobuf ([`protobuf`]) and OTLP/JSON ([`json`]) — hand each span to a
//! sink as a [`RawSpan`] together with its resource's [`RawResource`], one at a time, so a
//! request's memory is its body plus one span. Only what the server may keep is extracted:
//! ids, name, times, status code, `specfact.*` attributes (at most [`MAX_ATTRIBUTES`] per span)
//! and four resource attributes. Everything else (events, links, other attributes, the
//! instrumentation scope, `service.instance.id`) is skipped without being copied.

pub mod json;
pub mod protobuf;

use std::borrow::Cow;

/// Most `specfact.*` attributes kept from one span; the schema has far fewer, so a span with
/// more is hostile and the rest are ignored (they would be dropped as unknown anyway).
pub const MAX_ATTRIBUTES: usize = 64;

/// The attribute prefix of span names and attribute keys.
pub const PREFIX: &str = "specfact.";

/// One attribute value as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue<'a> {
    /// `stringValue`.
    Str(Cow<'a, str>),
    /// `boolValue`.
    Bool(bool),
    /// `intValue`.
    Int(i64),
    /// `doubleValue`.
    Double(f64),
    /// An array, a key-value list, bytes, a string that is not UTF-8, or no value: never kept.
    Other,
}

/// The resource attributes the server may keep, as sent (checked later).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawResource<'a> {
    /// `service.name`.
    pub service_name: Option<Cow<'a, str>>,
    /// `service.version`.
    pub service_version: Option<Cow<'a, str>>,
    /// `deployment.environment`.
    pub deployment_environment: Option<Cow<'a, str>>,
    /// `telemetry.opt_in_source`.
    pub opt_in_source: Option<Cow<'a, str>>,
}

impl<'a> RawResource<'a> {
    /// Records `key = value` if it is one of the kept resource attributes.
    pub fn offer(&mut self, key: &str, value: RawValue<'a>) {
        let RawValue::Str(s) = value else { return };
        let slot = match key {
            "service.name" => &mut self.service_name,
            "service.version" => &mut self.service_version,
            "deployment.environment" => &mut self.deployment_environment,
            "telemetry.opt_in_source" => &mut self.opt_in_source,
            _ => return,
        };
        *slot = Some(s);
    }
}

/// One span as sent, reduced to what the server may keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawSpan<'a> {
    /// The trace id bytes as sent (valid only when 16 bytes, not all zero).
    pub trace_id: Cow<'a, [u8]>,
    /// The span id bytes as sent (valid only when 8 bytes, not all zero).
    pub span_id: Cow<'a, [u8]>,
    /// The span name; `None` when it was not UTF-8.
    pub name: Option<Cow<'a, str>>,
    /// Start, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// End, Unix nanoseconds.
    pub end_unix_nano: u64,
    /// The status code (0 unset, 1 ok, 2 error).
    pub status_code: i32,
    /// `specfact.*` attributes with the prefix removed, in order, at most [`MAX_ATTRIBUTES`].
    pub attributes: Vec<(Cow<'a, str>, RawValue<'a>)>,
}

impl<'a> RawSpan<'a> {
    /// Records an attribute if its key has the `specfact.` prefix and there is room.
    pub fn offer(&mut self, key: Cow<'a, str>, value: RawValue<'a>) {
        if self.attributes.len() >= MAX_ATTRIBUTES || !key.starts_with(PREFIX) {
            return;
        }
        if self.attributes.capacity() == 0 {
            // SpecFact spans carry about a dozen attributes: one allocation, not four.
            self.attributes.reserve(16);
        }
        let key = match key {
            Cow::Borrowed(k) => Cow::Borrowed(&k[PREFIX.len()..]),
            Cow::Owned(k) => Cow::Owned(k[PREFIX.len()..].to_owned()),
        };
        self.attributes.push((key, value));
    }
}

#[cfg(test)]
impl RawValue<'_> {
    /// The same value, owning its text (for tests that keep spans past the body).
    pub(crate) fn into_owned(self) -> RawValue<'static> {
        match self {
            RawValue::Str(s) => RawValue::Str(Cow::Owned(s.into_owned())),
            RawValue::Bool(b) => RawValue::Bool(b),
            RawValue::Int(i) => RawValue::Int(i),
            RawValue::Double(d) => RawValue::Double(d),
            RawValue::Other => RawValue::Other,
        }
    }
}

#[cfg(test)]
impl RawSpan<'_> {
    /// The same span, owning its bytes and text (for tests that keep spans past the body).
    pub(crate) fn into_owned(self) -> RawSpan<'static> {
        RawSpan {
            trace_id: Cow::Owned(self.trace_id.into_owned()),
            span_id: Cow::Owned(self.span_id.into_owned()),
            name: self.name.map(|n| Cow::Owned(n.into_owned())),
            start_unix_nano: self.start_unix_nano,
            end_unix_nano: self.end_unix_nano,
            status_code: self.status_code,
            attributes: self
                .attributes
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect(),
        }
    }
}

/// Why a request body could not be decoded (400). Never contains the body's contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a valid protobuf `ExportTraceServiceRequest`.
    #[error("the body is not a valid OTLP protobuf ExportTraceServiceRequest: {0}")]
    Protobuf(&'static str),
    /// Not a valid OTLP/JSON `ExportTraceServiceRequest`.
    #[error("the body is not a valid OTLP/JSON ExportTraceServiceRequest: {0}")]
    Json(String),
}

/// A request body's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

/// Where decoded spans go. Returning `Err` stops decoding and is passed back.
pub trait SpanSink<'a> {
    /// The sink's error.
    type Error;
    /// Takes one span of the resource `resource`.
    fn span(&mut self, resource: &RawResource<'a>, span: RawSpan<'a>) -> Result<(), Self::Error>;
}

/// A sink that drops everything: decoding into it only validates the body.
#[derive(Debug, Default)]
pub struct Validate {
    /// Spans seen.
    pub spans: u64,
}

impl<'a> SpanSink<'a> for Validate {
    type Error = std::convert::Infallible;
    fn span(&mut self, _: &RawResource<'a>, _: RawSpan<'a>) -> Result<(), Self::Error> {
        self.spans += 1;
        Ok(())
    }
}

/// Whether decoding failed on the body or in the sink.
#[derive(Debug)]
pub enum Failure<E> {
    /// The body is malformed.
    Decode(DecodeError),
    /// The sink refused.
    Sink(E),
}

/// Decodes `body` in `format`, handing every span to `sink`.
pub fn decode<'a, S: SpanSink<'a>>(
    body: &'a [u8],
    format: Format,
    sink: &mut S,
) -> Result<(), Failure<S::Error>> {
    match format {
        Format::Protobuf => protobuf::decode(body, sink),
        Format::Json => json::decode(body, sink),
    }
}
