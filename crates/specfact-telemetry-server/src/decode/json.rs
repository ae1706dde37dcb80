//! An OTLP/JSON `ExportTraceServiceRequest`, streamed: spans go to the sink as they are read,
//! attributes other than `specfact.*` are read and forgotten one at a time.
//!
//! The OTLP/JSON rules: lowerCamelCase keys (snake_case accepted too), trace and span ids as
//! hex strings, 64-bit integers as decimal strings or numbers, enums as integers (names are
//! accepted for the status code), unknown keys ignored.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue as RawJson;

use super::{DecodeError, Failure, RawResource, RawSpan, RawValue, SpanSink};

/// Decodes a request, handing every span to `sink`.
pub fn decode<'a, S: SpanSink<'a>>(body: &'a [u8], sink: &mut S) -> Result<(), Failure<S::Error>> {
    let mut state = State { sink, failed: None };
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = RequestSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = state.failed.take() {
        return Err(Failure::Sink(e));
    }
    result.map_err(|e| Failure::Decode(DecodeError::Json(describe(&e))))
}

/// A serde error's category and position, never the offending text.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "malformed JSON",
        Category::Data => "unexpected structure or type",
        Category::Eof => "truncated",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

struct State<'r, S, E> {
    sink: &'r mut S,
    failed: Option<E>,
}

const SINK_STOPPED: &str = "stopped by the store";

struct RequestSeed<'q, 'r, S, E>(&'q mut State<'r, S, E>);

impl<'de, 'q, 'r, S: SpanSink<'de, Error = E>, E> DeserializeSeed<'de>
    for RequestSeed<'q, 'r, S, E>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'q, 'r, S: SpanSink<'de, Error = E>, E> Visitor<'de> for RequestSeed<'q, 'r, S, E> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ExportTraceServiceRequest object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "resourceSpans" || key == "resource_spans" {
                map.next_value_seed(ResourceSpansList(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ResourceSpansList<'q, 'r, S, E>(&'q mut State<'r, S, E>);

impl<'de, 'q, 'r, S: SpanSink<'de, Error = E>, E> DeserializeSeed<'de>
    for ResourceSpansList<'q, 'r, S, E>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'q, 'r, S: SpanSink<'de, Error = E>, E> Visitor<'de> for ResourceSpansList<'q, 'r, S, E> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of ResourceSpans")
    }
    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(rs) = seq.next_element::<ResourceSpansJson<'de>>()? {
            let resource = rs.resource.map(|r| r.attributes.0).unwrap_or_default();
            if let Some(raw) = rs.scope_spans {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                ScopeSpansList {
                    state: &mut *self.0,
                    resource: &resource,
                }
                .deserialize(&mut de)
                .map_err(|e| {
                    if self.0.failed.is_some() {
                        de::Error::custom(SINK_STOPPED)
                    } else {
                        de::Error::custom(describe(&e))
                    }
                })?;
            }
        }
        Ok(())
    }
}

/// The `scopeSpans` list of one resource, streamed.
struct ScopeSpansList<'q, 'r, 'x, 'de, S, E> {
    state: &'q mut State<'r, S, E>,
    resource: &'x RawResource<'de>,
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> DeserializeSeed<'de>
    for ScopeSpansList<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> Visitor<'de>
    for ScopeSpansList<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of ScopeSpans")
    }
    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ScopeSpansSeed {
                state: &mut *self.state,
                resource: self.resource,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One `ResourceSpans`: the resource first (it may come after its spans), the scope spans kept
/// as one borrowed raw JSON text until then (not a list: nothing grows with their number).
#[derive(Deserialize)]
struct ResourceSpansJson<'a> {
    #[serde(default, borrow)]
    resource: Option<ResourceJson<'a>>,
    #[serde(default, borrow, alias = "scope_spans", rename = "scopeSpans")]
    scope_spans: Option<&'a RawJson>,
}

#[derive(Deserialize)]
struct ResourceJson<'a> {
    #[serde(default, borrow)]
    attributes: ResourceAttributes<'a>,
}

