//! On/off values: what `enabled:`, `SPECFACT_TELEMETRY_OPT_IN` and the opt-in file accept,
//! and what each of the two files says about opting in.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::files::{FileRead, describe_io_error, read_bounded};
use super::{MAX_OPT_IN_BYTES, yaml};

/// The values that mean "on", compared trimmed and ignoring case.
pub const TRUE_VALUES: &[&str] = &["1", "true", "yes", "y", "on"];
/// The values that mean "off", compared trimmed and ignoring case.
pub const FALSE_VALUES: &[&str] = &["0", "false", "no", "n", "off"];

/// Reads an on/off value: `Some(true)` for one of [`TRUE_VALUES`], `Some(false)` for one
/// of [`FALSE_VALUES`], `None` for anything else.
///
/// ```
/// use specfact_telemetry::settings::parse_switch;
/// assert_eq!(parse_switch(" Yes "), Some(true));
/// assert_eq!(parse_switch("off"), Some(false));
/// assert_eq!(parse_switch("ture"), None);
/// ```
pub fn parse_switch(s: &str) -> Option<bool> {
    let s = s.trim();
    if TRUE_VALUES.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE_VALUES.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// An on/off value that is neither on nor off, for messages: it names the value when
/// it is short and printable, and says what it was taken as.
pub(crate) fn unrecognized(subject: &str, raw: &str, taken_as: &str) -> String {
    let raw = raw.trim();
    let shown = if raw.is_empty() {
        "empty".to_owned()
    } else if raw.chars().count() <= 24 && !raw.chars().any(char::is_control) {
        format!("`{raw}`")
    } else {
        "a value".to_owned()
    };
    format!(
        "{subject} is {shown}, which is neither on ({}) nor off ({}); taken as {taken_as}",
        TRUE_VALUES.join(" "),
        FALSE_VALUES.join(" ")
    )
}

/// Why a YAML `enabled:` value is not on or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SwitchError {
    /// Text or a number that is not one of the accepted values (its text).
    Unrecognized(String),
    /// A list, a mapping.
    WrongType(&'static str),
}

/// A YAML on/off value: `true`/`false`, the integers 1 and 0, or text as [`parse_switch`].
pub(crate) fn yaml_switch(value: &Value) -> Result<bool, SwitchError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Ok(true),
            Some(0) => Ok(false),
            _ => Err(SwitchError::Unrecognized(n.to_string())),
        },
        Value::String(s) => parse_switch(s).ok_or_else(|| SwitchError::Unrecognized(s.clone())),
        Value::Array(_) => Err(SwitchError::WrongType("a list")),
        Value::Object(_) => Err(SwitchError::WrongType("a mapping")),
        Value::Null => Err(SwitchError::WrongType("nothing")),
    }
}

/// What one of the two files says about opting in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSays {
    /// The file does not exist.
    Absent,
    /// `telemetry.yaml` exists but has no `enabled` setting.
    Silent,
    /// It opts in (`enabled: true`, or an opt-in file saying `true`).
    On,
    /// It opts out (`enabled: false`, or an opt-in file saying `false`).
    Off,
    /// Its value is neither on nor off; taken as off.
    Unrecognized,
    /// It cannot be used (unreadable, not text, not YAML, not a regular file): why.
    Unusable(String),
}

impl FileSays {
    /// Whether this file, read alone, would turn telemetry on.
    pub fn enables(&self) -> bool {
        matches!(self, FileSays::On)
    }

    /// A short description: `absent`, `no enabled setting`, `enabled: true`, …
    pub fn describe(&self, config: bool) -> String {
        match (self, config) {
            (FileSays::Absent, _) => "absent".to_owned(),
            (FileSays::Silent, _) => "no `enabled` setting".to_owned(),
            (FileSays::On, true) => "enabled: true".to_owned(),
            (FileSays::Off, true) => "enabled: false".to_owned(),
            (FileSays::On, false) => "says true (opts in)".to_owned(),
            (FileSays::Off, false) => "says false (opts out)".to_owned(),
            (FileSays::Unrecognized, _) => {
                "a value that is neither on nor off (taken as off)".to_owned()
            }
            (FileSays::Unusable(why), _) => format!("unusable: {why}"),
        }
    }

    /// A stable code for scripts: `absent`, `silent`, `on`, `off`, `unrecognized`, `unusable`.
    pub fn code(&self) -> &'static str {
        match self {
            FileSays::Absent => "absent",
            FileSays::Silent => "silent",
            FileSays::On => "on",
            FileSays::Off => "off",
            FileSays::Unrecognized => "unrecognized",
            FileSays::Unusable(_) => "unusable",
        }
    }
}

