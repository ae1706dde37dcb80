//! A snapshot of the environment variables telemetry reads.
//!
//! Settings resolution is a pure function of an [`EnvSnapshot`] and a home
//! directory: the process environment is read once, at the edge, and tests build
//! snapshots instead of mutating the real environment.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Every environment variable name the library reads.
pub const KNOWN_VARIABLES: &[&str] = &[
    "SPECFACT_TELEMETRY_OPT_IN",
    "SPECFACT_TELEMETRY_ENDPOINT",
    "SPECFACT_TELEMETRY_HEADERS",
    "SPECFACT_TELEMETRY_LOCAL_PATH",
    "SPECFACT_TELEMETRY_SERVICE_NAME",
    "SPECFACT_TELEMETRY_SERVICE_NAMESPACE",
    "SPECFACT_TELEMETRY_DEPLOYMENT_ENVIRONMENT",
    "SPECFACT_TELEMETRY_BATCH_SIZE",
    "SPECFACT_TELEMETRY_BATCH_TIMEOUT",
    "SPECFACT_TELEMETRY_EXPORT_TIMEOUT",
    "SPECFACT_TELEMETRY_DEBUG",
    "SPECFACT_TELEMETRY_ALLOW_INSECURE_HTTP",
    "TEST_MODE",
    "PYTEST_CURRENT_TEST",
    "DO_NOT_TRACK",
    "HOME",
    "USER",
    "LOGNAME",
    "USERNAME",
    "HOSTNAME",
];

/// An immutable copy of the environment variables that matter to telemetry.
///
/// Values are kept as [`OsString`] so that a variable that is not valid UTF-8 can be
/// reported instead of silently ignored or crashing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSnapshot {
    vars: BTreeMap<OsString, OsString>,
}

impl EnvSnapshot {
    /// Reads the [`KNOWN_VARIABLES`] from the current process environment.
    pub fn from_process() -> Self {
        let vars = KNOWN_VARIABLES
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|v| (OsString::from(name), v)))
            .collect();
        EnvSnapshot { vars }
    }

    /// An empty snapshot: no variable is set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a snapshot from name/value pairs (for tests and embedding hosts).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        EnvSnapshot {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Returns a copy with `name` set to `value`.
    pub fn with(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// The raw value of `name`, if set.
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// The value of `name` as UTF-8: `None` if unset, `Some(Err(()))` if set but not UTF-8.
    pub fn get(&self, name: &str) -> Option<Result<&str, NotUnicode>> {
        self.get_os(name).map(|v| v.to_str().ok_or(NotUnicode))
    }

    /// The home directory from `HOME`, if set and not empty.
    pub fn home(&self) -> Option<PathBuf> {
        self.get_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    }

    /// Iterates over every variable in the snapshot.
    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

/// The marker error of [`EnvSnapshot::get`]: the variable is set but is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUnicode;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn snapshot_reports_non_unicode_values() {
        use std::os::unix::ffi::OsStringExt;
        let env = EnvSnapshot::empty()
            .with(
                "SPECFACT_TELEMETRY_DEBUG",
                OsString::from_vec(vec![0xff, 0xfe]),
            )
            .with("HOME", "/home/ada");
        assert_eq!(env.get("SPECFACT_TELEMETRY_DEBUG"), Some(Err(NotUnicode)));
        assert_eq!(env.get("SPECFACT_TELEMETRY_OPT_IN"), None);
        assert_eq!(env.home(), Some(PathBuf::from("/home/ada")));
        assert_eq!(EnvSnapshot::empty().with("HOME", "").home(), None);
    }
}
