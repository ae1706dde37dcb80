//! ClickHouse's `RowBinary` format for the `spans` table: how rows are written for an
//! `INSERT … FORMAT RowBinary` and read back from a `SELECT … FORMAT RowBinary`.
//!
//! Data travels as a binary body, never as SQL text, so nothing a client sent can change a
//! statement, and ids go as their raw bytes. The encoding is the same in ClickHouse 18.16 and
//! current releases: integers and floats little-endian, `String` as a LEB128 length and the
//! bytes, `FixedString(N)` as N bytes, `Nullable(T)` as one byte (1 = NULL) before `T`.

use std::io::{self, Read};

use super::super::{StoredSpan, fields_from_json, fields_to_json};

/// A span's identity: `(trace_id, span_id)`.
pub(super) type Identity = ([u8; 16], [u8; 8]);

/// Why a row could not be read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum DecodeError {
    /// The answer ended inside a row.
    #[error("ClickHouse's answer ended in the middle of a row")]
    Truncated,
    /// Reading the answer failed.
    #[error("reading ClickHouse's answer failed: {0}")]
    Io(io::Error),
    /// A value is not what the schema says (a string that is not UTF-8, a bad event id, …).
    #[error("a stored row is malformed: {0}")]
    Malformed(String),
}

impl From<io::Error> for DecodeError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            DecodeError::Truncated
        } else {
            DecodeError::Io(e)
        }
    }
}

/// Appends `span` as one row of the `spans` table, columns in [`super::schema::SPAN_COLUMNS`]
/// order.
pub(super) fn write_span(out: &mut Vec<u8>, span: &StoredSpan) {
    out.extend_from_slice(&span.trace_id);
    out.extend_from_slice(&span.span_id);
    write_str(out, &span.command);
    out.extend_from_slice(&span.start_unix_nano.to_le_bytes());
    out.extend_from_slice(&span.end_unix_nano.to_le_bytes());
    out.push(u8::from(span.success));
    write_opt(out, span.error.as_deref());
    out.extend_from_slice(&span.duration_ms.to_le_bytes());
    write_str(out, &span.session_id);
    let event_id = span.event_id.map(|u| u.hyphenated().to_string());
    write_opt(out, event_id.as_deref());
    write_opt(out, span.telemetry_version.as_deref());
    write_opt(out, span.cli_version.as_deref());
    write_opt(out, span.opt_in_source.as_deref());
    write_str(out, &span.service_name);
    write_str(out, &span.deployment_environment);
    write_str(out, &fields_to_json(&span.fields));
}

/// Appends one row of the `counters` table: `(name, value)`.
pub(super) fn write_counter(out: &mut Vec<u8>, name: &str, value: u64) {
    write_str(out, name);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads the next `spans` row, or `None` at the end of the answer.
pub(super) fn read_span(r: &mut impl Read) -> Result<Option<StoredSpan>, DecodeError> {
    let mut trace_id = [0u8; 16];
    if !read_first(r, &mut trace_id)? {
        return Ok(None);
    }
    let mut span_id = [0u8; 8];
    r.read_exact(&mut span_id)?;
    let command = read_str(r)?;
    let start_unix_nano = read_u64(r)?;
    let end_unix_nano = read_u64(r)?;
    let success = read_u8(r)? != 0;
    let error = read_opt(r)?;
    let duration_ms = f64::from_le_bytes(read_array(r)?);
    let session_id = read_str(r)?;
    let event_id = read_opt(r)?
        .map(|s| {
            uuid::Uuid::parse_str(&s)
                .map_err(|_| DecodeError::Malformed("an event_id is not a UUID".into()))
        })
        .transpose()?;
    let telemetry_version = read_opt(r)?;
    let cli_version = read_opt(r)?;
    let opt_in_source = read_opt(r)?;
    let service_name = read_str(r)?;
    let deployment_environment = read_str(r)?;
    let fields =
        fields_from_json(&read_str(r)?).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    Ok(Some(StoredSpan {
        trace_id,
        span_id,
        command,
        start_unix_nano,
        end_unix_nano,
        success,
        error,
        duration_ms,
        session_id,
        event_id,
        telemetry_version,
        cli_version,
        opt_in_source,
        service_name,
        deployment_environment,
        fields,
    }))
}

/// Reads a `UInt8` column holding 0 or 1 (what `IN` answers).
pub(super) fn read_flag(r: &mut impl Read) -> Result<bool, DecodeError> {
    Ok(read_u8(r)? != 0)
}

/// Reads the next `(trace_id, span_id)` row, or `None` at the end of the answer.
pub(super) fn read_identity(r: &mut impl Read) -> Result<Option<Identity>, DecodeError> {
    let mut trace_id = [0u8; 16];
    if !read_first(r, &mut trace_id)? {
        return Ok(None);
    }
    Ok(Some((trace_id, read_array(r)?)))
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len() as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(s.as_bytes());
}

fn write_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(1),
        Some(s) => {
            out.push(0);
            write_str(out, s);
        }
    }
}

