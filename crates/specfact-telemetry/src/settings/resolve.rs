//! The resolution itself: each setting walks its sources in order (environment, then
//! `telemetry.yaml`, then the default) and keeps the first valid value. Every present
//! source is checked, so a bad value is reported even when a higher source overrides it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::endpoint::{EndpointError, validate_endpoint};
use super::files::{FileRead, describe_io_error, read_bounded};
use super::headers::{
    HeaderError, check_header, header, is_valid_header_name, merge_header, parse_header_list,
};
use super::switch::{SwitchError, parse_switch, unrecognized, yaml_switch};
use super::yaml::{self, ConfigFile};
use super::{
    CONFIG_FILE, DEFAULT_BATCH_SIZE, DEFAULT_BATCH_TIMEOUT, DEFAULT_DEPLOYMENT_ENVIRONMENT,
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_SERVICE_NAME, DEFAULT_SERVICE_NAMESPACE, DIR_NAME, Diagnostic,
    DisabledReason, Header, LOG_FILE, MAX_BATCH_SIZE, MAX_NAME_CHARS, MAX_OPT_IN_BYTES,
    MAX_TIMEOUT_SECS, OPT_IN_FILE, OptInSource, Origin, RegressionCategory, Setting, Settings,
    Source, default_regression_categories, is_truthy,
};
use crate::env::{EnvSnapshot, NotUnicode};

const OPT_IN: &str = "SPECFACT_TELEMETRY_OPT_IN";
const ENDPOINT: &str = "SPECFACT_TELEMETRY_ENDPOINT";
const HEADERS: &str = "SPECFACT_TELEMETRY_HEADERS";
const LOCAL_PATH: &str = "SPECFACT_TELEMETRY_LOCAL_PATH";
const SERVICE_NAME: &str = "SPECFACT_TELEMETRY_SERVICE_NAME";
const SERVICE_NAMESPACE: &str = "SPECFACT_TELEMETRY_SERVICE_NAMESPACE";
const DEPLOYMENT_ENVIRONMENT: &str = "SPECFACT_TELEMETRY_DEPLOYMENT_ENVIRONMENT";
const BATCH_SIZE: &str = "SPECFACT_TELEMETRY_BATCH_SIZE";
const BATCH_TIMEOUT: &str = "SPECFACT_TELEMETRY_BATCH_TIMEOUT";
const EXPORT_TIMEOUT: &str = "SPECFACT_TELEMETRY_EXPORT_TIMEOUT";
const DEBUG: &str = "SPECFACT_TELEMETRY_DEBUG";
const ALLOW_INSECURE_HTTP: &str = "SPECFACT_TELEMETRY_ALLOW_INSECURE_HTTP";
const TEST_MODE: &str = "TEST_MODE";
const PYTEST_CURRENT_TEST: &str = "PYTEST_CURRENT_TEST";
const DO_NOT_TRACK: &str = "DO_NOT_TRACK";

const NOT_SET: &str = "treated as not set";

/// What is wrong with one value. The messages describe the problem, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValueError {
    #[error("is not valid UTF-8")]
    NotUnicode,
    #[error("must be {expected}, not {found}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    #[error("is not a whole number")]
    NotWholeNumber,
    #[error("is outside the accepted range {min} to {max}")]
    OutOfRange { min: u64, max: u64 },
    #[error("is not a number of seconds")]
    NotSeconds,
    #[error("must be more than 0 and at most {MAX_TIMEOUT_SECS} seconds")]
    SecondsOutOfRange,
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("contains a control character")]
    Control,
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    #[error("starts with `~` but there is no home directory to expand it with")]
    TildeWithoutHome,
    #[error("starts with `~name`, which is not expanded (only `~` and `~/` are)")]
    TildeUser,
    #[error(
        "is a relative path, and there is no home directory to take it from \
         (relative paths are taken from ~/.specfact, never from the current directory)"
    )]
    RelativeWithoutHome,
}

