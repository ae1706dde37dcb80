//! The names that identify this machine and its user.

use std::path::Path;

use crate::env::EnvSnapshot;

use super::privacy::is_common_tld;

/// The shortest name that is matched; shorter ones would match far too much.
const MIN_NAME_CHARS: usize = 3;

/// Directory names that appear in many home paths and identify nobody.
const GENERIC_DIRECTORIES: &[&str] = &[
    "home",
    "users",
    "var",
    "usr",
    "opt",
    "srv",
    "mnt",
    "tmp",
    "private",
    "export",
    "root",
    "data",
    "media",
    "volumes",
    "documents and settings",
];

/// Names that identify this machine and its user, which no string value may contain.
///
/// Built from the user name, the host name and the home directory's components, all
/// lowercased and at least 3 characters long. A value is refused when one of its parts equals
/// one of these names, or when it contains the host name anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineIdentity {
    /// Lowercased words of at least 3 characters, matched against whole parts of a value.
    words: Vec<String>,
    /// Lowercased names matched anywhere inside a value (the host name, its first label,
    /// and names that contain separators and so can never equal a single part).
    fragments: Vec<String>,
    /// Lowercased user names and host names (the whole name and its first label), the
    /// names a person might type into a free-form command name. Home-directory
    /// components are not among them. See [`MachineIdentity::names_a_command_segment`].
    personal: Vec<String>,
}

impl MachineIdentity {
    /// Detects the user name (`USER`, `LOGNAME`, `USERNAME`), the host name (from the
    /// operating system and `HOSTNAME`) and the components of the home directory.
    ///
    /// Generic directory names (`home`, `Users`, `var`, `opt`, …) are skipped; `root` is
    /// kept only when it is the user's name.
    pub fn detect(env: &EnvSnapshot, home: Option<&Path>) -> MachineIdentity {
        let system_host = crate::env::system_host_name();
        Self::from_sources(env, system_host.as_deref(), home)
    }

    /// [`detect`](Self::detect) with the operating system's host name given explicitly.
    fn from_sources(
        env: &EnvSnapshot,
        system_host: Option<&str>,
        home: Option<&Path>,
    ) -> MachineIdentity {
        let mut identity = MachineIdentity::default();
        let mut users = Vec::new();
        for var in ["USER", "LOGNAME", "USERNAME"] {
            if let Some(user) = env.get_os(var) {
                let user = user.to_string_lossy().trim().to_lowercase();
                identity.add_name(&user);
                push_unique(&mut identity.personal, &user);
                users.push(user);
            }
        }
        if let Some(host) = system_host {
            identity.add_host(host);
        }
        if let Some(host) = env.get_os("HOSTNAME") {
            identity.add_host(&host.to_string_lossy());
        }
        if let Some(home) = home {
            let home = home.to_string_lossy();
            for component in home.split(['/', '\\']) {
                let lower = component.trim().to_lowercase();
                let is_drive = lower.len() == 2 && lower.ends_with(':');
                let is_generic =
                    GENERIC_DIRECTORIES.contains(&lower.as_str()) && !users.contains(&lower);
                if !is_drive && !is_generic {
                    identity.add_name(&lower);
                }
            }
        }
        identity
    }