/// Fills `buf`; `false` when the answer ended cleanly before its first byte.
fn read_first(r: &mut impl Read, buf: &mut [u8]) -> Result<bool, DecodeError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(DecodeError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

fn read_array<const N: usize>(r: &mut impl Read) -> Result<[u8; N], DecodeError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn read_u8(r: &mut impl Read) -> Result<u8, DecodeError> {
    Ok(read_array::<1>(r)?[0])
}

fn read_u64(r: &mut impl Read) -> Result<u64, DecodeError> {
    Ok(u64::from_le_bytes(read_array(r)?))
}

/// The longest string the store accepts back: far above anything the sanitizer lets through,
/// small enough that a corrupt length cannot make the reader allocate without bound.
const MAX_STRING: u64 = 16 << 20;

fn read_str(r: &mut impl Read) -> Result<String, DecodeError> {
    let mut len = 0u64;
    let mut shift = 0;
    loop {
        let byte = read_u8(r)?;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err(DecodeError::Malformed("a string length is too long".into()));
        }
    }
    if len > MAX_STRING {
        return Err(DecodeError::Malformed(format!(
            "a stored string is {len} bytes long"
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    r.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len {
        return Err(DecodeError::Truncated);
    }
    String::from_utf8(bytes)
        .map_err(|_| DecodeError::Malformed("a stored string is not UTF-8".into()))
}

fn read_opt(r: &mut impl Read) -> Result<Option<String>, DecodeError> {
    match read_u8(r)? {
        0 => read_str(r).map(Some),
        1 => Ok(None),
        other => Err(DecodeError::Malformed(format!(
            "a Nullable flag is {other}, not 0 or 1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use specfact_telemetry::FieldValue;

    fn span(n: u8) -> StoredSpan {
        StoredSpan {
            trace_id: [n; 16],
            span_id: [n ^ 0xff; 8],
            command: "repro.run".into(),
            start_unix_nano: 1_800_000_000_000_000_000 + u64::from(n),
            end_unix_nano: 1_800_000_000_000_000_500 + u64::from(n),
            success: n.is_multiple_of(2),
            error: (!n.is_multiple_of(2)).then(|| "TimeoutError".to_owned()),
            duration_ms: 12.25,
            session_id: "0123456789abcdef0123456789abcdef".into(),
            event_id: Some(uuid::Uuid::from_u128(u128::from(n) << 64 | 7)),
            telemetry_version: Some("1.0".into()),
            cli_version: None,
            opt_in_source: Some("env".into()),
            service_name: "specfact-cli".into(),
            deployment_environment: String::new(),
            fields: vec![
                ("files_analyzed".into(), FieldValue::Int(140)),
                ("mode".into(), FieldValue::Str("repro".into())),
            ],
        }
    }

    #[test]
    fn strings_use_leb128_lengths() {
        let mut out = Vec::new();
        write_str(&mut out, &"x".repeat(300));
        assert_eq!(&out[..2], &[0xac, 0x02]); // 300 = 0b10_0101100
        assert_eq!(out.len(), 302);
        let mut out = Vec::new();
        write_opt(&mut out, None);
        write_opt(&mut out, Some("ab"));
        assert_eq!(out, [1, 0, 2, b'a', b'b']);
    }

    #[test]
    fn a_counter_row_is_name_then_little_endian_value() {
        let mut out = Vec::new();
        write_counter(&mut out, "duplicates", 258);
        assert_eq!(&out[..11], b"\x0aduplicates");
        assert_eq!(&out[11..], &[2, 1, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn rows_read_back_as_written_and_the_end_is_clean() {
        let spans: Vec<_> = (1..=3).map(span).collect();
        let mut body = Vec::new();
        for s in &spans {
            write_span(&mut body, s);
        }
        let mut r = &body[..];
        let mut back = Vec::new();
        while let Some(s) = read_span(&mut r).unwrap() {
            back.push(s);
        }
        assert_eq!(back, spans);
    }

    #[test]
    fn a_cut_row_is_an_error_not_the_end() {
        let mut body = Vec::new();
        write_span(&mut body, &span(1));
        for cut in [1, 16, 30, body.len() - 1] {
            let mut r = &body[..cut];
            assert!(
                matches!(read_span(&mut r), Err(DecodeError::Truncated)),
                "cut at {cut}"
            );
        }
        let mut r = &body[..20];
        assert!(matches!(read_identity(&mut r), Err(DecodeError::Truncated)));
    }

    #[test]
    fn malformed_values_are_refused() {
        let mut body = Vec::new();
        body.extend_from_slice(&[1; 24]);
        body.push(2); // a command of two bytes that are not UTF-8
        body.extend_from_slice(&[0xff, 0xfe]);
        let mut r = &body[..];
        assert!(matches!(read_span(&mut r), Err(DecodeError::Malformed(_))));
        let mut huge = vec![1; 24];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x7f]);
        let mut r = &huge[..];
        assert!(matches!(read_span(&mut r), Err(DecodeError::Malformed(_))));
    }

    proptest! {
        #[test]
        fn any_span_round_trips(
            ids in any::<([u8; 16], [u8; 8])>(),
            command in "[a-z][a-z0-9_.-]{0,63}",
            start in any::<u64>(),
            success in any::<bool>(),
            error in proptest::option::of("[A-Za-z:]{1,40}"),
            duration in 0.0f64..1e9,
            text in proptest::option::of("\\PC{0,200}"),
            count in any::<i64>(),
        ) {
            let mut s = span(0);
            s.trace_id = ids.0;
            s.span_id = ids.1;
            s.command = command;
            s.start_unix_nano = start;
            s.end_unix_nano = start;
            s.success = success;
            s.error = error;
            s.duration_ms = duration;
            s.cli_version = text.clone();
            s.service_name = text.unwrap_or_default();
            s.fields = vec![("checks_total".into(), FieldValue::Int(count))];
            let mut body = Vec::new();
            write_span(&mut body, &s);
            write_span(&mut body, &s);
            let mut r = &body[..];
            prop_assert_eq!(read_span(&mut r).unwrap(), Some(s.clone()));
            prop_assert_eq!(read_span(&mut r).unwrap(), Some(s));
            prop_assert!(read_span(&mut r).unwrap().is_none());
        }
    }
}
