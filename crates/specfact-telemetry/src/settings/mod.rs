//! Settings: an environment snapshot and the files under `~/.specfact/` become
//! [`Settings`], every value with the [`Source`] it came from.
//!
//! Precedence, highest first: environment variables, `~/.specfact/telemetry.yaml`,
//! `~/.specfact/telemetry.opt-in` (enabling only), defaults. Test environments and
//! `DO_NOT_TRACK` switch telemetry off whatever else says. Bad input never fails
//! resolution: it leaves a [`Diagnostic`] and the next source or the default is used.
//!
//! # Rules
//!
//! - An environment variable that is set to an empty string (or to whitespace only)
//!   counts as not set, for every variable. A variable whose value is not valid UTF-8
//!   is reported and also counts as not set.
//! - Telemetry is forced off, before anything else is looked at, by `TEST_MODE` set to a
//!   true value ([`is_truthy`]), by `PYTEST_CURRENT_TEST` set to anything, or by
//!   `DO_NOT_TRACK` set to `1`, `true` or `yes`. The other settings are still resolved so
//!   that they can be shown.
//! - `SPECFACT_TELEMETRY_OPT_IN` decides when set: a true value enables, anything else
//!   opts out, whatever the files say. (The reference implementation let an opt-in file
//!   override an explicit false here; we do not.)
//! - Otherwise `enabled: true` in `telemetry.yaml` enables. When it is false or absent,
//!   the opt-in file decides if it exists (so `enabled: false` plus an opt-in file saying
//!   `true` enables, with source `file`, as documented for the original tool).
//! - Each other setting takes the first valid value among the environment,
//!   `telemetry.yaml` and its default. A `null` in the YAML counts as absent. Every present
//!   source is checked, so a bad value is reported even when a higher source overrides it.
//! - Headers are the YAML `headers` mapping with `SPECFACT_TELEMETRY_HEADERS`
//!   (`Name: value, Name2: value2`) merged over it, name by name, ignoring case.
//! - Only the two files are read, each with a size limit; nothing is created. With no
//!   file present, resolution costs two failed `open` calls.
//! - Diagnostics say what is wrong, where, and what was used instead. They never contain
//!   a header value, an endpoint, or any other rejected value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::EnvSnapshot;

mod endpoint;
mod files;
mod headers;
mod resolve;
mod switch;
mod yaml;

pub use endpoint::{EndpointError, MAX_ENDPOINT_LEN, validate_endpoint};
pub use headers::{
    HeaderEntry, HeaderError, is_valid_header_name, is_valid_header_value, parse_header,
    parse_header_list,
};
pub use switch::{FALSE_VALUES, FileSays, OptInFiles, TRUE_VALUES, parse_switch};
pub use yaml::{CONFIG_KEYS, MAX_CONFIG_BYTES};

/// Name of the directory under the home directory that holds telemetry files.
pub const DIR_NAME: &str = ".specfact";
/// File name of the YAML configuration inside [`DIR_NAME`].
pub const CONFIG_FILE: &str = "telemetry.yaml";
/// File name of the legacy opt-in file inside [`DIR_NAME`].
pub const OPT_IN_FILE: &str = "telemetry.opt-in";
/// File name of the default local log inside [`DIR_NAME`].
pub const LOG_FILE: &str = "telemetry.log";

/// Default `service_name`.
pub const DEFAULT_SERVICE_NAME: &str = "specfact-cli";
/// Default `service_namespace`.
pub const DEFAULT_SERVICE_NAMESPACE: &str = "cli";
/// Default `deployment_environment`.
pub const DEFAULT_DEPLOYMENT_ENVIRONMENT: &str = "production";
/// Default `batch_size` (spans per request).
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// Default `batch_timeout`.
pub const DEFAULT_BATCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `export_timeout`.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest accepted `batch_size` (the smallest is 1).
pub const MAX_BATCH_SIZE: usize = 65_536;
/// Largest accepted `batch_timeout` and `export_timeout`, in seconds (they must be more than 0).
pub const MAX_TIMEOUT_SECS: u64 = 3_600;
/// Longest accepted `service_name`, `service_namespace` or `deployment_environment`, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Largest `telemetry.opt-in` that is read, in bytes; a larger file does not opt in.
pub const MAX_OPT_IN_BYTES: usize = 4 * 1024;

