//! A direct OTLP/JSON writer for the trace request, and a reader for the collector's
//! answer.
//!
//! OTLP/JSON is the protobuf JSON mapping with OTLP's exceptions: trace and span ids
//! are hex strings, enums are integers, 64-bit integers are strings, field names are
//! lowerCamelCase, and fields holding their default value may be left out.

use std::time::SystemTime;

use super::{
    Attr, Event, Group, PREFIX, ResourceInfo, SCOPE_NAME, SPAN_FLAGS, SpanIds, for_each_attribute,
    for_each_resource_attribute, span_times, with_event_id,
};

/// Writes the contents of a JSON string: quotes, backslashes and control characters escaped.
fn escaped(out: &mut Vec<u8>, s: &str) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        plain = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(DIGITS[usize::from(b >> 4)]);
            out.push(DIGITS[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// Writes `s` as a JSON string (quoted and escaped).
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// A 64-bit integer, as OTLP/JSON writes it: a string.
fn int64(out: &mut Vec<u8>, n: impl std::fmt::Display) {
    out.push(b'"');
    number(out, n);
    out.push(b'"');
}

/// Writes one `KeyValue`, preceded by a comma unless it is the first.
fn key_value(out: &mut Vec<u8>, first: &mut bool, prefix: &str, key: &str, v: Attr<'_>) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"key\":\"");
    escaped(out, prefix);
    escaped(out, key);
    out.extend_from_slice(b"\",\"value\":{");
    match v {
        Attr::Str(s) => {
            out.extend_from_slice(b"\"stringValue\":");
            string(out, s);
        }
        Attr::Bool(b) => {
            out.extend_from_slice(b"\"boolValue\":");
            out.extend_from_slice(if b { b"true" } else { b"false" });
        }
        Attr::Int(i) => {
            out.extend_from_slice(b"\"intValue\":");
            int64(out, i);
        }
        Attr::Double(d) => {
            out.extend_from_slice(b"\"doubleValue\":");
            // Finite values (the sanitizer lets no other through) as JSON numbers.
            let _ = serde_json::to_writer(&mut *out, &d);
        }
    }
    out.extend_from_slice(b"}}");
}

fn span(out: &mut Vec<u8>, e: &Event, now: SystemTime) {
    let ids = SpanIds::of(e);
    let (start, end) = span_times(e, now);
    out.extend_from_slice(b"{\"traceId\":");
    hex(out, &ids.trace_id);
    out.extend_from_slice(b",\"spanId\":");
    hex(out, &ids.span_id);
    out.extend_from_slice(b",\"flags\":");
    number(out, SPAN_FLAGS);
    out.extend_from_slice(b",\"name\":\"");
    escaped(out, PREFIX);
    escaped(out, &e.command);
    out.extend_from_slice(b"\",\"kind\":1,\"startTimeUnixNano\":");
    int64(out, start);
    out.extend_from_slice(b",\"endTimeUnixNano\":");
    int64(out, end);
    out.extend_from_slice(b",\"attributes\":[");
    let mut first = true;
    with_event_id(e, |id| {
        for_each_attribute(e, id, |k, v| key_value(out, &mut first, PREFIX, k, v));
    });
    out.extend_from_slice(b"],\"status\":{");
    if !e.success {
        if let Some(m) = e.error.as_deref().filter(|m| !m.is_empty()) {
            out.extend_from_slice(b"\"message\":");
            string(out, m);
            out.push(b',');
        }
        out.extend_from_slice(b"\"code\":2");
    }
    out.extend_from_slice(b"}}");
}

/// Writes the request for events grouped by resource.
pub(super) fn encode_request(
    info: &ResourceInfo,
    groups: Vec<Group<'_, ()>>,
    now: SystemTime,
) -> Vec<u8> {
    let spans: usize = groups.iter().map(|g| g.2.len()).sum();
    let mut out = Vec::with_capacity(spans * 900 + groups.len() * 600 + 32);
    out.extend_from_slice(b"{\"resourceSpans\":[");
    for (i, (v, o, events)) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"resource\":{\"attributes\":[");
        let mut first = true;
        for_each_resource_attribute(info, *v, *o, |k, val| {
            key_value(&mut out, &mut first, "", k, Attr::Str(val));
        });
        out.extend_from_slice(b"]},\"scopeSpans\":[{\"scope\":{\"name\":");
        string(&mut out, SCOPE_NAME);
        out.extend_from_slice(b"},\"spans\":[");
        for (j, (e, ())) in events.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            span(&mut out, e, now);
        }
        out.extend_from_slice(b"]}]}");
    }
    out.extend_from_slice(b"]}");
    out
}

/// `partialSuccess` of an `ExportTraceServiceResponse` in JSON: `rejectedSpans` (a
/// string or a number) and `errorMessage`; the proto field names are accepted too.
pub(super) fn partial_success(body: &[u8]) -> Option<(i64, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let get = |o: &serde_json::Value, camel: &str, snake: &str| {
        o.get(camel).or_else(|| o.get(snake)).cloned()
    };
    let p = get(&v, "partialSuccess", "partial_success")?;
    let rejected = match get(&p, "rejectedSpans", "rejected_spans") {
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let message = match get(&p, "errorMessage", "error_message") {
        Some(serde_json::Value::String(s)) => s,
        _ => String::new(),
    };
    Some((rejected, message))
}
