//! A protobuf `ExportTraceServiceRequest` walked in place: strings and ids borrow from the body,
//! nested values the server never keeps (arrays, key-value lists, events, links) are skipped
//! as opaque bytes, so neither memory nor recursion depends on what a client sends.
//!
//! Field numbers are those of `opentelemetry/proto/{collector/trace,trace,common,resource}/v1`.

use std::borrow::Cow;

use super::{DecodeError, Failure, RawResource, RawSpan, RawValue, SpanSink};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

type Result<T> = std::result::Result<T, DecodeError>;

fn bad(what: &'static str) -> DecodeError {
    DecodeError::Protobuf(what)
}

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first().ok_or(bad("truncated varint"))?;
            self.buf = rest;
            if i == 9 && b > 1 {
                return Err(bad("varint longer than 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint longer than 64 bits"))
    }

    /// The next field's number and wire type, or `None` at the end of the message.
    fn key(&mut self) -> Result<Option<(u64, u8)>> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(bad("field number 0"));
        }
        Ok(Some((field, (key & 7) as u8)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(bad("a field runs past the end of its message"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| bad("length out of range"))?;
        self.take(n)
    }

    fn fixed64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn skip(&mut self, wire: u8) -> Result<()> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            _ => Err(bad("unsupported wire type (groups are not used by OTLP)")),
        }
    }

    /// Reads a field of the expected wire type as bytes, or fails.
    fn expect_len(&mut self, wire: u8) -> Result<&'a [u8]> {
        if wire != LEN {
            return Err(bad("wrong wire type for a length-delimited field"));
        }
        self.bytes()
    }
}

fn text(bytes: &[u8]) -> Option<Cow<'_, str>> {
    std::str::from_utf8(bytes).ok().map(Cow::Borrowed)
}

/// Decodes a request, handing every span to `sink`.
pub fn decode<'a, S: SpanSink<'a>>(
    body: &'a [u8],
    sink: &mut S,
) -> std::result::Result<(), Failure<S::Error>> {
    let mut r = Reader::new(body);
    while let Some((field, wire)) = r.key().map_err(Failure::Decode)? {
        if field == 1 {
            let rs = r.expect_len(wire).map_err(Failure::Decode)?;
            resource_spans(rs, sink)?;
        } else {
            r.skip(wire).map_err(Failure::Decode)?;
        }
    }
    Ok(())
}

fn resource_spans<'a, S: SpanSink<'a>>(
    buf: &'a [u8],
    sink: &mut S,
) -> std::result::Result<(), Failure<S::Error>> {
    // The resource may come after its spans on the wire: find it first.
    let mut resource = RawResource::default();
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key().map_err(Failure::Decode)? {
        if field == 1 {
            let res = r.expect_len(wire).map_err(Failure::Decode)?;
            resource = parse_resource(res).map_err(Failure::Decode)?;
        } else {
            r.skip(wire).map_err(Failure::Decode)?;
        }
    }
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key().map_err(Failure::Decode)? {
        if field == 2 {
            let ss = r.expect_len(wire).map_err(Failure::Decode)?;
            scope_spans(ss, &resource, sink)?;
        } else {
            r.skip(wire).map_err(Failure::Decode)?;
        }
    }
    Ok(())
}

fn parse_resource(buf: &[u8]) -> Result<RawResource<'_>> {
    let mut resource = RawResource::default();
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key()? {
        if field == 1 {
            let (key, value) = key_value(r.expect_len(wire)?)?;
            if let Some(key) = key {
                resource.offer(&key, value);
            }
        } else {
            r.skip(wire)?;
        }
    }
    Ok(resource)
}

fn scope_spans<'a, S: SpanSink<'a>>(
    buf: &'a [u8],
    resource: &RawResource<'a>,
    sink: &mut S,
) -> std::result::Result<(), Failure<S::Error>> {
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key().map_err(Failure::Decode)? {
        if field == 2 {
            let s = r.expect_len(wire).map_err(Failure::Decode)?;
            let span = parse_span(s).map_err(Failure::Decode)?;
            sink.span(resource, span).map_err(Failure::Sink)?;
        } else {
            r.skip(wire).map_err(Failure::Decode)?;
        }
    }
    Ok(())
}

fn parse_span(buf: &[u8]) -> Result<RawSpan<'_>> {
    let mut span = RawSpan::default();
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, _) => span.trace_id = Cow::Borrowed(r.expect_len(wire)?),
            (2, _) => span.span_id = Cow::Borrowed(r.expect_len(wire)?),
            (5, _) => span.name = text(r.expect_len(wire)?),
            (7, FIXED64) => span.start_unix_nano = r.fixed64()?,
            (8, FIXED64) => span.end_unix_nano = r.fixed64()?,
            (7 | 8, _) => return Err(bad("span times must be fixed64")),
            (9, _) => {
                let (key, value) = key_value(r.expect_len(wire)?)?;
                if let Some(key) = key {
                    span.offer(key, value);
                }
            }
            (15, _) => span.status_code = status_code(r.expect_len(wire)?)?,
            _ => r.skip(wire)?,
        }
    }
    Ok(span)
}