/// The kept resource attributes; the others are read and dropped one at a time.
#[derive(Default)]
struct ResourceAttributes<'a>(RawResource<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for ResourceAttributes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = ResourceAttributes<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of attributes")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResourceAttributes::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = RawResource::default();
                while let Some(kv) = seq.next_element::<KeyValueJson<'a>>()? {
                    out.offer(
                        &kv.key,
                        kv.value
                            .map(AnyValueJson::into_raw)
                            .unwrap_or(RawValue::Other),
                    );
                }
                Ok(ResourceAttributes(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

struct ScopeSpansSeed<'q, 'r, 'x, 'de, S, E> {
    state: &'q mut State<'r, S, E>,
    resource: &'x RawResource<'de>,
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> DeserializeSeed<'de>
    for ScopeSpansSeed<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> Visitor<'de>
    for ScopeSpansSeed<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a ScopeSpans object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "spans" {
                map.next_value_seed(SpanList {
                    state: &mut *self.state,
                    resource: self.resource,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct SpanList<'q, 'r, 'x, 'de, S, E> {
    state: &'q mut State<'r, S, E>,
    resource: &'x RawResource<'de>,
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> DeserializeSeed<'de>
    for SpanList<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'q, 'r, 'x, S: SpanSink<'de, Error = E>, E> Visitor<'de>
    for SpanList<'q, 'r, 'x, 'de, S, E>
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of spans")
    }
    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(span) = seq.next_element::<SpanJson<'de>>()? {
            if let Err(e) = self.state.sink.span(self.resource, span.into_raw()) {
                self.state.failed = Some(e);
                return Err(de::Error::custom(SINK_STOPPED));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct SpanJson<'a> {
    #[serde(default, borrow, rename = "traceId", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(default, borrow, rename = "spanId", alias = "span_id")]
    span_id: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(
        default,
        rename = "startTimeUnixNano",
        alias = "start_time_unix_nano",
        deserialize_with = "uint64"
    )]
    start: u64,
    #[serde(
        default,
        rename = "endTimeUnixNano",
        alias = "end_time_unix_nano",
        deserialize_with = "uint64"
    )]
    end: u64,
    #[serde(default, borrow)]
    attributes: SpanAttributes<'a>,
    #[serde(default)]
    status: Option<StatusJson>,
}

impl<'a> SpanJson<'a> {
    fn into_raw(self) -> RawSpan<'a> {
        RawSpan {
            trace_id: Cow::Owned(hex(&self.trace_id).unwrap_or_default()),
            span_id: Cow::Owned(hex(&self.span_id).unwrap_or_default()),
            name: self.name,
            start_unix_nano: self.start,
            end_unix_nano: self.end,
            status_code: self.status.map_or(0, |s| s.code),
            attributes: self.attributes.0,
        }
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 64 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The kept span attributes: `specfact.*`, at most [`super::MAX_ATTRIBUTES`].
#[derive(Default)]
struct SpanAttributes<'a>(Vec<(Cow<'a, str>, RawValue<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for SpanAttributes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = SpanAttributes<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of attributes")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SpanAttributes::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut span = RawSpan::default();
                while let Some(kv) = seq.next_element::<KeyValueJson<'a>>()? {
                    let value = kv
                        .value
                        .map(AnyValueJson::into_raw)
                        .unwrap_or(RawValue::Other);
                    span.offer(kv.key, value);
                }
                Ok(SpanAttributes(span.attributes))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct KeyValueJson<'a> {
    #[serde(default, borrow)]
    key: Cow<'a, str>,
    #[serde(default, borrow)]
    value: Option<AnyValueJson<'a>>,
}

#[derive(Deserialize)]
struct AnyValueJson<'a> {
    #[serde(default, borrow, rename = "stringValue", alias = "string_value")]
    string: Option<Cow<'a, str>>,
    #[serde(default, rename = "boolValue", alias = "bool_value")]
    boolean: Option<bool>,
    #[serde(
        default,
        rename = "intValue",
        alias = "int_value",
        deserialize_with = "int64"
    )]
    int: Option<i64>,
    #[serde(
        default,
        rename = "doubleValue",
        alias = "double_value",
        deserialize_with = "double"
    )]
    double: Option<f64>,
}

impl<'a> AnyValueJson<'a> {
    fn into_raw(self) -> RawValue<'a> {
        match self {
            AnyValueJson {
                string: Some(s), ..
            } => RawValue::Str(s),
            AnyValueJson {
                boolean: Some(b), ..
            } => RawValue::Bool(b),
            AnyValueJson { int: Some(i), .. } => RawValue::Int(i),
            AnyValueJson {
                double: Some(d), ..
            } => RawValue::Double(d),
            _ => RawValue::Other,
        }
    }
}

#[derive(Deserialize)]
struct StatusJson {
    #[serde(default, deserialize_with = "status_code")]
    code: i32,
}

/// A number or a string holding one (OTLP/JSON writes 64-bit integers as strings).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr<'a> {
    Int(i64),
    UInt(u64),
    Float(f64),
    #[serde(borrow)]
    Str(Cow<'a, str>),
}

fn uint64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::UInt(u) => Ok(u),
        NumOrStr::Int(i) => u64::try_from(i).map_err(de::Error::custom),
        NumOrStr::Str(s) => s.parse().map_err(de::Error::custom),
        NumOrStr::Float(_) => Err(de::Error::custom("a time must be an integer")),
    }
}

fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Int(i) => Ok(Some(i)),
        NumOrStr::UInt(u) => i64::try_from(u).map(Some).map_err(de::Error::custom),
        NumOrStr::Str(s) => s.parse().map(Some).map_err(de::Error::custom),
        NumOrStr::Float(_) => Err(de::Error::custom("intValue must be an integer")),
    }
}