    /// Builds an identity from explicit names (for tests and hosts that know better).
    ///
    /// Each name is treated like a user name: it is matched as a whole part of a value, and a
    /// name made of several parts (`ada.lovelace`) also matches each of its parts and, as a
    /// whole, anywhere inside a value.
    pub fn from_names<I, S>(names: I) -> MachineIdentity
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut identity = MachineIdentity::default();
        for name in names {
            identity.add_name(name.as_ref());
            push_unique(&mut identity.personal, &name.as_ref().trim().to_lowercase());
        }
        identity
    }

    /// Adds a host name: it is matched anywhere inside a value, as is its first label, and
    /// its `-`, `_` and `.` separated parts are matched as whole parts.
    pub fn with_host_name(mut self, host: &str) -> MachineIdentity {
        self.add_host(host);
        self
    }

    /// Whether a free-form command name (one typed into a script, such as `record`'s)
    /// names this machine's user or host: one of its dot-separated segments, compared
    /// whole and ignoring case, equals a user name, the host name or the host name's
    /// first label.
    ///
    /// This is deliberately narrower than [`appears_in`](Self::appears_in): command names
    /// are made of common words (`test`, `plan`, `run`, `init`), so `generate.test-prompt`
    /// is kept for the user `test` (the segment is `test-prompt`, not `test`) and
    /// `plan.init` is kept for a home directory ending in `/plan` (home-directory
    /// components are not compared). `test.run` is refused for the user `test`.
    pub fn names_a_command_segment(&self, command: &str) -> bool {
        command.split('.').any(|segment| {
            self.personal
                .iter()
                .any(|p| p.eq_ignore_ascii_case(segment.trim()))
        })
    }

    /// Whether no name is known (nothing will ever match).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.fragments.is_empty()
    }

    /// Whether any part of `s` (split on `.`, `-`, `_`, `:`, `/` and the like) equals one of the names.
    ///
    /// Parts are also split where a lowercase letter is followed by an uppercase one
    /// (`AdaBuildError` has the parts `ada`, `build` and `error`). The host name and its
    /// first label match anywhere in `s`. All comparisons ignore case.
    pub fn appears_in(&self, s: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let contains_fragment = if s.is_ascii() {
            // The common case, without allocating.
            self.fragments.iter().any(|f| {
                s.as_bytes()
                    .windows(f.len())
                    .any(|w| w.eq_ignore_ascii_case(f.as_bytes()))
            })
        } else {
            let lower = s.to_lowercase();
            self.fragments.iter().any(|f| lower.contains(f.as_str()))
        };
        if contains_fragment {
            return true;
        }
        s.split(is_separator)
            .filter(|part| !part.is_empty())
            .any(|part| camel_pieces(part).any(|piece| self.is_word(piece)) || self.is_word(part))
    }

    fn is_word(&self, piece: &str) -> bool {
        if piece.is_ascii() {
            // The common case, without allocating.
            return self.words.iter().any(|w| w.eq_ignore_ascii_case(piece));
        }
        let lower = piece.to_lowercase();
        self.words.contains(&lower)
    }

    /// Adds a user name or a directory name.
    fn add_name(&mut self, name: &str) {
        let name = name.trim().to_lowercase();
        push_unique(&mut self.words, &name);
        if name.contains(is_separator) {
            push_unique(&mut self.fragments, &name);
            for part in name.split(is_separator) {
                if !is_all_digits(part) {
                    push_unique(&mut self.words, part);
                }
            }
        }
    }

    /// Adds a host name (`ada-laptop.example.lan`).
    fn add_host(&mut self, host: &str) {
        let host = host.trim().trim_end_matches('.').to_lowercase();
        if host.is_empty() {
            return;
        }
        push_unique(&mut self.fragments, &host);
        push_unique(&mut self.words, &host);
        push_unique(&mut self.personal, &host);
        let mut labels = host.split('.');
        if let Some(first) = labels.next() {
            push_unique(&mut self.personal, first);
            push_unique(&mut self.fragments, first);
            push_unique(&mut self.words, first);
            for part in first.split(['-', '_']) {
                if !is_all_digits(part) {
                    push_unique(&mut self.words, part);
                }
            }
        }
        // Later labels are the domain; generic ones (`local`, `lan`, `com`) identify nobody.
        for label in labels {
            for part in label.split(['-', '_']) {
                if !is_all_digits(part) && !is_common_tld(part) && part != "localdomain" {
                    push_unique(&mut self.words, part);
                }
            }
        }
    }
}

/// Characters that separate the parts of a value: anything but a letter or a digit.
fn is_separator(c: char) -> bool {
    !c.is_alphanumeric()
}