impl From<NotUnicode> for ValueError {
    fn from(_: NotUnicode) -> Self {
        ValueError::NotUnicode
    }
}

/// The outcome of the `enabled` decision.
struct Enabled {
    enabled: bool,
    opt_in_source: OptInSource,
    disabled_reason: Option<DisabledReason>,
    enabled_source: Source,
}

impl Enabled {
    fn on(opt_in_source: OptInSource, source: Source) -> Self {
        Enabled {
            enabled: true,
            opt_in_source,
            disabled_reason: None,
            enabled_source: source,
        }
    }

    fn off(reason: DisabledReason) -> Self {
        let enabled_source = match &reason {
            DisabledReason::NotOptedIn => Source::Default,
            DisabledReason::OptedOut(source) => *source,
            DisabledReason::TestEnvironment(var) => Source::Env(var),
            DisabledReason::DoNotTrack => Source::Env(DO_NOT_TRACK),
        };
        Enabled {
            enabled: false,
            opt_in_source: OptInSource::Disabled,
            disabled_reason: Some(reason),
            enabled_source,
        }
    }
}

/// A value that could not be used, waiting to learn what was used instead.
struct Rejected {
    origin: Origin,
    subject: String,
    problem: ValueError,
}

struct Resolver<'a> {
    env: &'a EnvSnapshot,
    home: Option<&'a Path>,
    config: Option<ConfigFile>,
    diagnostics: Vec<Diagnostic>,
}

pub(super) fn resolve(
    env: &EnvSnapshot,
    home: Option<&Path>,
    files: Option<&super::SettingsFiles>,
) -> Settings {
    let config_dir = home.map(|h| h.join(DIR_NAME));
    let mut diagnostics = Vec::new();
    let (config_file, opt_in_file) = match files {
        Some(f) => (Some(f.config.clone()), Some(f.opt_in.clone())),
        None => {
            // One stat answers the commonest case, a machine that never opted in: without a
            // `~/.specfact` neither file can exist, and two failed opens cost three times more.
            // Anything but "not found" (e.g. `.specfact` is a file) goes on to the reads, which
            // report it.
            let files_dir = config_dir.as_deref().filter(|dir| {
                std::fs::metadata(dir)
                    .map_or_else(|e| e.kind() != std::io::ErrorKind::NotFound, |_| true)
            });
            (
                files_dir.map(|dir| dir.join(CONFIG_FILE)),
                files_dir.map(|dir| dir.join(OPT_IN_FILE)),
            )
        }
    };
    let config = config_file
        .as_deref()
        .and_then(|path| yaml::load(path, &mut diagnostics));
    let mut r = Resolver {
        env,
        home,
        config,
        diagnostics,
    };

    let decision = r.enabled(opt_in_file.as_deref());
    let endpoint = r.setting(
        ENDPOINT,
        "endpoint",
        endpoint_value,
        |value| endpoint_value(yaml_str(value)?),
        None,
        || "no endpoint, events stay in the local log".to_owned(),
    );
    let headers = r.headers();
    let service_name = r.name_setting(SERVICE_NAME, "service_name", DEFAULT_SERVICE_NAME);
    let service_namespace = r.name_setting(
        SERVICE_NAMESPACE,
        "service_namespace",
        DEFAULT_SERVICE_NAMESPACE,
    );
    let deployment_environment = r.name_setting(
        DEPLOYMENT_ENVIRONMENT,
        "deployment_environment",
        DEFAULT_DEPLOYMENT_ENVIRONMENT,
    );
    let batch_size = r.setting(
        BATCH_SIZE,
        "batch_size",
        parse_batch_size,
        yaml_batch_size,
        DEFAULT_BATCH_SIZE,
        || DEFAULT_BATCH_SIZE.to_string(),
    );
    let batch_timeout = r.seconds_setting(BATCH_TIMEOUT, "batch_timeout", DEFAULT_BATCH_TIMEOUT);
    let export_timeout =
        r.seconds_setting(EXPORT_TIMEOUT, "export_timeout", DEFAULT_EXPORT_TIMEOUT);
    let debug = r.flag_setting(DEBUG, "debug");
    let local_path = r.local_path(config_dir.as_deref());
    let allow_insecure_http = r.flag_setting(ALLOW_INSECURE_HTTP, "allow_insecure_http");
    let regression_categories = r.regression_categories();

    Settings {
        enabled: decision.enabled,
        opt_in_source: decision.opt_in_source,
        disabled_reason: decision.disabled_reason,
        enabled_source: decision.enabled_source,
        endpoint,
        headers,
        service_name,
        service_namespace,
        deployment_environment,
        batch_size,
        batch_timeout,
        export_timeout,
        debug,
        local_path,
        allow_insecure_http,
        regression_categories,
        config_dir,
        diagnostics: r.diagnostics,
    }
}

