//! Export headers: the `Key: Value, Key2: Value2` list of `SPECFACT_TELEMETRY_HEADERS`,
//! header name and value checks, and the name-by-name merge of two sources.
//!
//! Nothing here ever puts a header value (or a rejected name, which may be a
//! mistyped value) into an error: entries are named by their position.

use super::{Header, Secret, Source};

/// Why one entry of a header list, or one header, was skipped.
///
/// The messages never contain the entry's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The entry has no `:` between name and value.
    #[error("has no `:` between the header name and its value")]
    MissingColon,
    /// The name is empty.
    #[error("has an empty header name")]
    EmptyName,
    /// The value is empty.
    #[error("has an empty value")]
    EmptyValue,
    /// The name contains characters that HTTP does not allow in a header name.
    #[error(
        "has a name that is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    )]
    InvalidName,
    /// The value contains a line break or another control character.
    #[error("has a value that contains a line break or another control character")]
    InvalidValue,
    /// The value is a list or a mapping (in `telemetry.yaml`), not text.
    #[error("has a value that is a list or a mapping, not text")]
    NotText,
}

/// One entry of a parsed header list: its 1-based position and the header or the
/// reason it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEntry {
    /// 1-based position of the entry in the comma-separated list.
    pub position: usize,
    /// `(name, value)`, both trimmed, or why the entry was skipped.
    pub parsed: Result<(String, String), HeaderError>,
}

/// Parses a `Key: Value, Key2: Value2` header list.
///
/// The list is split on commas, each entry on its first colon, and both sides are
/// trimmed. Entries that are empty once trimmed (a trailing comma) are ignored without
/// an entry; every other entry yields a [`HeaderEntry`], valid or not. Values cannot
/// contain commas (as in the reference implementation).
pub fn parse_header_list(input: &str) -> Vec<HeaderEntry> {
    input
        .split(',')
        .enumerate()
        .filter(|(_, part)| !part.trim().is_empty())
        .map(|(index, part)| HeaderEntry {
            position: index + 1,
            parsed: parse_entry(part),
        })
        .collect()
}

/// Parses one `Name: Value` header (both sides trimmed), as `--header` and
/// `SPECFACT_TELEMETRY_HEADERS` entries are written.
pub fn parse_header(part: &str) -> Result<(String, String), HeaderError> {
    parse_entry(part)
}

fn parse_entry(part: &str) -> Result<(String, String), HeaderError> {
    let (name, value) = part.split_once(':').ok_or(HeaderError::MissingColon)?;
    let (name, value) = (name.trim(), value.trim());
    check_header(name, value)?;
    Ok((name.to_owned(), value.to_owned()))
}

/// Checks a header name and value (already trimmed).
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if name.is_empty() {
        return Err(HeaderError::EmptyName);
    }
    if value.is_empty() {
        return Err(HeaderError::EmptyValue);
    }
    if !is_valid_header_name(name) {
        return Err(HeaderError::InvalidName);
    }
    if !is_valid_header_value(value) {
        return Err(HeaderError::InvalidValue);
    }
    Ok(())
}

/// Whether `name` is a non-empty HTTP token (RFC 9110 `tchar`s only).
pub fn is_valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Whether `value` can be sent as an HTTP header value: no control characters other
/// than a horizontal tab (so no CR or LF).
pub fn is_valid_header_value(value: &str) -> bool {
    !value.chars().any(|c| c.is_control() && c != '\t')
}

/// Adds `incoming` to `headers`: a header with the same name (ASCII case-insensitive)
/// is replaced in place, keeping its position; otherwise it is appended.
pub(crate) fn merge_header(headers: &mut Vec<Header>, incoming: Header) {
    match headers
        .iter_mut()
        .find(|h| h.name.eq_ignore_ascii_case(&incoming.name))
    {
        Some(existing) => *existing = incoming,
        None => headers.push(incoming),
    }
}

