//! `telemetry.yaml`: bounded reading, parsing with a work budget, and the first checks
//! (file problems, top-level shape, unknown keys). Values are checked where they are used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::files::{FileRead, describe_io_error, line_column, read_bounded};
use super::{Diagnostic, Origin};

mod document;

use document::{Document, Entry, Position};

/// Largest `telemetry.yaml` that is read, in bytes.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// The top-level keys `telemetry.yaml` may hold.
pub const CONFIG_KEYS: &[&str] = &[
    "enabled",
    "endpoint",
    "headers",
    "service_name",
    "service_namespace",
    "deployment_environment",
    "batch_size",
    "batch_timeout",
    "export_timeout",
    "debug",
    "local_path",
    "allow_insecure_http",
    "regression_categories",
];

const IGNORED: &str = "its settings are ignored";

/// A parsed `telemetry.yaml`: top-level keys with their values and positions.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    path: PathBuf,
    text: String,
    entries: BTreeMap<String, Entry>,
}

impl ConfigFile {
    /// The value of `key`, with where it is. A `null` value counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<(&Value, Origin)> {
        let entry = self.entries.get(key)?;
        if entry.value.is_null() {
            return None;
        }
        Some((&entry.value, self.origin_at(entry.at)))
    }

    /// Where `key` is written inside the mapping under top-level `parent`: its line and
    /// column, so a problem with one entry points at that entry rather than at the
    /// start of the mapping. Falls back to the mapping's position.
    pub(crate) fn entry_origin(&self, parent: &str, key: &str) -> Option<Origin> {
        let entry = self.entries.get(parent)?;
        let fallback = self.origin_at(entry.at);
        let start = usize::try_from(entry.at.line).ok()?.saturating_sub(1);
        let lines = self.text.lines().enumerate().skip(start);
        for (index, line) in lines {
            let top_level = !line.starts_with([' ', '\t']) && !line.trim().is_empty();
            if index > start && top_level && !line.trim_start().starts_with('#') {
                break;
            }
            if let Some(column) = key_column(line, key) {
                return Some(Origin::File {
                    path: self.path.clone(),
                    line: u64::try_from(index + 1).ok(),
                    column: u64::try_from(column).ok(),
                });
            }
        }
        Some(fallback)
    }

    fn origin_at(&self, at: Position) -> Origin {
        Origin::File {
            path: self.path.clone(),
            line: Some(at.line).filter(|&l| l > 0),
            column: Some(at.column).filter(|&c| c > 0),
        }
    }
}

/// Loads `path`. `None` when the file is absent or unusable (with a diagnostic for the
/// latter); unknown keys are reported and kept out of the way.
pub(crate) fn load(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<ConfigFile> {
    let file_origin = |line: Option<u64>, column: Option<u64>| Origin::File {
        path: path.to_path_buf(),
        line,
        column,
    };
    let mut report = |origin: Origin, message: String| {
        diagnostics.push(Diagnostic { origin, message });
    };
    let bytes = match read_bounded(path, MAX_CONFIG_BYTES) {
        FileRead::Absent => return None,
        FileRead::Unreadable(e) => {
            let reason = describe_io_error(&e);
            report(
                file_origin(None, None),
                format!("cannot be read ({reason}); {IGNORED}"),
            );
            return None;
        }
        FileRead::TooLarge => {
            report(
                file_origin(None, None),
                format!("is larger than {} KiB; {IGNORED}", MAX_CONFIG_BYTES / 1024),
            );
            return None;
        }
        FileRead::Bytes(bytes) => bytes,
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(&bytes, e.valid_up_to());
            report(
                file_origin(Some(line), Some(column)),
                format!("is not UTF-8 text (the first invalid byte is here); {IGNORED}"),
            );
            return None;
        }
    };
    let entries = match document::parse(text) {
        Ok(Document::Mapping(entries)) => entries,
        Ok(Document::Empty) => BTreeMap::new(),
        Ok(Document::NotMapping(kind)) => {
            report(
                file_origin(Some(1), Some(1)),
                format!("holds {kind} at the top level, not a mapping of settings; {IGNORED}"),
            );
            return None;
        }
        Err(e) => {
            let (line, column) =
                e.at.map_or((None, None), |at| (Some(at.line), Some(at.column)));
            report(
                file_origin(line, column),
                format!("is not valid YAML ({}); {IGNORED}", e.reason),
            );
            return None;
        }
    };
    for (key, entry) in &entries {
        if CONFIG_KEYS.contains(&key.as_str()) {
            continue;
        }
        report(
            file_origin(Some(entry.key_at.line), Some(entry.key_at.column)),
            unknown_key_message(key),
        );
    }
    Some(ConfigFile {
        path: path.to_path_buf(),
        text: text.to_owned(),
        entries,
    })
}