/// Where a resolved value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An environment variable (its name).
    Env(&'static str),
    /// `~/.specfact/telemetry.yaml`.
    Config,
    /// `~/.specfact/telemetry.opt-in`.
    File,
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    /// `env:VARIABLE`, `config`, `file` or `default`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(var) => write!(f, "env:{var}"),
            Source::Config => f.write_str("config"),
            Source::File => f.write_str("file"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    /// The value in force.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    /// A value with its source.
    pub fn new(value: T, source: Source) -> Self {
        Setting { value, source }
    }

    /// A default value.
    pub fn default_value(value: T) -> Self {
        Setting {
            value,
            source: Source::Default,
        }
    }
}

/// How telemetry came to be enabled; written into every event as `opt_in_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptInSource {
    /// `SPECFACT_TELEMETRY_OPT_IN`.
    Env,
    /// `enabled:` in `telemetry.yaml`.
    Config,
    /// The `telemetry.opt-in` file.
    File,
    /// Telemetry is off.
    Disabled,
}

impl OptInSource {
    /// `env`, `config`, `file` or `disabled`, as the reference writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OptInSource::Env => "env",
            OptInSource::Config => "config",
            OptInSource::File => "file",
            OptInSource::Disabled => "disabled",
        }
    }
}

impl fmt::Display for OptInSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why telemetry is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisabledReason {
    /// Nothing opted in.
    NotOptedIn,
    /// Explicitly opted out (a false `SPECFACT_TELEMETRY_OPT_IN`, `enabled: false`, or an
    /// opt-in file that says false), at the given source.
    OptedOut(Source),
    /// A test environment was detected through this variable (`TEST_MODE`, `PYTEST_CURRENT_TEST`).
    TestEnvironment(&'static str),
    /// `DO_NOT_TRACK` is set to a true value.
    DoNotTrack,
}

impl DisabledReason {
    /// A stable machine-readable code: `not_opted_in`, `opted_out`, `test_environment`, `do_not_track`.
    pub fn code(&self) -> &'static str {
        match self {
            DisabledReason::NotOptedIn => "not_opted_in",
            DisabledReason::OptedOut(_) => "opted_out",
            DisabledReason::TestEnvironment(_) => "test_environment",
            DisabledReason::DoNotTrack => "do_not_track",
        }
    }
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisabledReason::NotOptedIn => f.write_str("not opted in"),
            DisabledReason::OptedOut(source) => write!(f, "opted out ({source})"),
            DisabledReason::TestEnvironment(var) => write!(f, "test environment ({var} is set)"),
            DisabledReason::DoNotTrack => f.write_str("DO_NOT_TRACK is set"),
        }
    }
}