impl<'a> Resolver<'a> {
    fn report(&mut self, origin: Origin, message: String) {
        self.diagnostics.push(Diagnostic { origin, message });
    }

    /// The value of `var`; `None` when unset or empty (whitespace only counts as empty).
    fn env_value(&self, var: &'static str) -> Option<Result<&'a str, ValueError>> {
        match self.env.get(var)? {
            Ok(value) if value.trim().is_empty() => None,
            Ok(value) => Some(Ok(value)),
            Err(e) => Some(Err(e.into())),
        }
    }

    /// Like [`Self::env_value`] for variables that only switch something: a problem is
    /// reported at once and the variable is treated as not set.
    fn env_switch(&mut self, var: &'static str) -> Option<&'a str> {
        match self.env_value(var)? {
            Ok(value) => Some(value),
            Err(problem) => {
                self.report(Origin::Env(var), format!("the value {problem}; {NOT_SET}"));
                None
            }
        }
    }

    /// Where entry `key` of the mapping under `parent` is written (or `fallback`).
    fn entry_origin(&self, parent: &str, key: &str, fallback: &Origin) -> Origin {
        self.config
            .as_ref()
            .and_then(|c| c.entry_origin(parent, key))
            .unwrap_or_else(|| fallback.clone())
    }

    fn yaml_entry(&self, key: &str) -> Option<(&Value, Origin)> {
        self.config.as_ref().and_then(|c| c.get(key))
    }

    fn enabled(&mut self, opt_in_file: Option<&Path>) -> Enabled {
        let test_mode = self.env_switch(TEST_MODE).is_some_and(is_truthy);
        let pytest = self
            .env
            .get_os(PYTEST_CURRENT_TEST)
            .is_some_and(|v| !v.is_empty());
        let do_not_track = self.env_switch(DO_NOT_TRACK).is_some_and(|v| {
            let v = v.trim();
            ["1", "true", "yes"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t))
        });
        let env_opt_in = self.env_switch(OPT_IN).map(|raw| {
            parse_switch(raw).unwrap_or_else(|| {
                let message = unrecognized("the value", raw, "false: telemetry is off");
                self.report(Origin::Env(OPT_IN), message);
                false
            })
        });
        let yaml_enabled = match self.yaml_entry("enabled") {
            None => None,
            Some((value, origin)) => match yaml_switch(value) {
                Ok(b) => Some(b),
                Err(SwitchError::Unrecognized(raw)) => {
                    let taken = "false (the opt-in file decides)";
                    self.report(origin, unrecognized("`enabled`", &raw, taken));
                    Some(false)
                }
                Err(SwitchError::WrongType(found)) => {
                    self.report(
                        origin,
                        format!("`enabled` must be true or false, not {found}; {NOT_SET}"),
                    );
                    None
                }
            },
        };

        if test_mode {
            return Enabled::off(DisabledReason::TestEnvironment(TEST_MODE));
        }
        if pytest {
            return Enabled::off(DisabledReason::TestEnvironment(PYTEST_CURRENT_TEST));
        }
        if do_not_track {
            return Enabled::off(DisabledReason::DoNotTrack);
        }
        match env_opt_in {
            Some(true) => return Enabled::on(OptInSource::Env, Source::Env(OPT_IN)),
            Some(false) => return Enabled::off(DisabledReason::OptedOut(Source::Env(OPT_IN))),
            None => {}
        }
        if yaml_enabled == Some(true) {
            return Enabled::on(OptInSource::Config, Source::Config);
        }
        match opt_in_file.and_then(|path| self.opt_in_file(path)) {
            Some(true) => Enabled::on(OptInSource::File, Source::File),
            Some(false) => Enabled::off(DisabledReason::OptedOut(Source::File)),
            None if yaml_enabled == Some(false) => {
                Enabled::off(DisabledReason::OptedOut(Source::Config))
            }
            None => Enabled::off(DisabledReason::NotOptedIn),
        }
    }

    /// `None` when the opt-in file is absent; otherwise whether it says yes. A file that
    /// cannot be used says no.
    fn opt_in_file(&mut self, path: &Path) -> Option<bool> {
        let origin = || Origin::File {
            path: path.to_path_buf(),
            line: None,
            column: None,
        };
        const NO: &str = "treated as not opting in";
        let problem = match read_bounded(path, MAX_OPT_IN_BYTES) {
            FileRead::Absent => return None,
            FileRead::Bytes(bytes) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                    if let Some(says) = parse_switch(text) {
                        return Some(says);
                    }
                    unrecognized("its content", text, "false (not opting in)")
                }
                Err(_) => format!("is not UTF-8 text; {NO}"),
            },
            FileRead::TooLarge => format!("is larger than {MAX_OPT_IN_BYTES} bytes; {NO}"),
            FileRead::Unreadable(e) => {
                format!("cannot be read ({}); {NO}", describe_io_error(&e))
            }
        };
        self.report(origin(), problem);
        Some(false)
    }

    /// Environment, then YAML, then the default; every present source is checked.
    fn setting<T>(
        &mut self,
        var: &'static str,
        key: &'static str,
        from_env: impl Fn(&str) -> Result<T, ValueError>,
        from_yaml: impl Fn(&Value) -> Result<T, ValueError>,
        default: T,
        default_text: impl FnOnce() -> String,
    ) -> Setting<T> {
        let mut rejected = Vec::new();
        let mut chosen = None;
        match self.env_value(var) {
            None => {}
            Some(raw) => match raw.and_then(&from_env) {
                Ok(value) => chosen = Some(Setting::new(value, Source::Env(var))),
                Err(problem) => rejected.push(Rejected {
                    origin: Origin::Env(var),
                    subject: "the value".to_owned(),
                    problem,
                }),
            },
        }
        if let Some((value, origin)) = self.yaml_entry(key) {
            match from_yaml(value) {
                Ok(value) => {
                    chosen.get_or_insert(Setting::new(value, Source::Config));
                }
                Err(problem) => rejected.push(Rejected {
                    origin,
                    subject: format!("`{key}`"),
                    problem,
                }),
            }
        }
        let setting = chosen.unwrap_or_else(|| Setting::default_value(default));
        if rejected.is_empty() {
            return setting;
        }
        let instead = instead(setting.source, default_text);
        for r in rejected {
            self.report(r.origin, format!("{} {}; {instead}", r.subject, r.problem));
        }
        setting
    }

    fn name_setting(
        &mut self,
        var: &'static str,
        key: &'static str,
        default: &str,
    ) -> Setting<String> {
        self.setting(
            var,
            key,
            name_value,
            |value| name_value(yaml_str(value)?),
            default.to_owned(),
            || format!("`{default}`"),
        )
    }

    fn seconds_setting(
        &mut self,
        var: &'static str,
        key: &'static str,
        default: Duration,
    ) -> Setting<Duration> {
        self.setting(var, key, parse_seconds, yaml_seconds, default, || {
            format!("{} seconds", default.as_secs_f64())
        })
    }

    fn flag_setting(&mut self, var: &'static str, key: &'static str) -> Setting<bool> {
        self.setting(
            var,
            key,
            |raw| Ok(is_truthy(raw)),
            yaml_bool,
            false,
            || "false".to_owned(),
        )
    }

    fn local_path(&mut self, config_dir: Option<&Path>) -> Setting<Option<PathBuf>> {
        let home = self.home;
        let default = config_dir.map(|dir| dir.join(LOG_FILE));
        let default_text = || match config_dir {
            Some(dir) => dir.join(LOG_FILE).display().to_string(),
            None => "no local log, as there is no home directory".to_owned(),
        };
        self.setting(
            LOCAL_PATH,
            "local_path",
            |raw| log_path(raw, home, config_dir).map(Some),
            |value| log_path(yaml_str(value)?, home, config_dir).map(Some),
            default,
            default_text,
        )
    }

    fn headers(&mut self) -> Vec<Header> {
        let mut headers = Vec::new();
        if let Some((value, origin)) = self.yaml_entry("headers") {
            let origin = origin.clone();
            match value {
                Value::Object(map) => {
                    let mut problems = Vec::new();
                    for (raw_name, value) in map {
                        let name = raw_name.trim();
                        let checked = yaml_header_value(value)
                            .and_then(|v| check_header(name, &v).map(|()| v));
                        let at = || self.entry_origin("headers", raw_name, &origin);
                        match checked {
                            Ok(v) => merge_header(
                                &mut headers,
                                header(name.to_owned(), v, Source::Config),
                            ),
                            Err(e) if is_valid_header_name(name) => {
                                problems
                                    .push((at(), format!("header `{name}` {e}; it is not sent")));
                            }
                            Err(e) => {
                                problems.push((
                                    at(),
                                    format!("a header in `headers` {e}; it is not sent"),
                                ));
                            }
                        }
                    }
                    for (at, message) in problems {
                        self.report(at, message);
                    }
                }
                other => {
                    let found = kind(other);
                    self.report(
                        origin,
                        format!(
                            "`headers` must be a mapping of header names to values, not {found}; \
                             no headers are taken from {CONFIG_FILE}"
                        ),
                    );
                }
            }
        }
        match self.env_value(HEADERS) {
            None => {}
            Some(Err(problem)) => self.report(
                Origin::Env(HEADERS),
                format!("the value {problem}; no headers are taken from it"),
            ),
            Some(Ok(raw)) => {
                for entry in parse_header_list(raw) {
                    match entry.parsed {
                        Ok((name, value)) => {
                            merge_header(&mut headers, header(name, value, Source::Env(HEADERS)));
                        }
                        Err(e) => self.report(
                            Origin::Env(HEADERS),
                            format!("entry {} {e}; it is not sent", entry.position),
                        ),
                    }
                }
            }
        }
        headers
    }

    fn regression_categories(&mut self) -> Setting<BTreeMap<String, RegressionCategory>> {
        let mut categories = default_regression_categories();
        let Some((value, origin)) = self.yaml_entry("regression_categories") else {
            return Setting::default_value(categories);
        };
        let origin = origin.clone();
        let Value::Object(map) = value else {
            let found = kind(value);
            self.report(
                origin,
                format!(
                    "`regression_categories` must be a mapping of command family to \
                     `contract` or `drift`, not {found}; using the default categories"
                ),
            );
            return Setting::default_value(categories);
        };
        let mut problems = Vec::new();
        for (family, category) in map {
            let at = || self.entry_origin("regression_categories", family, &origin);
            if !is_family_name(family) {
                problems.push((
                    at(),
                    "a command family in `regression_categories` is not a lowercase name \
                     (letters, digits, `-`, `_`); that entry is ignored"
                        .to_owned(),
                ));
                continue;
            }
            match category.as_str().and_then(parse_category) {
                Some(c) => {
                    categories.insert(family.clone(), c);
                }
                None => problems.push((
                    at(),
                    format!(
                        "`regression_categories.{family}` must be `contract` or `drift`; \
                         that entry is ignored"
                    ),
                )),
            }
        }
        for (at, message) in problems {
            self.report(at, message);
        }
        Setting::new(categories, Source::Config)
    }
}

