//! Arguments shared by `record` and `run`: the command name, `--field KEY=VALUE`, and
//! JSON objects of metrics read from a file or stdin.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use specfact_telemetry::{DropReason, MachineIdentity, Sanitizer, Schema, Telemetry, Value};

use super::output;
use crate::context::Context;

/// The most metadata read from a file, stdin or the metrics file.
pub const MAX_METADATA_BYTES: u64 = 1 << 20;

/// Parses `--duration-ms`: a non-negative number of milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(ms) if ms < 0.0 => Err("must not be negative".to_owned()),
        // About 31,700 years: anything longer is a mistake.
        Ok(ms) if (0.0..=1e15).contains(&ms) => Ok(ms),
        Ok(ms) if ms.is_finite() => Err("too large".to_owned()),
        _ => Err("expected a non-negative number of milliseconds, e.g. 4280 or 12.5".to_owned()),
    }
}

/// One `--field KEY=VALUE`. Keys and values that are not UTF-8 are kept as such so
/// they can be dropped (with a reason in debug mode) instead of failing the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldArg {
    /// The key, or its lossy form when it is not UTF-8.
    pub key: String,
    /// The value, or `None` when key or value is not UTF-8.
    pub value: Option<String>,
}

/// Splits `KEY=VALUE`; the error says what is wrong with the argument.
pub fn split_field(value: &OsStr) -> Result<FieldArg, String> {
    let bytes = value.as_encoded_bytes();
    let Some(eq) = bytes.iter().position(|&b| b == b'=') else {
        let shown = String::from_utf8_lossy(bytes);
        return Err(format!(
            "invalid --field {}: expected KEY=VALUE, e.g. --field files_analyzed=143",
            output::quoted(&shown, 40)
        ));
    };
    let (key, rest) = (&bytes[..eq], &bytes[eq + 1..]);
    if key.is_empty() {
        return Err("invalid --field: the key before '=' is empty; expected KEY=VALUE".to_owned());
    }
    let key_str = std::str::from_utf8(key).ok();
    let value = std::str::from_utf8(rest).ok();
    Ok(FieldArg {
        key: key_str.map_or_else(|| String::from_utf8_lossy(key).into_owned(), str::to_owned),
        value: key_str.and(value).map(str::to_owned),
    })
}

/// Turns `--field`s into metadata: every value is a string that the sanitizer types by
/// the field's kind. Fields that are not UTF-8 are dropped here, with a debug line.
pub fn field_metadata(fields: &[FieldArg], debug: bool) -> Vec<(String, Value)> {
    fields
        .iter()
        .filter_map(|f| match &f.value {
            Some(v) => Some((f.key.clone(), Value::Str(v.clone()))),
            None => {
                output::debug(
                    debug,
                    format_args!(
                        "dropped field {}: not valid UTF-8",
                        output::quoted(&f.key, 64)
                    ),
                );
                None
            }
        })
        .collect()
}

/// Opens `path` for reading without blocking on a FIFO a program may have put there;
/// `None` when it is not a regular file.
pub fn open_regular(path: &Path) -> io::Result<Option<File>> {
    specfact_telemetry::log::open_regular_for_reading(path)
}

/// Why a JSON object of metadata could not be used.
#[derive(Debug)]
pub enum MetadataError {
    /// Reading failed.
    Read(std::io::Error),
    /// More than [`MAX_METADATA_BYTES`].
    TooLarge,
    /// Not JSON.
    NotJson(serde_json::Error),
    /// JSON, but not an object.
    NotAnObject(&'static str),
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetadataError::Read(e) => write!(f, "cannot read it: {e}"),
            MetadataError::TooLarge => write!(f, "larger than {} bytes", MAX_METADATA_BYTES),
            MetadataError::NotJson(e) => write!(
                f,
                "not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
            MetadataError::NotAnObject(found) => {
                write!(
                    f,
                    "expected a JSON object like {{\"checks_total\": 6}}, found {found}"
                )
            }
        }
    }
}

