//! Editing the files under `~/.specfact/` the way a careful person would: keep the
//! user's other keys and comments, write atomically, and keep secrets private (0600).

use std::fs;
use std::path::Path;

use anyhow::{Context as _, bail};
use specfact_telemetry::private_file;

/// Writes `contents` to `path` atomically (temporary file + rename), mode 0600,
/// creating the parent directory with mode 0700.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    private_file::write_private(path, contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a text file that may not exist.
pub fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(_) => bail!(
                "{} is not UTF-8 text; fix or remove it first",
                path.display()
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// A YAML scalar for `s`: a double-quoted string (JSON strings are valid YAML).
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Sets top-level `key` in a YAML mapping document, replacing its current value
/// (including an indented block under it) or appending it. `value` is either an
/// inline scalar (`true`, `"http://…"`) or, when `block` is given, nested lines.
/// Every other line, comments included, is kept as it was.
pub fn set_top_level(text: &str, key: &str, value: &str, block: &[String]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut new_entry = vec![if block.is_empty() {
        format!("{key}: {value}")
    } else {
        format!("{key}:")
    }];
    new_entry.extend(block.iter().map(|l| format!("  {l}")));

    let is_key_line = |l: &str| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    };
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + new_entry.len());
    let mut i = 0;
    let mut replaced = false;
    while i < lines.len() {
        if !replaced && is_key_line(lines[i]) {
            out.extend(new_entry.iter().cloned());
            replaced = true;
            i += 1;
            // Skip the old value's indented block (blank lines inside it too).
            while i < lines.len() {
                let l = lines[i];
                let indented = l.starts_with(' ') || l.starts_with('\t');
                let blank_inside = l.trim().is_empty()
                    && lines[i + 1..]
                        .iter()
                        .find(|n| !n.trim().is_empty())
                        .is_some_and(|n| n.starts_with(' ') || n.starts_with('\t'));
                if indented || blank_inside {
                    i += 1;
                } else {
                    break;
                }
            }
            continue;
        }
        out.push(lines[i].to_owned());
        i += 1;
    }
    if !replaced {
        out.extend(new_entry);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_key_and_keeps_comments_and_other_keys() {
        let text = "# mine\nenabled: false # was off\nservice_name: acme\nheaders:\n  A: b\n\n  C: d\ndebug: true\n";
        let t = set_top_level(text, "enabled", "true", &[]);
        assert_eq!(
            t,
            "# mine\nenabled: true\nservice_name: acme\nheaders:\n  A: b\n\n  C: d\ndebug: true\n"
        );
        let t = set_top_level(&t, "headers", "", &["X: \"y\"".to_owned()]);
        assert_eq!(
            t,
            "# mine\nenabled: true\nservice_name: acme\nheaders:\n  X: \"y\"\ndebug: true\n"
        );
    }

    #[test]
    fn appends_a_missing_key_and_ignores_lookalikes() {
        let t = set_top_level("enabled_x: 1\n  enabled: no", "enabled", "true", &[]);
        assert_eq!(t, "enabled_x: 1\n  enabled: no\nenabled: true\n");
        assert_eq!(
            set_top_level("", "endpoint", &quote("http://h/v1"), &[]),
            "endpoint: \"http://h/v1\"\n"
        );
    }

    #[test]
    fn write_private_creates_0600_files_in_0700_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a/telemetry.yaml");
        write_private(&p, "enabled: true\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "enabled: true\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(tmp.path().join("a"))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        assert_eq!(fs::read_dir(tmp.path().join("a")).unwrap().count(), 1);
    }
}