fn double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Int(i) => Ok(Some(i as f64)),
        NumOrStr::UInt(u) => Ok(Some(u as f64)),
        NumOrStr::Float(f) => Ok(Some(f)),
        NumOrStr::Str(s) => match &*s {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            other => other.parse().map(Some).map_err(de::Error::custom),
        },
    }
}

fn status_code<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::Int(i) => Ok(i32::try_from(i).unwrap_or(0)),
        NumOrStr::UInt(u) => Ok(i32::try_from(u).unwrap_or(0)),
        NumOrStr::Str(s) => Ok(match &*s {
            "STATUS_CODE_OK" => 1,
            "STATUS_CODE_ERROR" => 2,
            _ => 0,
        }),
        NumOrStr::Float(_) => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Validate;

    struct Names(Vec<(Option<String>, String, usize, Vec<u8>)>);
    impl<'a> SpanSink<'a> for Names {
        type Error = ();
        fn span(&mut self, r: &RawResource<'a>, s: RawSpan<'a>) -> Result<(), ()> {
            self.0.push((
                r.service_name.as_ref().map(|c| c.to_string()),
                s.name.map(|c| c.to_string()).unwrap_or_default(),
                s.attributes.len(),
                s.trace_id.to_vec(),
            ));
            Ok(())
        }
    }

    const REQUEST: &str = r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"x"},"spans":[
        {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"specfact.plan.init",
         "kind":1,"startTimeUnixNano":"1795499665928048666","endTimeUnixNano":1795499665928103938,
         "attributes":[{"key":"specfact.files_analyzed","value":{"intValue":"140"}},
                       {"key":"specfact.ratio","value":{"doubleValue":"NaN"}},
                       {"key":"other","value":{"stringValue":"x"}},
                       {"key":"specfact.list","value":{"arrayValue":{"values":[]}}}],
         "status":{"code":"STATUS_CODE_ERROR","message":"m"},"events":[{"name":"e"}]}]}],
        "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"specfact-cli"}}]}}]}"#;

    #[test]
    fn decodes_otlp_json_with_the_resource_last() {
        let mut sink = Names(Vec::new());
        decode(REQUEST.as_bytes(), &mut sink).unwrap();
        assert_eq!(sink.0.len(), 1);
        let (service, name, attrs, trace) = &sink.0[0];
        assert_eq!(service.as_deref(), Some("specfact-cli"));
        assert_eq!(name, "specfact.plan.init");
        assert_eq!(*attrs, 3);
        assert_eq!(trace, &(1..=16).collect::<Vec<u8>>());
    }

    #[test]
    fn values_follow_the_json_mapping() {
        let body = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708",
            "attributes":[{"key":"specfact.a","value":{"intValue":7}},{"key":"specfact.b","value":{"doubleValue":2}},
            {"key":"specfact.c","value":{"boolValue":true}},{"key":"specfact.d","value":{"stringValue":"x\u00e9"}}],
            "status":{"code":2}}]}]}]}"#;
        struct One(Option<RawSpan<'static>>);
        impl<'a> SpanSink<'a> for One {
            type Error = ();
            fn span(&mut self, _: &RawResource<'a>, s: RawSpan<'a>) -> Result<(), ()> {
                self.0 = Some(s.into_owned());
                Ok(())
            }
        }
        let mut sink = One(None);
        decode(body.as_bytes(), &mut sink).unwrap();
        let s = sink.0.unwrap();
        assert!(s.trace_id.is_empty(), "bad hex gives no id");
        assert_eq!(s.status_code, 2);
        let values: Vec<_> = s.attributes.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                RawValue::Int(7),
                RawValue::Double(2.0),
                RawValue::Bool(true),
                RawValue::Str(Cow::Borrowed("xé"))
            ]
        );
    }

    #[test]
    fn malformed_json_is_an_error_without_the_text() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"resourceSpans":{}}"#,
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}"#,
            r#"{"resourceSpans":[]} trailing"#,
            "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"secret-\u{1}\"}]}]}]}",
        ] {
            match decode(bad.as_bytes(), &mut Validate::default()) {
                Err(Failure::Decode(e)) => assert!(!e.to_string().contains("secret")),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let invalid_utf8 =
            b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"\xff\"}]}]}]}";
        assert!(decode(invalid_utf8, &mut Validate::default()).is_err());
        assert!(decode(br#"{"resourceSpans":null}"#, &mut Validate::default()).is_ok());
    }

    #[test]
    fn a_sink_error_stops_decoding_and_is_returned() {
        struct Stop;
        impl<'a> SpanSink<'a> for Stop {
            type Error = &'static str;
            fn span(&mut self, _: &RawResource<'a>, _: RawSpan<'a>) -> Result<(), &'static str> {
                Err("full")
            }
        }
        assert!(matches!(
            decode(REQUEST.as_bytes(), &mut Stop),
            Err(Failure::Sink("full"))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = decode(s.as_bytes(), &mut Validate::default());
        }
    }
}