/// Reads a JSON object of metadata, at most [`MAX_METADATA_BYTES`], from `reader`.
/// Values keep their JSON type (the sanitizer decides); nested values count as lists
/// or objects and are dropped or reduced by the sanitizer.
pub fn read_metadata(reader: impl Read) -> Result<Vec<(String, Value)>, MetadataError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(MetadataError::Read)?;
    if buf.len() as u64 > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge);
    }
    let json: serde_json::Value = serde_json::from_slice(&buf).map_err(MetadataError::NotJson)?;
    match json {
        serde_json::Value::Object(map) => {
            Ok(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
        }
        serde_json::Value::Array(_) => Err(MetadataError::NotAnObject("an array")),
        serde_json::Value::String(_) => Err(MetadataError::NotAnObject("a string")),
        serde_json::Value::Number(_) => Err(MetadataError::NotAnObject("a number")),
        serde_json::Value::Bool(_) => Err(MetadataError::NotAnObject("a boolean")),
        serde_json::Value::Null => Err(MetadataError::NotAnObject("null")),
    }
}

/// A command name typed into `record` or `run --command`: a dotted identifier, refused
/// when a whole segment is the user's or host's name. `None` when it is not UTF-8.
pub fn typed_command(
    raw: &OsStr,
    identity: &MachineIdentity,
) -> Option<Result<String, DropReason>> {
    let name = raw.to_str()?;
    Some(Sanitizer::new(&Schema::empty(), identity).free_form_command(name))
}

/// The handle `record` and `run` record through: this machine's identity, the configured
/// delivery, and `--cli-version` when it is UTF-8 (a value that is not cannot be a version;
/// the library's sanitizer explains the others in debug mode).
pub fn telemetry(
    ctx: &Context,
    identity: MachineIdentity,
    cli_version: Option<&OsStr>,
) -> Telemetry {
    let mut builder = Telemetry::builder(ctx.settings.clone())
        .identity(identity)
        .delivery(ctx.delivery_options());
    if let Some(v) = cli_version.and_then(OsStr::to_str) {
        builder = builder.cli_version(v);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(arg: &OsStr) -> Result<FieldArg, String> {
        split_field(arg)
    }

    #[test]
    fn fields_split_on_the_first_equals_sign() {
        let f = parse(OsStr::new("mode=a=b")).unwrap();
        assert_eq!((f.key.as_str(), f.value.as_deref()), ("mode", Some("a=b")));
        let f = parse(OsStr::new("mode=")).unwrap();
        assert_eq!(f.value.as_deref(), Some(""));
        let err = parse(OsStr::new("mode")).unwrap_err().to_string();
        assert!(err.contains("expected KEY=VALUE"), "{err}");
        let err = parse(OsStr::new("=x")).unwrap_err().to_string();
        assert!(err.contains("key before '=' is empty"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn fields_that_are_not_utf8_are_kept_for_dropping() {
        use std::os::unix::ffi::OsStrExt;
        let f = parse(OsStr::from_bytes(b"mode=\xff\xfe")).unwrap();
        assert_eq!((f.key.as_str(), f.value), ("mode", None));
        let f = parse(OsStr::from_bytes(b"mo\xffde=x")).unwrap();
        assert_eq!(f.value, None);
        assert!(field_metadata(&[f], false).is_empty());
    }

    #[test]
    fn metadata_must_be_a_bounded_object() {
        let m = read_metadata(&br#"{"checks_total": 6, "mode": "repro"}"#[..]).unwrap();
        assert_eq!(m.len(), 2);
        assert!(matches!(
            read_metadata(&b"[1]"[..]),
            Err(MetadataError::NotAnObject("an array"))
        ));
        assert!(matches!(
            read_metadata(&b"{"[..]),
            Err(MetadataError::NotJson(_))
        ));
        let big = vec![b' '; MAX_METADATA_BYTES as usize + 1];
        assert!(matches!(
            read_metadata(&big[..]),
            Err(MetadataError::TooLarge)
        ));
    }

    #[test]
    fn durations_are_non_negative_numbers() {
        assert_eq!(parse_duration_ms("12.5"), Ok(12.5));
        assert!(parse_duration_ms("-1").unwrap_err().contains("negative"));
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("NaN").is_err());
        assert!(parse_duration_ms("inf").is_err());
    }
}
