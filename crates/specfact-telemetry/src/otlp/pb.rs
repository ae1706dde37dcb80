//! A minimal protobuf writer for the OTLP trace request, and a reader for the
//! collector's answer.

use std::time::SystemTime;

use super::{
    Attr, Event, Group, PREFIX, ResourceInfo, SCOPE_NAME, SPAN_FLAGS, SpanIds, for_each_attribute,
    for_each_resource_attribute, span_times, with_event_id,
};

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

/// Writes the request for events grouped by resource, each with its span's size.
pub(super) fn encode_request(
    info: &ResourceInfo,
    groups: Vec<Group<'_, usize>>,
    now: SystemTime,
) -> Vec<u8> {
    let total_hint: usize = groups
        .iter()
        .flat_map(|g| g.2.iter().map(|(_, l)| l + 4))
        .sum();
    let mut out = Vec::with_capacity(total_hint + groups.len() * 256);
    for (v, o, spans) in &groups {
        let resource_len = resource_len(info, *v, *o);
        let scope_len = field_len(1, SCOPE_NAME.len());
        let spans_len: usize = spans.iter().map(|(_, l)| field_len(2, *l)).sum();
        let scope_spans_len = field_len(1, scope_len) + spans_len;
        let rs_len = field_len(1, resource_len) + field_len(2, scope_spans_len);
        put_len_key(&mut out, 1, rs_len);
        put_len_key(&mut out, 1, resource_len);
        for_each_resource_attribute(info, *v, *o, |k, val| {
            put_kv(&mut out, 1, "", k, Attr::Str(val));
        });
        put_len_key(&mut out, 2, scope_spans_len);
        put_len_key(&mut out, 1, scope_len);
        put_bytes(&mut out, 1, SCOPE_NAME.as_bytes());
        for (e, len) in spans {
            put_len_key(&mut out, 2, *len);
            put_span(&mut out, e, now);
        }
    }
    out
}

/// One field read from a message: its number and, for the wire types we read, its value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

fn read_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The next field of a message, or `None` at its end or on malformed input.
fn next_field<'a>(buf: &mut &'a [u8]) -> Option<(u64, Field<'a>)> {
    if buf.is_empty() {
        return None;
    }
    let key = read_varint(buf)?;
    let field = match key & 7 {
        VARINT => Field::Varint(read_varint(buf)?),
        I64 => {
            *buf = buf.get(8..)?;
            Field::Other
        }
        LEN => {
            let n = usize::try_from(read_varint(buf)?).ok()?;
            let (b, rest) = (buf.get(..n)?, buf.get(n..)?);
            *buf = rest;
            Field::Bytes(b)
        }
        I32 => {
            *buf = buf.get(4..)?;
            Field::Other
        }
        _ => return None,
    };
    Some((key >> 3, field))
}

/// `ExportTraceServiceResponse.partial_success` (field 1): `rejected_spans` (1, int64)
/// and `error_message` (2, string). `None` when absent or malformed.
pub(super) fn partial_success(body: &[u8]) -> Option<(i64, String)> {
    let mut buf = body;
    let mut partial = None;
    while let Some((n, f)) = next_field(&mut buf) {
        if let (1, Field::Bytes(b)) = (n, f) {
            partial = Some(b);
        }
    }
    if !buf.is_empty() {
        return None;
    }
    let mut msg = partial?;
    let (mut rejected, mut message) = (0i64, String::new());
    while let Some((n, f)) = next_field(&mut msg) {
        match (n, f) {
            (1, Field::Varint(v)) => rejected = v as i64,
            (2, Field::Bytes(b)) => message = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    msg.is_empty().then_some((rejected, message))
}