/// Builds a [`Header`].
pub(crate) fn header(name: String, value: String, source: Source) -> Header {
    Header {
        name,
        value: Secret::new(value),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(position: usize, name: &str, value: &str) -> HeaderEntry {
        HeaderEntry {
            position,
            parsed: Ok((name.to_owned(), value.to_owned())),
        }
    }

    fn err(position: usize, e: HeaderError) -> HeaderEntry {
        HeaderEntry {
            position,
            parsed: Err(e),
        }
    }

    #[test]
    fn parses_the_documented_form() {
        assert_eq!(
            parse_header_list("Authorization: Bearer xxxx"),
            vec![ok(1, "Authorization", "Bearer xxxx")]
        );
        assert_eq!(
            parse_header_list(" X-A :1,X-B:  two words , x-c: a:b:c"),
            vec![
                ok(1, "X-A", "1"),
                ok(2, "X-B", "two words"),
                ok(3, "x-c", "a:b:c")
            ]
        );
    }

    #[test]
    fn reports_bad_entries_by_position() {
        assert_eq!(
            parse_header_list("A: 1,,nocolon, : v, k: ,B C: 2, D: x\u{7}y,"),
            vec![
                ok(1, "A", "1"),
                err(3, HeaderError::MissingColon),
                err(4, HeaderError::EmptyName),
                err(5, HeaderError::EmptyValue),
                err(6, HeaderError::InvalidName),
                err(7, HeaderError::InvalidValue),
            ]
        );
        assert!(parse_header_list("").is_empty());
        assert!(parse_header_list(" , ,").is_empty());
    }

    #[test]
    fn header_values_allow_tabs_but_no_line_breaks() {
        assert!(is_valid_header_value("a\tb"));
        assert!(is_valid_header_value("Grüße"));
        assert!(!is_valid_header_value("a\r\nX-Injected: 1"));
        assert!(!is_valid_header_value("a\u{7f}"));
        assert!(is_valid_header_name("X-Api-Key"));
        assert!(!is_valid_header_name("X Api"));
        assert!(!is_valid_header_name("Ümlaut"));
        assert!(!is_valid_header_name(""));
    }

    #[test]
    fn merge_replaces_case_insensitively_in_place() {
        let mut headers = vec![
            header("Authorization".into(), "a".into(), Source::Config),
            header("X-Team".into(), "t".into(), Source::Config),
        ];
        let env = Source::Env("SPECFACT_TELEMETRY_HEADERS");
        merge_header(
            &mut headers,
            header("authorization".into(), "b".into(), env),
        );
        merge_header(&mut headers, header("X-New".into(), "n".into(), env));
        let seen: Vec<_> = headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.expose(), h.source))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("authorization", "b", env),
                ("X-Team", "t", Source::Config),
                ("X-New", "n", env)
            ]
        );
    }

    #[test]
    fn errors_never_echo_the_entry() {
        let secret = "s3cr3t-token";
        for input in [
            format!("Authorization {secret}"),
            format!("Bad Name {secret}: v"),
            format!("X: {secret}\u{0}"),
        ] {
            for entry in parse_header_list(&input) {
                let e = entry.parsed.unwrap_err();
                assert!(!e.to_string().contains(secret), "{e}");
            }
        }
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}"
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        // No commas (the list separator), no control characters, no surrounding spaces.
        "[A-Za-z0-9=+/:;._~-]([A-Za-z0-9 =+/:;._~-]{0,30}[A-Za-z0-9=+/:;._~-])?"
    }

    proptest! {
        #[test]
        fn never_panics(input in any::<String>()) {
            for entry in parse_header_list(&input) {
                prop_assert!(entry.position >= 1);
                if let Ok((name, value)) = entry.parsed {
                    prop_assert!(is_valid_header_name(&name));
                    prop_assert!(is_valid_header_value(&value) && !value.is_empty());
                }
            }
        }

        #[test]
        fn round_trips_well_formed_lists(
            pairs in proptest::collection::vec((name_strategy(), value_strategy()), 1..8),
            spaced in any::<bool>(),
        ) {
            let separator = if spaced { " , " } else { "," };
            let text = pairs
                .iter()
                .map(|(n, v)| if spaced { format!(" {n} :  {v} ") } else { format!("{n}:{v}") })
                .collect::<Vec<_>>()
                .join(separator);
            let parsed: Vec<(String, String)> = parse_header_list(&text)
                .into_iter()
                .map(|e| e.parsed.unwrap())
                .collect();
            prop_assert_eq!(parsed, pairs);
        }
    }
}