fn instead(source: Source, default_text: impl FnOnce() -> String) -> String {
    match source {
        Source::Env(var) => format!("using the value of {var}"),
        Source::Config => format!("using the value from {CONFIG_FILE}"),
        Source::File => format!("using {OPT_IN_FILE}"),
        Source::Default => format!("using the default ({})", default_text()),
    }
}

/// A name for the YAML type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn yaml_str(value: &Value) -> Result<&str, ValueError> {
    value.as_str().ok_or(ValueError::WrongType {
        expected: "text",
        found: kind(value),
    })
}

/// A YAML bool, or text read the way the reference reads it.
fn yaml_bool(value: &Value) -> Result<bool, ValueError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => Ok(is_truthy(s)),
        other => Err(ValueError::WrongType {
            expected: "true or false",
            found: kind(other),
        }),
    }
}

fn yaml_header_value(value: &Value) -> Result<String, HeaderError> {
    match value {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(HeaderError::EmptyValue),
        Value::Array(_) | Value::Object(_) => Err(HeaderError::NotText),
    }
}

fn endpoint_value(raw: &str) -> Result<Option<String>, ValueError> {
    let endpoint = raw.trim();
    validate_endpoint(endpoint)?;
    Ok(Some(endpoint.to_owned()))
}

fn name_value(raw: &str) -> Result<String, ValueError> {
    let name = raw.trim();
    if name.is_empty() {
        Err(ValueError::Empty)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(ValueError::TooLong)
    } else if name.chars().any(char::is_control) {
        Err(ValueError::Control)
    } else {
        Ok(name.to_owned())
    }
}