fn is_all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Adds `name` when it is long enough and not there yet.
fn push_unique(list: &mut Vec<String>, name: &str) {
    if name.chars().count() >= MIN_NAME_CHARS && !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

/// Splits `part` where a lowercase letter or a digit is followed by an uppercase letter.
fn camel_pieces(part: &str) -> impl Iterator<Item = &str> {
    let mut rest = part;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut prev_lower = false;
        let mut cut = rest.len();
        for (i, c) in rest.char_indices() {
            if prev_lower && c.is_uppercase() {
                cut = i;
                break;
            }
            prev_lower = c.is_lowercase() || c.is_numeric();
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn command_segments_match_only_user_and_host_names_whole() {
        let id = MachineIdentity::from_sources(
            &env(&[("USER", "test")]),
            Some("ada-laptop.example.lan"),
            Some(Path::new("/home/test/work/plan")),
        );
        assert!(!id.names_a_command_segment("generate.test-prompt"));
        assert!(!id.names_a_command_segment("plan.init"));
        assert!(id.names_a_command_segment("test.run"));
        assert!(id.names_a_command_segment("deploy.ada-laptop"));
        assert!(id.names_a_command_segment("deploy.ADA-LAPTOP"));
        assert!(!id.names_a_command_segment("deploy.ada"));
        // The broader check still refuses these as values.
        assert!(id.appears_in("generate.test-prompt"));
        assert!(id.appears_in("plan.init"));
    }

    #[test]
    fn names_match_whole_parts_case_insensitively() {
        let id = MachineIdentity::from_names(["Ada"]);
        assert!(id.appears_in("ada"));
        assert!(id.appears_in("ADA-build"));
        assert!(id.appears_in("build_ada"));
        assert!(id.appears_in("ci.ada.run"));
        assert!(id.appears_in("x:ada"));
        assert!(id.appears_in("AdaBuildError"));
        assert!(!id.appears_in("adapter"));
        assert!(!id.appears_in("canada"));
        assert!(!id.appears_in("repro"));
    }

    #[test]
    fn non_ascii_names_match_case_insensitively() {
        let id = MachineIdentity::from_names(["Jérôme"]);
        assert!(id.appears_in("JÉRÔME-build"));
        assert!(id.appears_in("ci.jérôme"));
        assert!(!id.appears_in("jerome"));
    }

    #[test]
    fn short_names_are_ignored() {
        let id = MachineIdentity::from_names(["al", "", "  "]);
        assert!(id.is_empty());
        assert!(!id.appears_in("al"));
    }

    #[test]
    fn names_with_separators_match_as_parts_and_as_a_whole() {
        let id = MachineIdentity::from_names(["ada.lovelace"]);
        assert!(id.appears_in("lovelace-mode"));
        assert!(id.appears_in("ada"));
        assert!(id.appears_in("xada.lovelacex"));
        assert!(!id.appears_in("love"));
    }

    #[test]
    fn host_names_match_as_substrings() {
        let id = MachineIdentity::default().with_host_name("Ada-Laptop.example.lan.");
        assert!(id.appears_in("myada-laptopbuild"));
        assert!(id.appears_in("laptop"));
        assert!(id.appears_in("x-ada"));
        assert!(id.appears_in("example"));
        // The generic domain label is not a name.
        assert!(!id.appears_in("lan"));
        assert!(!id.appears_in("agent"));
    }

    #[test]
    fn numeric_host_parts_are_not_words() {
        let id = MachineIdentity::default().with_host_name("build-123.ci");
        assert!(!id.appears_in("run-123"));
        assert!(id.appears_in("build"));
        assert!(id.appears_in("xbuild-123"));
    }

    #[test]
    fn detect_reads_user_host_and_home() {
        let snapshot = env(&[
            ("USER", "ada"),
            ("HOSTNAME", "workbench-7"),
            ("LOGNAME", "al"),
        ]);
        let home = PathBuf::from("/home/ada/projects");
        let id = MachineIdentity::from_sources(&snapshot, None, Some(&home));
        assert!(id.appears_in("ada-build"));
        assert!(id.appears_in("workbench"));
        assert!(id.appears_in("projects"));
        // Generic directories are not names.
        assert!(!id.appears_in("home"));
        // Too short to be matched.
        assert!(!id.appears_in("al"));
    }

    #[test]
    fn detect_reads_username_and_windows_homes() {
        let snapshot = env(&[("USERNAME", "Grace")]);
        let home = PathBuf::from(r"C:\Users\Grace");
        let id = MachineIdentity::from_sources(&snapshot, Some("DESKTOP-QX7"), Some(&home));
        assert!(id.appears_in("grace"));
        assert!(id.appears_in("desktop-qx7-run"));
        assert!(!id.appears_in("users"));
        assert!(!id.appears_in("c"));
    }

    #[test]
    fn root_is_a_name_only_for_the_root_user() {
        let home = PathBuf::from("/root");
        let not_root = MachineIdentity::from_sources(&env(&[("USER", "ada")]), None, Some(&home));
        assert!(!not_root.appears_in("root"));
        let root = MachineIdentity::from_sources(&env(&[("USER", "root")]), None, Some(&home));
        assert!(root.appears_in("root"));
    }

    #[test]
    fn detect_includes_the_system_host_name() {
        let id = MachineIdentity::detect(&EnvSnapshot::empty(), None);
        let host = crate::env::system_host_name()
            .unwrap_or_default()
            .to_lowercase();
        if host.trim().chars().count() >= MIN_NAME_CHARS {
            assert!(id.appears_in(&format!("x{}x", host.trim())));
        } else {
            assert!(!id.appears_in("repro"));
        }
    }

    #[test]
    fn camel_pieces_split_at_case_changes() {
        let pieces: Vec<&str> = camel_pieces("AdaBuild2Error").collect();
        assert_eq!(pieces, ["Ada", "Build2", "Error"]);
        let pieces: Vec<&str> = camel_pieces("HTTPError").collect();
        assert_eq!(pieces, ["HTTPError"]);
    }
}
