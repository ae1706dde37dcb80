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

/// The operating system's host name, if it can be found. On Linux it is read from
/// `/proc/sys/kernel/hostname` (what `gethostname(2)` returns, without a dependency);
/// elsewhere it comes from the `gethostname` crate.
pub fn system_host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        let name = name.trim_end_matches(['\n', '\0']);
        (!name.is_empty()).then(|| name.to_owned())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let name = gethostname::gethostname().to_string_lossy().into_owned();
        (!name.is_empty()).then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_host_name_is_the_kernels() {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer.
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        assert_eq!(r, 0);
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let want = String::from_utf8_lossy(&buf[..end]).into_owned();
        assert_eq!(system_host_name().unwrap_or_default(), want);
    }

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