const BATCH_RANGE: ValueError = ValueError::OutOfRange {
    min: 1,
    max: MAX_BATCH_SIZE as u64,
};

fn parse_batch_size(raw: &str) -> Result<usize, ValueError> {
    let raw = raw.trim();
    match raw.parse::<u64>() {
        Ok(n) => batch_size_in_range(n),
        Err(_) if raw.parse::<i64>().is_ok() => Err(BATCH_RANGE),
        Err(_) => Err(ValueError::NotWholeNumber),
    }
}

fn batch_size_in_range(n: u64) -> Result<usize, ValueError> {
    match usize::try_from(n) {
        Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => Ok(n),
        _ => Err(BATCH_RANGE),
    }
}

fn yaml_batch_size(value: &Value) -> Result<usize, ValueError> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(n), _) => batch_size_in_range(n),
            (None, Some(f)) if f.fract() == 0.0 && f.is_finite() => {
                if (1.0..=MAX_BATCH_SIZE as f64).contains(&f) {
                    // In range, so the conversion is exact.
                    batch_size_in_range(f as u64)
                } else {
                    Err(BATCH_RANGE)
                }
            }
            _ => Err(ValueError::NotWholeNumber),
        },
        Value::String(s) => parse_batch_size(s),
        other => Err(ValueError::WrongType {
            expected: "a whole number",
            found: kind(other),
        }),
    }
}

