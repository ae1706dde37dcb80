//! The string patterns of the field kinds, as plain ASCII checks.

/// `[a-z][a-z0-9_-]*`
pub(super) fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            first.is_ascii_lowercase()
                && rest.iter().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-')
                })
        }
        None => false,
    }
}

/// Identifiers joined by single dots: `import.from_code`, `generate.fix-prompt`.
pub(super) fn is_command(s: &str) -> bool {
    s.split('.').all(is_identifier)
}

/// `[A-Za-z_][A-Za-z0-9_]*`
fn is_type_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        }
        None => false,
    }
}

/// Type-name parts joined by `::` or `.`: `Exit`, `io::NotFound`,
/// `requests.exceptions.ConnectionError`.
pub(super) fn is_error_type(s: &str) -> bool {
    // A single `:` is not a separator; splitting on `::` first leaves it inside a part.
    s.split("::")
        .all(|segment| segment.split('.').all(is_type_name_part))
}

/// `[0-9A-Za-z.+-]*` starting with a digit or `v`: `0.20.5`, `v1.2.0-rc.1+abc`.
pub(super) fn is_cli_version(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(first) if first.is_ascii_digit() || *first == b'v' => b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for s in ["repro", "cicd", "fix-prompt", "from_code", "a1", "x"] {
            assert!(is_identifier(s), "{s}");
        }
        for s in ["", "1a", "-a", "_a", "Repro", "a.b", "a b", "é", "a/b"] {
            assert!(!is_identifier(s), "{s}");
        }
    }

    #[test]
    fn commands() {
        for s in [
            "plan.init",
            "import.from_code",
            "generate.fix-prompt",
            "repro",
            "a.b.c",
        ] {
            assert!(is_command(s), "{s}");
        }
        for s in [
            "",
            ".plan",
            "plan.",
            "plan..init",
            "plan.1x",
            "Plan.init",
            "plan init",
        ] {
            assert!(!is_command(s), "{s}");
        }
    }

    #[test]
    fn error_types() {
        for s in [
            "Exit",
            "TimeoutError",
            "io::NotFound",
            "std::io::ErrorKind::NotFound",
            "requests.exceptions.ConnectionError",
            "_Private",
            "Err2",
        ] {
            assert!(is_error_type(s), "{s}");
        }
        for s in [
            "",
            "io:NotFound",
            "io:::NotFound",
            "::Exit",
            "Exit.",
            "a..b",
            "2Fast",
            "No such file",
            "'Exit'",
            "a/b",
            "Bad-Thing",
        ] {
            assert!(!is_error_type(s), "{s}");
        }
    }

    #[test]
    fn cli_versions() {
        for s in ["0.20.5", "1.2.0-rc.1+abc", "v2", "2024.1"] {
            assert!(is_cli_version(s), "{s}");
        }
        for s in ["", "release-1", "1.0 beta", "1_0", "V1.0"] {
            assert!(!is_cli_version(s), "{s}");
        }
    }
}