/// A secret value (a header value): never shown in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it (the HTTP request).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A redacted rendering that keeps an authentication scheme word:
    /// `Bearer abc123` → `Bearer ****`, `abc123` → `****`.
    pub fn redacted(&self) -> String {
        let v = self.0.trim();
        match v.split_once(' ') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme.len() <= 16
                    && scheme.chars().all(|c| c.is_ascii_alphabetic()) =>
            {
                format!("{scheme} ****")
            }
            _ => "****".to_owned(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// One HTTP header sent with every export request.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header name as the user wrote it.
    pub name: String,
    /// Header value; redacted whenever shown.
    pub value: Secret,
    /// Where it came from (`Config` or `Env("SPECFACT_TELEMETRY_HEADERS")`).
    pub source: Source,
}

/// Which headline category a command family's `violations_detected` count towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegressionCategory {
    /// Contract violations (`repro`, `contract`, `enforce`, `analyze` by default).
    ContractViolation,
    /// Plan drift (`plan`, `drift` by default).
    PlanDrift,
}

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(&'static str),
    /// A file, with a 1-based line and column where known.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line, if known.
        line: Option<u64>,
        /// 1-based column, if known.
        column: Option<u64>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::File { path, line, column } => {
                write!(f, "{}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                    if let Some(c) = column {
                        write!(f, ":{c}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A problem found while resolving settings. It never stops resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub origin: Origin,
    /// What is wrong and what was used instead. Never contains a secret.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// The two files settings are read from, when a host names them itself
/// (see [`Settings::resolve_with_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsFiles {
    /// The YAML configuration (normally `~/.specfact/telemetry.yaml`).
    pub config: PathBuf,
    /// The opt-in file (normally `~/.specfact/telemetry.opt-in`).
    pub opt_in: PathBuf,
}

/// The resolved telemetry settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Whether telemetry records anything.
    pub enabled: bool,
    /// How it was enabled (`Disabled` when off).
    pub opt_in_source: OptInSource,
    /// Why it is off; `None` when enabled.
    pub disabled_reason: Option<DisabledReason>,
    /// Where `enabled` came from (the variable, file or default that decided it).
    pub enabled_source: Source,
    /// OTLP/HTTP traces endpoint; `None` means local only.
    pub endpoint: Setting<Option<String>>,
    /// Headers sent with export requests, environment merged over YAML, name by name.
    pub headers: Vec<Header>,
    /// `service.name` resource attribute.
    pub service_name: Setting<String>,
    /// `service.namespace` resource attribute.
    pub service_namespace: Setting<String>,
    /// `deployment.environment` resource attribute.
    pub deployment_environment: Setting<String>,
    /// Maximum spans per export request.
    pub batch_size: Setting<usize>,
    /// Maximum wait before a partial batch is sent by long-running hosts.
    pub batch_timeout: Setting<Duration>,
    /// Timeout of one export request.
    pub export_timeout: Setting<Duration>,
    /// Whether debug output goes to stderr.
    pub debug: Setting<bool>,
    /// The local JSON Lines log; `None` when it cannot be determined (no home directory).
    pub local_path: Setting<Option<PathBuf>>,
    /// Whether headers may be sent over plain http to a non-loopback host.
    pub allow_insecure_http: Setting<bool>,
    /// Command family → headline category, for reports.
    pub regression_categories: Setting<BTreeMap<String, RegressionCategory>>,
    /// `~/.specfact`, if there is a home directory.
    pub config_dir: Option<PathBuf>,
    /// Problems found while resolving. Never contain secrets.
    pub diagnostics: Vec<Diagnostic>,
}

impl Settings {
    /// Resolves settings from an environment snapshot and a home directory.
    ///
    /// Reads only `home/.specfact/telemetry.yaml` and `home/.specfact/telemetry.opt-in`;
    /// creates nothing. Never fails: every problem becomes a [`Diagnostic`]. The rules are
    /// in the [module documentation](self).
    pub fn resolve(env: &EnvSnapshot, home: Option<&Path>) -> Settings {
        resolve::resolve(env, home, None)
    }

    /// Like [`Settings::resolve`], but reads the YAML configuration and the opt-in file
    /// from the given paths instead of `home/.specfact/` (for hosts whose own tests point
    /// them elsewhere). The home directory still gives the default local log and `~`.
    pub fn resolve_with_files(
        env: &EnvSnapshot,
        home: Option<&Path>,
        files: &SettingsFiles,
    ) -> Settings {
        resolve::resolve(env, home, Some(files))
    }

    /// Resolves settings from the current process environment and `$HOME`.
    pub fn from_process_env() -> Settings {
        let env = EnvSnapshot::from_process();
        let home = env.home();
        Settings::resolve(&env, home.as_deref())
    }

    /// Path of `telemetry.yaml`, if there is a home directory.
    pub fn config_path(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join(CONFIG_FILE))
    }

    /// Path of `telemetry.opt-in`, if there is a home directory.
    pub fn opt_in_path(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join(OPT_IN_FILE))
    }

    /// The two files that can opt in and what each says (read now, from disk), if
    /// there is a home directory.
    pub fn opt_in_files(&self) -> Option<OptInFiles> {
        self.config_dir.as_deref().map(OptInFiles::read)
    }
}

/// The default family → category map used for reports.
pub fn default_regression_categories() -> BTreeMap<String, RegressionCategory> {
    [
        ("repro", RegressionCategory::ContractViolation),
        ("contract", RegressionCategory::ContractViolation),
        ("enforce", RegressionCategory::ContractViolation),
        ("analyze", RegressionCategory::ContractViolation),
        ("plan", RegressionCategory::PlanDrift),
        ("drift", RegressionCategory::PlanDrift),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Whether a string is truthy the way the reference reads it: `1 true yes y on`,
/// trimmed, case-insensitive.
pub fn is_truthy(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "y" | "on"
    )
}