fn parse_seconds(raw: &str) -> Result<Duration, ValueError> {
    let seconds = raw
        .trim()
        .parse::<f64>()
        .map_err(|_| ValueError::NotSeconds)?;
    seconds_in_range(seconds)
}

fn seconds_in_range(seconds: f64) -> Result<Duration, ValueError> {
    if !seconds.is_finite() {
        return Err(ValueError::NotSeconds);
    }
    if seconds <= 0.0 || seconds > MAX_TIMEOUT_SECS as f64 {
        return Err(ValueError::SecondsOutOfRange);
    }
    let duration = Duration::from_secs_f64(seconds);
    if duration.is_zero() {
        return Err(ValueError::SecondsOutOfRange);
    }
    Ok(duration)
}

fn yaml_seconds(value: &Value) -> Result<Duration, ValueError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .ok_or(ValueError::NotSeconds)
            .and_then(seconds_in_range),
        Value::String(s) => parse_seconds(s),
        other => Err(ValueError::WrongType {
            expected: "a number of seconds",
            found: kind(other),
        }),
    }
}

/// The log's path: `~` expanded, and a relative path taken relative to `~/.specfact`, so
/// the log never lands in whatever directory the host happens to run in.
fn log_path(
    raw: &str,
    home: Option<&Path>,
    config_dir: Option<&Path>,
) -> Result<PathBuf, ValueError> {
    let path = expand_path(raw, home)?;
    if path.is_absolute() {
        return Ok(path);
    }
    match config_dir {
        Some(dir) => Ok(dir.join(path)),
        None => Err(ValueError::RelativeWithoutHome),
    }
}