/// The 1-based column (in characters) where `key` is written as a mapping key in `line`,
/// plain or quoted, in block (`  key: v`) or flow (`{a: 1, key: v}`) style.
fn key_column(line: &str, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(found) = line[from..].find(key) {
        let at = from + found;
        let before = line[..at].chars().next_back();
        let quote = before.filter(|c| *c == '"' || *c == '\'');
        let start = if quote.is_some() { at - 1 } else { at };
        let opens = line[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c == ' ' || c == '\t' || c == '{' || c == ',');
        let mut rest = &line[at + key.len()..];
        if let Some(q) = quote {
            rest = rest.strip_prefix(q).unwrap_or("\u{0}");
        }
        if opens && rest.trim_start().starts_with(':') {
            return Some(line[..start].chars().count() + 1);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod entry_tests {
    use super::*;

    #[test]
    fn keys_are_found_in_block_and_flow_mappings() {
        assert_eq!(key_column("  Bad Name: x", "Bad Name"), Some(3));
        assert_eq!(key_column("  \"Bad Name\": x", "Bad Name"), Some(3));
        assert_eq!(key_column("{sync: drift, Plan: drift}", "Plan"), Some(15));
        assert_eq!(key_column("  planned: x", "plan"), None);
        assert_eq!(key_column("  x: plan", "plan"), None);
    }
}

fn unknown_key_message(key: &str) -> String {
    // Keys are echoed only when they look like a setting name (letters and `_-.`, no
    // digits), so a stray token that ended up as a key is not repeated back.
    let printable = !key.is_empty()
        && key.chars().count() <= 40
        && key
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.');
    if !printable {
        return "unknown key; ignored".to_owned();
    }
    match closest_key(key) {
        Some(known) => format!("unknown key `{key}` (did you mean `{known}`?); ignored"),
        None => format!("unknown key `{key}`; ignored"),
    }
}

fn closest_key(key: &str) -> Option<&'static str> {
    let lowered = key.to_ascii_lowercase().replace('-', "_");
    CONFIG_KEYS
        .iter()
        .map(|&known| (strsim::damerau_levenshtein(&lowered, known), known))
        .filter(|&(distance, known)| distance <= 2.max(known.len() / 4))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &[u8]) -> (Option<ConfigFile>, Vec<Diagnostic>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telemetry.yaml");
        std::fs::write(&path, text).unwrap();
        let mut diagnostics = Vec::new();
        let config = load(&path, &mut diagnostics);
        (config, diagnostics)
    }

    fn position(d: &Diagnostic) -> (Option<u64>, Option<u64>) {
        match &d.origin {
            Origin::File { line, column, .. } => (*line, *column),
            Origin::Env(_) => panic!("not a file origin"),
        }
    }

    #[test]
    fn values_carry_their_position() {
        let (config, diagnostics) =
            load_text(b"# comment\nendpoint: \"https://x.example\"\nbatch_size: ~\n");
        let config = config.unwrap();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let (value, origin) = config.get("endpoint").unwrap();
        assert_eq!(value, &Value::String("https://x.example".into()));
        assert!(matches!(
            origin,
            Origin::File {
                line: Some(2),
                column: Some(11),
                ..
            }
        ));
        assert!(config.get("batch_size").is_none(), "null counts as absent");
        assert!(config.entries.contains_key("batch_size"));
    }

    #[test]
    fn empty_and_comment_only_files_are_empty() {
        for text in [&b""[..], b"# nothing here\n", b"\n\n"] {
            let (config, diagnostics) = load_text(text);
            assert!(config.unwrap().entries.is_empty());
            assert!(diagnostics.is_empty());
        }
    }

    #[test]
    fn unknown_keys_point_at_the_key_and_suggest() {
        let (config, diagnostics) =
            load_text(b"enabled: true\n  # x\nendpiont: https://x.example\n");
        assert!(config.is_some());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(position(&diagnostics[0]), (Some(3), Some(1)));
        assert_eq!(
            diagnostics[0].message,
            "unknown key `endpiont` (did you mean `endpoint`?); ignored"
        );
        let (_, diagnostics) = load_text(b"colour: blue\nheaders:\n  A: b\n");
        assert_eq!(diagnostics[0].message, "unknown key `colour`; ignored");
        let (_, diagnostics) = load_text(b"\"Bearer 0123456789abcdef\": x\n");
        assert_eq!(diagnostics[0].message, "unknown key; ignored");
        let (_, diagnostics) = load_text(b"sk_live_4eC39HqLyjWDarjtT1zdp7dc: x\n");
        assert_eq!(diagnostics[0].message, "unknown key; ignored");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let (config, diagnostics) = load_text(b"enabled: true\nheaders: [a, b\n");
        assert!(config.is_none());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(position(&diagnostics[0]).0, Some(2));
        assert!(diagnostics[0].message.starts_with("is not valid YAML ("));
    }

    #[test]
    fn non_mappings_say_what_they_are() {
        for (text, kind) in [
            (&b"Bearer abc123"[..], "a single text value"),
            (b"- a\n- b\n", "a list"),
            (b"42\n", "a number"),
        ] {
            let (config, diagnostics) = load_text(text);
            assert!(config.is_none());
            assert!(diagnostics[0].message.contains(kind), "{diagnostics:?}");
            assert!(!diagnostics[0].message.contains("abc123"));
        }
    }

    #[test]
    fn quoted_excerpts_are_not_repeated() {
        let (_, diagnostics) = load_text(b"a: \"x\"\nb: !!binary \"not base64 secret value\"\n");
        let message = &diagnostics[0].message;
        assert!(message.starts_with("is not valid YAML ("), "{message}");
        assert!(!message.contains("secret"), "{message}");
        let (_, diagnostics) = load_text(b"a: 1\na: 2\n");
        assert_eq!(
            diagnostics[0].message,
            "is not valid YAML (duplicate mapping key: a); its settings are ignored"
        );
        let (_, diagnostics) = load_text(b"a: 1\n---\nb: 2\n");
        assert_eq!(
            diagnostics[0].message,
            "is not valid YAML (more than one YAML document); its settings are ignored"
        );
    }

    #[test]
    fn alias_bombs_stop_at_the_budget() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = if i == 1 {
                "a".to_owned()
            } else {
                format!("a{}", i - 1)
            };
            text.push_str(&format!(
                "a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let (config, diagnostics) = load_text(text.as_bytes());
        assert!(config.is_none());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].message,
            "is not valid YAML (too many nodes, aliases or nesting levels for a settings file); \
             its settings are ignored"
        );
    }

    #[test]
    fn closest_key_ignores_distant_words() {
        assert_eq!(closest_key("batchsize"), Some("batch_size"));
        assert_eq!(closest_key("Service-Name"), Some("service_name"));
        assert_eq!(closest_key("colour"), None);
    }
}