fn status_code(buf: &[u8]) -> Result<i32> {
    let mut code = 0;
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key()? {
        if field == 3 && wire == VARINT {
            code = r.varint()? as i32;
        } else {
            r.skip(wire)?;
        }
    }
    Ok(code)
}

/// A `KeyValue`: the key (`None` when not UTF-8) and the value.
fn key_value(buf: &[u8]) -> Result<(Option<Cow<'_, str>>, RawValue<'_>)> {
    let mut key = Some(Cow::Borrowed(""));
    let mut value = RawValue::Other;
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => key = text(r.expect_len(wire)?),
            2 => value = any_value(r.expect_len(wire)?)?,
            _ => r.skip(wire)?,
        }
    }
    Ok((key, value))
}

fn any_value(buf: &[u8]) -> Result<RawValue<'_>> {
    let mut value = RawValue::Other;
    let mut r = Reader::new(buf);
    while let Some((field, wire)) = r.key()? {
        value = match (field, wire) {
            (1, LEN) => text(r.bytes()?).map_or(RawValue::Other, RawValue::Str),
            (2, VARINT) => RawValue::Bool(r.varint()? != 0),
            (3, VARINT) => RawValue::Int(r.varint()? as i64),
            (4, FIXED64) => RawValue::Double(f64::from_bits(r.fixed64()?)),
            (1..=4, _) => return Err(bad("wrong wire type in an AnyValue")),
            _ => {
                r.skip(wire)?;
                RawValue::Other
            }
        };
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Validate;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
    use prost::Message;

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    struct Collect(Vec<(RawResource<'static>, RawSpan<'static>)>);
    impl<'a> SpanSink<'a> for Collect {
        type Error = ();
        fn span(&mut self, r: &RawResource<'a>, s: RawSpan<'a>) -> std::result::Result<(), ()> {
            let own = |c: &Option<Cow<'a, str>>| c.as_ref().map(|c| Cow::Owned(c.to_string()));
            let res = RawResource {
                service_name: own(&r.service_name),
                service_version: own(&r.service_version),
                deployment_environment: own(&r.deployment_environment),
                opt_in_source: own(&r.opt_in_source),
            };
            let span = s.into_owned();
            self.0.push((res, span));
            Ok(())
        }
    }

    fn request() -> ExportTraceServiceRequest {
        use any_value::Value as V;
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "specfact.repro.run".into(),
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes: vec![
                kv("specfact.mode", V::StringValue("repro".into())),
                kv("specfact.files_analyzed", V::IntValue(-3)),
                kv("specfact.success", V::BoolValue(true)),
                kv("specfact.duration_ms", V::DoubleValue(1.5)),
                kv("http.url", V::StringValue("https://x".into())),
                kv("specfact.list", V::BytesValue(vec![1, 2])),
            ],
            status: Some(Status {
                code: 2,
                message: "boom".into(),
            }),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", V::StringValue("specfact-cli".into())),
                        kv("service.instance.id", V::StringValue("abc".into())),
                        kv("telemetry.opt_in_source", V::StringValue("env".into())),
                    ],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span.clone(), span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn decodes_what_prost_encodes() {
        let body = request().encode_to_vec();
        let mut sink = Collect(Vec::new());
        decode(&body, &mut sink).unwrap();
        assert_eq!(sink.0.len(), 2);
        let (res, span) = &sink.0[0];
        assert_eq!(res.service_name.as_deref(), Some("specfact-cli"));
        assert_eq!(res.opt_in_source.as_deref(), Some("env"));
        assert_eq!(res.service_version, None);
        assert_eq!(&*span.trace_id, &[1; 16]);
        assert_eq!(&*span.span_id, &[2; 8]);
        assert_eq!(span.name.as_deref(), Some("specfact.repro.run"));
        assert_eq!(
            (span.start_unix_nano, span.end_unix_nano, span.status_code),
            (10, 20, 2)
        );
        let keys: Vec<_> = span.attributes.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(
            keys,
            ["mode", "files_analyzed", "success", "duration_ms", "list"]
        );
        assert_eq!(span.attributes[1].1, RawValue::Int(-3));
        assert_eq!(span.attributes[3].1, RawValue::Double(1.5));
        assert_eq!(span.attributes[4].1, RawValue::Other);
    }

    #[test]
    fn truncated_or_garbled_bodies_are_errors() {
        let body = request().encode_to_vec();
        for cut in [1, 5, body.len() / 2, body.len() - 1] {
            let r = decode(&body[..cut], &mut Validate::default());
            assert!(matches!(r, Err(Failure::Decode(_))), "cut at {cut}");
        }
        for garbage in [
            &b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..],
            b"\x0b",
            b"\x00",
        ] {
            assert!(decode(garbage, &mut Validate::default()).is_err());
        }
        assert!(decode(b"", &mut Validate::default()).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode(&bytes, &mut Validate::default());
        }

        #[test]
        fn never_panics_on_mutated_requests(flips in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 1..8)) {
            let mut body = request().encode_to_vec();
            for (i, b) in flips {
                let n = body.len();
                body[i % n] = b;
            }
            let _ = decode(&body, &mut Validate::default());
        }
    }
}