/// Expands `~` and `~/…` with `home`; other paths are used as written.
fn expand_path(raw: &str, home: Option<&Path>) -> Result<PathBuf, ValueError> {
    if raw.chars().any(char::is_control) {
        return Err(ValueError::Control);
    }
    let Some(after_tilde) = raw.strip_prefix('~') else {
        return Ok(PathBuf::from(raw));
    };
    let rest = if after_tilde.is_empty() {
        None
    } else if let Some(rest) = after_tilde.strip_prefix(['/', std::path::MAIN_SEPARATOR]) {
        Some(rest)
    } else {
        return Err(ValueError::TildeUser);
    };
    let home = home.ok_or(ValueError::TildeWithoutHome)?;
    Ok(match rest {
        Some(rest) if !rest.is_empty() => home.join(rest),
        _ => home.to_path_buf(),
    })
}

fn is_family_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn parse_category(text: &str) -> Option<RegressionCategory> {
    match text.trim() {
        "contract" | "contract_violation" => Some(RegressionCategory::ContractViolation),
        "drift" | "plan_drift" => Some(RegressionCategory::PlanDrift),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes() {
        assert_eq!(parse_batch_size(" 1024 "), Ok(1024));
        assert_eq!(parse_batch_size("1"), Ok(1));
        assert_eq!(parse_batch_size("65536"), Ok(65536));
        assert_eq!(parse_batch_size("65537"), Err(BATCH_RANGE));
        assert_eq!(parse_batch_size("0"), Err(BATCH_RANGE));
        assert_eq!(parse_batch_size("-5"), Err(BATCH_RANGE));
        assert_eq!(parse_batch_size("lots"), Err(ValueError::NotWholeNumber));
        assert_eq!(parse_batch_size("512.5"), Err(ValueError::NotWholeNumber));
        assert_eq!(yaml_batch_size(&serde_json::json!(2048)), Ok(2048));
        assert_eq!(yaml_batch_size(&serde_json::json!(100.0)), Ok(100));
        assert_eq!(yaml_batch_size(&serde_json::json!(-3)), Err(BATCH_RANGE));
        assert_eq!(yaml_batch_size(&serde_json::json!(1e12)), Err(BATCH_RANGE));
        assert_eq!(
            yaml_batch_size(&serde_json::json!(2.5)),
            Err(ValueError::NotWholeNumber)
        );
        assert_eq!(yaml_batch_size(&serde_json::json!("64")), Ok(64));
        assert_eq!(
            yaml_batch_size(&serde_json::json!([1])),
            Err(ValueError::WrongType {
                expected: "a whole number",
                found: "a list"
            })
        );
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_seconds(" 3600 "), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_seconds("3600.5"), Err(ValueError::SecondsOutOfRange));
        assert_eq!(parse_seconds("0"), Err(ValueError::SecondsOutOfRange));
        assert_eq!(parse_seconds("-1"), Err(ValueError::SecondsOutOfRange));
        assert_eq!(parse_seconds("1e-300"), Err(ValueError::SecondsOutOfRange));
        assert_eq!(parse_seconds("NaN"), Err(ValueError::NotSeconds));
        assert_eq!(parse_seconds("inf"), Err(ValueError::NotSeconds));
        assert_eq!(parse_seconds("5s"), Err(ValueError::NotSeconds));
        assert_eq!(
            yaml_seconds(&serde_json::json!(15)),
            Ok(Duration::from_secs(15))
        );
        assert_eq!(
            yaml_seconds(&serde_json::json!(true)),
            Err(ValueError::WrongType {
                expected: "a number of seconds",
                found: "true/false"
            })
        );
    }

    #[test]
    fn paths_expand_the_home_directory_only() {
        let home = Path::new("/home/ada");
        assert_eq!(expand_path("~", Some(home)), Ok(home.to_path_buf()));
        assert_eq!(expand_path("~/", Some(home)), Ok(home.to_path_buf()));
        assert_eq!(
            expand_path("~/logs/t.log", Some(home)),
            Ok(home.join("logs/t.log"))
        );
        assert_eq!(
            expand_path("/var/log/t.log", None),
            Ok(PathBuf::from("/var/log/t.log"))
        );
        assert_eq!(
            expand_path("rel/~/t.log", None),
            Ok(PathBuf::from("rel/~/t.log"))
        );
        assert_eq!(
            expand_path("~/t.log", None),
            Err(ValueError::TildeWithoutHome)
        );
        assert_eq!(
            expand_path("~bob/t.log", Some(home)),
            Err(ValueError::TildeUser)
        );
        assert_eq!(expand_path("a\nb", Some(home)), Err(ValueError::Control));
    }

    #[test]
    fn relative_log_paths_are_taken_from_the_specfact_directory() {
        let home = Path::new("/home/ada");
        let dir = home.join(".specfact");
        assert_eq!(
            log_path("relative.log", Some(home), Some(&dir)),
            Ok(dir.join("relative.log"))
        );
        assert_eq!(
            log_path("logs/t.log", Some(home), Some(&dir)),
            Ok(dir.join("logs/t.log"))
        );
        assert_eq!(
            log_path("~/t.log", Some(home), Some(&dir)),
            Ok(home.join("t.log"))
        );
        assert_eq!(
            log_path("/var/log/t.log", None, None),
            Ok(PathBuf::from("/var/log/t.log"))
        );
        assert_eq!(
            log_path("relative.log", None, None),
            Err(ValueError::RelativeWithoutHome)
        );
    }

    #[test]
    fn names_and_categories() {
        assert_eq!(name_value("  my-cli "), Ok("my-cli".to_owned()));
        assert_eq!(
            name_value(&"x".repeat(MAX_NAME_CHARS)).map(|s| s.len()),
            Ok(128)
        );
        assert_eq!(
            name_value(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(ValueError::TooLong)
        );
        assert_eq!(name_value("a\u{1b}[31m"), Err(ValueError::Control));
        assert!(is_family_name("import"));
        assert!(is_family_name("fix-prompt_2"));
        assert!(!is_family_name("Plan"));
        assert!(!is_family_name("2fa"));
        assert!(!is_family_name("a.b"));
        assert_eq!(
            parse_category("plan_drift"),
            Some(RegressionCategory::PlanDrift)
        );
        assert_eq!(
            parse_category("contract"),
            Some(RegressionCategory::ContractViolation)
        );
        assert_eq!(parse_category("Contract"), None);
    }
}