/// The two files that can opt in, and what each says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptInFiles {
    /// `~/.specfact/telemetry.yaml`.
    pub config: PathBuf,
    /// What its `enabled:` says.
    pub config_says: FileSays,
    /// `~/.specfact/telemetry.opt-in`.
    pub opt_in: PathBuf,
    /// What it says.
    pub opt_in_says: FileSays,
}

impl OptInFiles {
    /// Reads both files in `dir` (`~/.specfact`). Creates nothing; never blocks.
    pub fn read(dir: &Path) -> OptInFiles {
        let config = dir.join(super::CONFIG_FILE);
        let opt_in = dir.join(super::OPT_IN_FILE);
        OptInFiles {
            config_says: config_says(&config),
            opt_in_says: opt_in_says(&opt_in),
            config,
            opt_in,
        }
    }

    /// Whether either file would turn telemetry on.
    pub fn any_enables(&self) -> bool {
        self.config_says.enables() || self.opt_in_says.enables()
    }
}

fn config_says(path: &Path) -> FileSays {
    if std::fs::symlink_metadata(path).is_err() {
        return FileSays::Absent;
    }
    let mut diagnostics = Vec::new();
    let Some(config) = yaml::load(path, &mut diagnostics) else {
        return match diagnostics.into_iter().next() {
            Some(d) => FileSays::Unusable(d.message),
            None => FileSays::Absent,
        };
    };
    match config.get("enabled") {
        None => FileSays::Silent,
        Some((value, _)) => match yaml_switch(value) {
            Ok(true) => FileSays::On,
            Ok(false) => FileSays::Off,
            Err(_) => FileSays::Unrecognized,
        },
    }
}

fn opt_in_says(path: &Path) -> FileSays {
    match read_bounded(path, MAX_OPT_IN_BYTES) {
        FileRead::Absent => FileSays::Absent,
        FileRead::TooLarge => FileSays::Unusable(format!("larger than {MAX_OPT_IN_BYTES} bytes")),
        FileRead::Unreadable(e) => FileSays::Unusable(describe_io_error(&e)),
        FileRead::Bytes(bytes) => match String::from_utf8(bytes) {
            Err(_) => FileSays::Unusable("not UTF-8 text".to_owned()),
            Ok(text) => match parse_switch(text.strip_prefix('\u{feff}').unwrap_or(&text)) {
                Some(true) => FileSays::On,
                Some(false) => FileSays::Off,
                None => FileSays::Unrecognized,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_value_is_on_or_off_and_nothing_else() {
        for v in ["1", "true", "TRUE", " yes", "Y", "on\n"] {
            assert_eq!(parse_switch(v), Some(true), "{v:?}");
        }
        for v in ["0", "false", "No", "n", "OFF"] {
            assert_eq!(parse_switch(v), Some(false), "{v:?}");
        }
        for v in ["", "ture", "yes please", "2", "enabled"] {
            assert_eq!(parse_switch(v), None, "{v:?}");
        }
        assert_eq!(yaml_switch(&serde_json::json!(1)), Ok(true));
        assert_eq!(yaml_switch(&serde_json::json!(0)), Ok(false));
        assert_eq!(
            yaml_switch(&serde_json::json!(2)),
            Err(SwitchError::Unrecognized("2".to_owned()))
        );
        assert_eq!(
            yaml_switch(&serde_json::json!([true])),
            Err(SwitchError::WrongType("a list"))
        );
    }

    #[test]
    fn messages_name_short_values_only() {
        let m = unrecognized("`enabled`", "ture", "false");
        assert!(
            m.starts_with("`enabled` is `ture`, which is neither on"),
            "{m}"
        );
        assert!(m.ends_with("taken as false"), "{m}");
        let m = unrecognized("the value", &"x".repeat(40), "false");
        assert!(m.starts_with("the value is a value,"), "{m}");
    }

    #[test]
    fn both_files_are_read_for_what_they_say() {
        let dir = tempfile::tempdir().unwrap();
        let files = OptInFiles::read(dir.path());
        assert_eq!(
            (files.config_says.clone(), files.opt_in_says.clone()),
            (FileSays::Absent, FileSays::Absent)
        );
        std::fs::write(
            dir.path().join("telemetry.yaml"),
            "# mine\nendpoint: http://x\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("telemetry.opt-in"), "true\n").unwrap();
        let files = OptInFiles::read(dir.path());
        assert_eq!(files.config_says, FileSays::Silent);
        assert_eq!(files.opt_in_says, FileSays::On);
        assert!(files.any_enables());
        std::fs::write(dir.path().join("telemetry.yaml"), "enabled: 0\n").unwrap();
        std::fs::write(dir.path().join("telemetry.opt-in"), "maybe").unwrap();
        let files = OptInFiles::read(dir.path());
        assert_eq!(files.config_says, FileSays::Off);
        assert_eq!(files.opt_in_says, FileSays::Unrecognized);
        assert!(!files.any_enables());
    }
}
