//! How `Settings::resolve` picks each value: environment over `telemetry.yaml` over the
//! opt-in file over defaults, the forced-off switches, and what happens to bad input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use specfact_telemetry::EnvSnapshot;
use specfact_telemetry::settings::{
    CONFIG_KEYS, Diagnostic, DisabledReason, MAX_BATCH_SIZE, OptInSource, Origin,
    RegressionCategory, Settings, Source, default_regression_categories,
};

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

/// A temporary home directory with optional `telemetry.yaml` and `telemetry.opt-in`.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(yaml: Option<&[u8]>, opt_in: Option<&[u8]>) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let specfact = dir.path().join(".specfact");
        if yaml.is_some() || opt_in.is_some() {
            std::fs::create_dir(&specfact).unwrap();
        }
        if let Some(yaml) = yaml {
            std::fs::write(specfact.join("telemetry.yaml"), yaml).unwrap();
        }
        if let Some(opt_in) = opt_in {
            std::fs::write(specfact.join("telemetry.opt-in"), opt_in).unwrap();
        }
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.path().join(".specfact/telemetry.yaml")
    }

    fn opt_in(&self) -> PathBuf {
        self.path().join(".specfact/telemetry.opt-in")
    }

    fn resolve(&self, env: &[(&str, &str)]) -> Settings {
        Settings::resolve(
            &EnvSnapshot::from_pairs(env.iter().copied()),
            Some(self.path()),
        )
    }
}

fn resolve(env: &[(&str, &str)], yaml: Option<&str>, opt_in: Option<&str>) -> (Settings, Home) {
    let home = Home::new(yaml.map(str::as_bytes), opt_in.map(str::as_bytes));
    (home.resolve(env), home)
}

fn messages(settings: &Settings) -> Vec<String> {
    settings
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

fn file_position(d: &Diagnostic) -> Option<(PathBuf, Option<u64>, Option<u64>)> {
    match &d.origin {
        Origin::File { path, line, column } => Some((path.clone(), *line, *column)),
        Origin::Env(_) => None,
    }
}

// ---------------------------------------------------------------------------------------
// enabled / opt_in_source / disabled_reason / enabled_source
// ---------------------------------------------------------------------------------------

struct EnabledCase {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    yaml: Option<&'static str>,
    opt_in: Option<&'static [u8]>,
    enabled: bool,
    opt_in_source: OptInSource,
    reason: Option<DisabledReason>,
    source: Source,
    /// Substring of the single expected diagnostic, if any.
    diagnostic: Option<&'static str>,
}

const fn on(
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    yaml: Option<&'static str>,
    opt_in: Option<&'static [u8]>,
    opt_in_source: OptInSource,
    source: Source,
) -> EnabledCase {
    EnabledCase {
        name,
        env,
        yaml,
        opt_in,
        enabled: true,
        opt_in_source,
        reason: None,
        source,
        diagnostic: None,
    }
}

const fn off(
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    yaml: Option<&'static str>,
    opt_in: Option<&'static [u8]>,
    reason: DisabledReason,
    source: Source,
) -> EnabledCase {
    EnabledCase {
        name,
        env,
        yaml,
        opt_in,
        enabled: false,
        opt_in_source: OptInSource::Disabled,
        reason: Some(reason),
        source,
        diagnostic: None,
    }
}

const fn with_diagnostic(case: EnabledCase, diagnostic: &'static str) -> EnabledCase {
    EnabledCase {
        diagnostic: Some(diagnostic),
        ..case
    }
}

const ENV_OPT_IN: Source = Source::Env(OPT_IN);
const TRUE: Option<&[u8]> = Some(b"true\n");

#[rustfmt::skip]
const ENABLED_CASES: &[EnabledCase] = &[
    off("nothing at all", &[], None, None, DisabledReason::NotOptedIn, Source::Default),
    on("env true", &[(OPT_IN, "true")], None, None, OptInSource::Env, ENV_OPT_IN),
    on("env yes, any case", &[(OPT_IN, " YES ")], None, None, OptInSource::Env, ENV_OPT_IN),
    on("env over yaml false", &[(OPT_IN, "1")], Some("enabled: false\n"), None, OptInSource::Env, ENV_OPT_IN),
    // Where we differ from the reference: an explicit false in the environment wins.
    off("env false beats the opt-in file", &[(OPT_IN, "false")], None, TRUE, DisabledReason::OptedOut(ENV_OPT_IN), ENV_OPT_IN),
    off("env false beats yaml true", &[(OPT_IN, "0")], Some("enabled: true\n"), TRUE, DisabledReason::OptedOut(ENV_OPT_IN), ENV_OPT_IN),
    with_diagnostic(
        off("env anything else is false", &[(OPT_IN, "please")], None, TRUE, DisabledReason::OptedOut(ENV_OPT_IN), ENV_OPT_IN),
        "the value is `please`, which is neither on (1 true yes y on) nor off (0 false no n off); taken as false",
    ),
    with_diagnostic(
        off("env garbage is false and says so", &[(OPT_IN, "garbage")], None, None, DisabledReason::OptedOut(ENV_OPT_IN), ENV_OPT_IN),
        "`garbage`, which is neither on",
    ),
    on("empty env counts as unset", &[(OPT_IN, "")], Some("enabled: true\n"), None, OptInSource::Config, Source::Config),
    on("blank env counts as unset", &[(OPT_IN, "  ")], None, TRUE, OptInSource::File, Source::File),
    on("yaml true", &[], Some("enabled: true\n"), None, OptInSource::Config, Source::Config),
    on("yaml truthy string", &[], Some("enabled: \"on\"\n"), None, OptInSource::Config, Source::Config),
    on("yaml true beats opt-in false", &[], Some("enabled: true\n"), Some(b"false"), OptInSource::Config, Source::Config),
    // Kept from the reference: the opt-in file can still enable after `enabled: false`.
    on("yaml false, opt-in true", &[], Some("enabled: false\n"), TRUE, OptInSource::File, Source::File),
    off("yaml false, no opt-in file", &[], Some("enabled: false\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
    off("yaml false string, no opt-in file", &[], Some("enabled: \"no\"\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
    off("yaml false, opt-in false", &[], Some("enabled: false\n"), Some(b"false"), DisabledReason::OptedOut(Source::File), Source::File),
    on("opt-in file alone, trimmed", &[], None, Some(b"  TRUE \n"), OptInSource::File, Source::File),
    on("opt-in file with a byte order mark", &[], None, Some(b"\xef\xbb\xbfyes"), OptInSource::File, Source::File),
    with_diagnostic(
        off("opt-in file not truthy", &[], None, Some(b"nope"), DisabledReason::OptedOut(Source::File), Source::File),
        "its content is `nope`, which is neither on",
    ),
    with_diagnostic(
        off("empty opt-in file", &[], None, Some(b""), DisabledReason::OptedOut(Source::File), Source::File),
        "its content is empty, which is neither on",
    ),
    off("opt-in file saying no", &[], None, Some(b"no\n"), DisabledReason::OptedOut(Source::File), Source::File),
    // Every value the README lists, YAML integers included.
    on("yaml 1", &[], Some("enabled: 1\n"), None, OptInSource::Config, Source::Config),
    off("yaml 0", &[], Some("enabled: 0\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
    on("yaml y", &[], Some("enabled: y\n"), None, OptInSource::Config, Source::Config),
    off("yaml off", &[], Some("enabled: off\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
    with_diagnostic(
        off("yaml ture", &[], Some("enabled: ture\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
        "`enabled` is `ture`, which is neither on (1 true yes y on) nor off (0 false no n off); taken as false",
    ),
    with_diagnostic(
        on("yaml unrecognized text, opt-in true", &[], Some("enabled: \"yes please\"\n"), TRUE, OptInSource::File, Source::File),
        "`enabled` is `yes please`",
    ),
    with_diagnostic(
        off("yaml 2", &[], Some("enabled: 2\n"), None, DisabledReason::OptedOut(Source::Config), Source::Config),
        "`enabled` is `2`",
    ),
    on("yaml null counts as absent", &[], Some("enabled: ~\n"), TRUE, OptInSource::File, Source::File),
    with_diagnostic(
        off("yaml enabled of the wrong type", &[], Some("enabled: [true]\n"), None, DisabledReason::NotOptedIn, Source::Default),
        "`enabled` must be true or false, not a list; treated as not set",
    ),
    with_diagnostic(
        off("opt-in file not UTF-8", &[], None, Some(b"tr\xffue"), DisabledReason::OptedOut(Source::File), Source::File),
        "is not UTF-8 text; treated as not opting in",
    ),
    with_diagnostic(
        off("opt-in file too large", &[], None, Some(&[b' '; 8192]), DisabledReason::OptedOut(Source::File), Source::File),
        "is larger than 4096 bytes; treated as not opting in",
    ),
    // Forced off: checked first, whatever opts in.
    off("TEST_MODE true", &[("TEST_MODE", "true"), (OPT_IN, "true")], Some("enabled: true\n"), TRUE, DisabledReason::TestEnvironment("TEST_MODE"), Source::Env("TEST_MODE")),
    off("TEST_MODE 1", &[("TEST_MODE", "1"), (OPT_IN, "true")], None, None, DisabledReason::TestEnvironment("TEST_MODE"), Source::Env("TEST_MODE")),
    on("TEST_MODE false", &[("TEST_MODE", "false"), (OPT_IN, "true")], None, None, OptInSource::Env, ENV_OPT_IN),
    off("PYTEST_CURRENT_TEST set", &[("PYTEST_CURRENT_TEST", "tests/x.py::t (call)")], Some("enabled: true\n"), None, DisabledReason::TestEnvironment("PYTEST_CURRENT_TEST"), Source::Env("PYTEST_CURRENT_TEST")),
    off("PYTEST_CURRENT_TEST set to 0", &[("PYTEST_CURRENT_TEST", "0"), (OPT_IN, "true")], None, None, DisabledReason::TestEnvironment("PYTEST_CURRENT_TEST"), Source::Env("PYTEST_CURRENT_TEST")),
    on("PYTEST_CURRENT_TEST empty", &[("PYTEST_CURRENT_TEST", ""), (OPT_IN, "true")], None, None, OptInSource::Env, ENV_OPT_IN),
    off("DO_NOT_TRACK 1", &[("DO_NOT_TRACK", "1"), (OPT_IN, "true")], None, TRUE, DisabledReason::DoNotTrack, Source::Env("DO_NOT_TRACK")),
    off("DO_NOT_TRACK Yes, padded", &[("DO_NOT_TRACK", " Yes ")], Some("enabled: true\n"), None, DisabledReason::DoNotTrack, Source::Env("DO_NOT_TRACK")),
    off("DO_NOT_TRACK TRUE", &[("DO_NOT_TRACK", "TRUE")], None, TRUE, DisabledReason::DoNotTrack, Source::Env("DO_NOT_TRACK")),
    on("DO_NOT_TRACK on is not one of 1/true/yes", &[("DO_NOT_TRACK", "on"), (OPT_IN, "true")], None, None, OptInSource::Env, ENV_OPT_IN),
    on("DO_NOT_TRACK 0", &[("DO_NOT_TRACK", "0")], None, TRUE, OptInSource::File, Source::File),
    off("TEST_MODE is checked before DO_NOT_TRACK", &[("DO_NOT_TRACK", "1"), ("TEST_MODE", "yes")], None, None, DisabledReason::TestEnvironment("TEST_MODE"), Source::Env("TEST_MODE")),
];

#[test]
fn enabled_follows_the_precedence_table() {
    for case in ENABLED_CASES {
        let home = Home::new(case.yaml.map(str::as_bytes), case.opt_in);
        let s = home.resolve(case.env);
        let name = case.name;
        assert_eq!(s.enabled, case.enabled, "{name}: enabled");
        assert_eq!(s.opt_in_source, case.opt_in_source, "{name}: opt_in_source");
        assert_eq!(s.disabled_reason, case.reason, "{name}: disabled_reason");
        assert_eq!(s.enabled_source, case.source, "{name}: enabled_source");
        match case.diagnostic {
            None => assert!(s.diagnostics.is_empty(), "{name}: {:?}", messages(&s)),
            Some(expected) => {
                assert_eq!(s.diagnostics.len(), 1, "{name}: {:?}", messages(&s));
                assert!(
                    s.diagnostics[0].message.contains(expected),
                    "{name}: {:?}",
                    messages(&s)
                );
            }
        }
    }
}

#[test]
fn forced_off_still_resolves_everything_else() {
    let (s, home) = resolve(
        &[("DO_NOT_TRACK", "1"), (SERVICE_NAME, "env-svc")],
        Some("endpoint: https://collector.example/v1/traces\nbatch_size: 64\n"),
        None,
    );
    assert!(!s.enabled);
    assert_eq!(s.service_name.value, "env-svc");
    assert_eq!(
        s.endpoint.value.as_deref(),
        Some("https://collector.example/v1/traces")
    );
    assert_eq!(s.endpoint.source, Source::Config);
    assert_eq!(s.batch_size.value, 64);
    assert_eq!(
        s.config_dir.as_deref(),
        Some(home.path().join(".specfact").as_path())
    );
}

// ---------------------------------------------------------------------------------------
// Every other setting: environment over YAML over default, and fallbacks on bad input
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Field {
    Endpoint,
    ServiceName,
    ServiceNamespace,
    DeploymentEnvironment,
    BatchSize,
    BatchTimeout,
    ExportTimeout,
    Debug,
    LocalPath,
    AllowInsecureHttp,
}

impl Field {
    /// The value rendered as text (paths under the home directory as `~/…`) and its source.
    fn get(self, s: &Settings, home: &Path) -> (String, Source) {
        fn secs(d: Duration) -> String {
            format!("{:?}", d)
        }
        match self {
            Field::Endpoint => (
                s.endpoint.value.clone().unwrap_or_else(|| "none".into()),
                s.endpoint.source,
            ),
            Field::ServiceName => (s.service_name.value.clone(), s.service_name.source),
            Field::ServiceNamespace => (
                s.service_namespace.value.clone(),
                s.service_namespace.source,
            ),
            Field::DeploymentEnvironment => (
                s.deployment_environment.value.clone(),
                s.deployment_environment.source,
            ),
            Field::BatchSize => (s.batch_size.value.to_string(), s.batch_size.source),
            Field::BatchTimeout => (secs(s.batch_timeout.value), s.batch_timeout.source),
            Field::ExportTimeout => (secs(s.export_timeout.value), s.export_timeout.source),
            Field::Debug => (s.debug.value.to_string(), s.debug.source),
            Field::LocalPath => {
                let shown = match &s.local_path.value {
                    None => "none".to_owned(),
                    Some(p) => match p.strip_prefix(home) {
                        Ok(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
                        Ok(rest) => format!("~/{}", rest.display()),
                        Err(_) => p.display().to_string(),
                    },
                };
                (shown, s.local_path.source)
            }
            Field::AllowInsecureHttp => (
                s.allow_insecure_http.value.to_string(),
                s.allow_insecure_http.source,
            ),
        }
    }
}

/// Where an expected diagnostic points.
#[derive(Debug, Clone, Copy)]
enum At {
    Env(&'static str),
    /// `telemetry.yaml`, line and column.
    Yaml(u64, u64),
}

struct ValueCase {
    field: Field,
    env: &'static [(&'static str, &'static str)],
    yaml: Option<&'static str>,
    value: &'static str,
    source: Source,
    /// Expected diagnostics, in order: where, and a substring of the message.
    diagnostics: &'static [(At, &'static str)],
}

const fn case(
    field: Field,
    env: &'static [(&'static str, &'static str)],
    yaml: Option<&'static str>,
    value: &'static str,
    source: Source,
    diagnostics: &'static [(At, &'static str)],
) -> ValueCase {
    ValueCase {
        field,
        env,
        yaml,
        value,
        source,
        diagnostics,
    }
}

use Field as F;
const C: Source = Source::Config;
const D: Source = Source::Default;
const fn e(var: &'static str) -> Source {
    Source::Env(var)
}

#[rustfmt::skip]
const VALUE_CASES: &[ValueCase] = &[
    // endpoint
    case(F::Endpoint, &[], None, "none", D, &[]),
    case(F::Endpoint, &[], Some("endpoint: https://yaml.example/v1/traces\n"), "https://yaml.example/v1/traces", C, &[]),
    case(F::Endpoint, &[(ENDPOINT, "http://localhost:4318/v1/traces")], Some("endpoint: https://yaml.example/v1/traces\n"), "http://localhost:4318/v1/traces", e(ENDPOINT), &[]),
    case(F::Endpoint, &[(ENDPOINT, "  https://env.example  ")], None, "https://env.example", e(ENDPOINT), &[]),
    case(F::Endpoint, &[(ENDPOINT, "")], Some("endpoint: https://yaml.example\n"), "https://yaml.example", C, &[]),
    case(F::Endpoint, &[(ENDPOINT, "https://user:pw@env.example")], Some("endpoint: https://yaml.example\n"), "https://yaml.example", C,
        &[(At::Env(ENDPOINT), "contains credentials before the host (user:password@); put them in an Authorization header instead")]),
    case(F::Endpoint, &[(ENDPOINT, "collector.example:4318")], None, "none", D,
        &[(At::Env(ENDPOINT), "the value is not an http:// or https:// URL; using the default (no endpoint")]),
    case(F::Endpoint, &[], Some("endpoint: ftp://files.example\n"), "none", D, &[(At::Yaml(1, 11), "`endpoint` is not an http:// or https:// URL")]),
    case(F::Endpoint, &[], Some("endpoint: 4318\n"), "none", D, &[(At::Yaml(1, 11), "`endpoint` must be text, not a number")]),
    case(F::Endpoint, &[(ENDPOINT, "https://env.example")], Some("endpoint: \"https://a b\"\n"), "https://env.example", e(ENDPOINT),
        &[(At::Yaml(1, 11), "`endpoint` contains whitespace or a control character; using the value of SPECFACT_TELEMETRY_ENDPOINT")]),
    // service_name / service_namespace / deployment_environment
    case(F::ServiceName, &[], None, "specfact-cli", D, &[]),
    case(F::ServiceName, &[], Some("service_name: yaml-svc\n"), "yaml-svc", C, &[]),
    case(F::ServiceName, &[(SERVICE_NAME, "env-svc")], Some("service_name: yaml-svc\n"), "env-svc", e(SERVICE_NAME), &[]),
    case(F::ServiceName, &[(SERVICE_NAME, "a\u{1b}b")], Some("service_name: yaml-svc\n"), "yaml-svc", C,
        &[(At::Env(SERVICE_NAME), "the value contains a control character; using the value from telemetry.yaml")]),
    case(F::ServiceName, &[], Some("service_name: \"\"\n"), "specfact-cli", D, &[(At::Yaml(1, 15), "`service_name` is empty; using the default (`specfact-cli`)")]),
    case(F::ServiceName, &[], Some(LONG_NAME_YAML), "specfact-cli", D, &[(At::Yaml(1, 15), "is longer than 128 characters")]),
    case(F::ServiceNamespace, &[], None, "cli", D, &[]),
    case(F::ServiceNamespace, &[(SERVICE_NAMESPACE, "team")], Some("service_namespace: yaml-ns\n"), "team", e(SERVICE_NAMESPACE), &[]),
    case(F::ServiceNamespace, &[], Some("service_namespace: yes\n"), "cli", D, &[(At::Yaml(1, 20), "`service_namespace` must be text, not true/false")]),
    case(F::DeploymentEnvironment, &[], None, "production", D, &[]),
    case(F::DeploymentEnvironment, &[], Some("deployment_environment: staging\n"), "staging", C, &[]),
    case(F::DeploymentEnvironment, &[(DEPLOYMENT_ENVIRONMENT, "dev")], Some("deployment_environment: staging\n"), "dev", e(DEPLOYMENT_ENVIRONMENT), &[]),
    // batch_size
    case(F::BatchSize, &[], None, "512", D, &[]),
    case(F::BatchSize, &[], Some("batch_size: 1024\n"), "1024", C, &[]),
    case(F::BatchSize, &[], Some("batch_size: \"256\"\n"), "256", C, &[]),
    case(F::BatchSize, &[(BATCH_SIZE, "2048")], Some("batch_size: 1024\n"), "2048", e(BATCH_SIZE), &[]),
    case(F::BatchSize, &[(BATCH_SIZE, "lots")], Some("batch_size: 1024\n"), "1024", C,
        &[(At::Env(BATCH_SIZE), "the value is not a whole number; using the value from telemetry.yaml")]),
    case(F::BatchSize, &[], Some("batch_size: lots\n"), "512", D, &[(At::Yaml(1, 13), "`batch_size` is not a whole number; using the default (512)")]),
    case(F::BatchSize, &[(BATCH_SIZE, "many")], Some("# tuning\nbatch_size: lots\n"), "512", D, &[
        (At::Env(BATCH_SIZE), "the value is not a whole number; using the default (512)"),
        (At::Yaml(2, 13), "`batch_size` is not a whole number; using the default (512)"),
    ]),
    case(F::BatchSize, &[(BATCH_SIZE, "0")], None, "512", D, &[(At::Env(BATCH_SIZE), "is outside the accepted range 1 to 65536")]),
    case(F::BatchSize, &[(BATCH_SIZE, "70000")], None, "512", D, &[(At::Env(BATCH_SIZE), "is outside the accepted range 1 to 65536")]),
    case(F::BatchSize, &[], Some("batch_size: [1]\n"), "512", D, &[(At::Yaml(1, 13), "`batch_size` must be a whole number, not a list")]),
    // batch_timeout / export_timeout
    case(F::BatchTimeout, &[], None, "5s", D, &[]),
    case(F::BatchTimeout, &[], Some("batch_timeout: 2.5\n"), "2.5s", C, &[]),
    case(F::BatchTimeout, &[(BATCH_TIMEOUT, "15")], Some("batch_timeout: 2.5\n"), "15s", e(BATCH_TIMEOUT), &[]),
    case(F::BatchTimeout, &[(BATCH_TIMEOUT, "0")], None, "5s", D, &[(At::Env(BATCH_TIMEOUT), "must be more than 0 and at most 3600 seconds; using the default (5 seconds)")]),
    case(F::BatchTimeout, &[], Some("batch_timeout: soon\n"), "5s", D, &[(At::Yaml(1, 16), "`batch_timeout` is not a number of seconds")]),
    case(F::ExportTimeout, &[], None, "10s", D, &[]),
    case(F::ExportTimeout, &[(EXPORT_TIMEOUT, "30")], None, "30s", e(EXPORT_TIMEOUT), &[]),
    case(F::ExportTimeout, &[], Some("export_timeout: \"60\"\n"), "60s", C, &[]),
    case(F::ExportTimeout, &[], Some("export_timeout: 3601\n"), "10s", D, &[(At::Yaml(1, 17), "must be more than 0 and at most 3600 seconds; using the default (10 seconds)")]),
    // debug / allow_insecure_http
    case(F::Debug, &[], None, "false", D, &[]),
    case(F::Debug, &[], Some("debug: true\n"), "true", C, &[]),
    case(F::Debug, &[], Some("debug: \"yes\"\n"), "true", C, &[]),
    case(F::Debug, &[(DEBUG, "false")], Some("debug: true\n"), "false", e(DEBUG), &[]),
    case(F::Debug, &[(DEBUG, "1")], None, "true", e(DEBUG), &[]),
    case(F::Debug, &[], Some("debug: 3\n"), "false", D, &[(At::Yaml(1, 8), "`debug` must be true or false, not a number; using the default (false)")]),
    case(F::AllowInsecureHttp, &[], None, "false", D, &[]),
    case(F::AllowInsecureHttp, &[], Some("allow_insecure_http: true\n"), "true", C, &[]),
    case(F::AllowInsecureHttp, &[(ALLOW_INSECURE_HTTP, "on")], Some("allow_insecure_http: false\n"), "true", e(ALLOW_INSECURE_HTTP), &[]),
    // local_path
    case(F::LocalPath, &[], None, "~/.specfact/telemetry.log", D, &[]),
    case(F::LocalPath, &[], Some("local_path: ~/logs/t.log\n"), "~/logs/t.log", C, &[]),
    case(F::LocalPath, &[(LOCAL_PATH, "/var/tmp/t.log")], Some("local_path: ~/logs/t.log\n"), "/var/tmp/t.log", e(LOCAL_PATH), &[]),
    case(F::LocalPath, &[(LOCAL_PATH, "~")], None, "~", e(LOCAL_PATH), &[]),
    case(F::LocalPath, &[(LOCAL_PATH, "~bob/t.log")], Some("local_path: ~/logs/t.log\n"), "~/logs/t.log", C,
        &[(At::Env(LOCAL_PATH), "starts with `~name`, which is not expanded")]),
    case(F::LocalPath, &[], Some("local_path: [a]\n"), "~/.specfact/telemetry.log", D, &[(At::Yaml(1, 13), "`local_path` must be text, not a list")]),
];

/// `service_name:` followed by 129 characters.
const LONG_NAME_YAML: &str = concat!(
    "service_name: ",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
);

#[test]
fn each_setting_follows_env_then_yaml_then_default() {
    for (index, c) in VALUE_CASES.iter().enumerate() {
        let home = Home::new(c.yaml.map(str::as_bytes), None);
        let s = home.resolve(c.env);
        let label = format!(
            "case {index} ({:?}, env {:?}, yaml {:?})",
            c.field, c.env, c.yaml
        );
        assert_eq!(
            c.field.get(&s, home.path()),
            (c.value.to_owned(), c.source),
            "{label}"
        );
        assert_eq!(
            s.diagnostics.len(),
            c.diagnostics.len(),
            "{label}: {:?}",
            messages(&s)
        );
        for (d, (at, text)) in s.diagnostics.iter().zip(c.diagnostics) {
            match at {
                At::Env(var) => assert_eq!(d.origin, Origin::Env(var), "{label}"),
                At::Yaml(line, column) => assert_eq!(
                    file_position(d),
                    Some((home.config(), Some(*line), Some(*column))),
                    "{label}"
                ),
            }
            assert!(
                d.message.contains(text),
                "{label}: {:?} lacks {text:?}",
                d.message
            );
        }
    }
}

#[test]
fn yaml_diagnostics_render_as_file_line_column() {
    let (s, home) = resolve(&[], Some("enabled: true\nbatch_size: lots\n"), None);
    assert_eq!(
        messages(&s),
        vec![format!(
            "{}:2:13: `batch_size` is not a whole number; using the default (512)",
            home.config().display()
        )]
    );
}

// ---------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------

fn header_triples(s: &Settings) -> Vec<(String, String, Source)> {
    s.headers
        .iter()
        .map(|h| (h.name.clone(), h.value.expose().to_owned(), h.source))
        .collect()
}

#[test]
fn env_headers_merge_over_yaml_name_by_name() {
    let yaml =
        "headers:\n  Authorization: Basic eWFtbA==\n  X-Team: core\n  X-Num: 5\n  X-Flag: true\n";
    let (s, _home) = resolve(
        &[(
            HEADERS,
            "authorization: Bearer env-token, X-Extra: a:b, X-TEAM: platform",
        )],
        Some(yaml),
        None,
    );
    let env = Source::Env(HEADERS);
    assert_eq!(
        header_triples(&s),
        vec![
            ("authorization".into(), "Bearer env-token".into(), env),
            ("X-Flag".into(), "true".into(), Source::Config),
            ("X-Num".into(), "5".into(), Source::Config),
            ("X-TEAM".into(), "platform".into(), env),
            ("X-Extra".into(), "a:b".into(), env),
        ]
    );
    assert!(s.diagnostics.is_empty(), "{:?}", messages(&s));
}

#[test]
fn headers_from_one_source_only() {
    let (s, _home) = resolve(&[(HEADERS, "Authorization: Bearer t")], None, None);
    assert_eq!(
        header_triples(&s),
        vec![(
            "Authorization".into(),
            "Bearer t".into(),
            Source::Env(HEADERS)
        )]
    );
    let (s, _home) = resolve(&[], Some("headers:\n  x-api-key: k\n"), None);
    assert_eq!(
        header_triples(&s),
        vec![("x-api-key".into(), "k".into(), Source::Config)]
    );
    let (s, _home) = resolve(&[(HEADERS, "")], Some("headers: {}\n"), None);
    assert!(s.headers.is_empty());
    assert!(s.diagnostics.is_empty());
}

#[test]
fn bad_header_entries_are_skipped_and_named_by_position() {
    let (s, home) = resolve(
        &[(
            HEADERS,
            "X-Ok: 1, no colon here, : v, X-Empty: , Bad Name: v, X-Ctl: a\u{7}b,",
        )],
        Some(
            "headers:\n  X-Yaml: ok\n  X-Null:\n  X-List: [a]\n  \"Bad Name\": v\n  X-Crlf: \"a\\r\\nb\"\n",
        ),
        None,
    );
    assert_eq!(
        header_triples(&s),
        vec![
            ("X-Yaml".into(), "ok".into(), Source::Config),
            ("X-Ok".into(), "1".into(), Source::Env(HEADERS)),
        ]
    );
    let env: Vec<&str> = s
        .diagnostics
        .iter()
        .filter(|d| d.origin == Origin::Env(HEADERS))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        env,
        vec![
            "entry 2 has no `:` between the header name and its value; it is not sent",
            "entry 3 has an empty header name; it is not sent",
            "entry 4 has an empty value; it is not sent",
            "entry 5 has a name that is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only); it is not sent",
            "entry 6 has a value that contains a line break or another control character; it is not sent",
        ]
    );
    let yaml: Vec<&str> = s
        .diagnostics
        .iter()
        .filter(|d| {
            // Each entry's own line (3 to 6), not the start of the mapping (line 2).
            file_position(d).is_some_and(|(p, line, _)| {
                p == home.config() && line.is_some_and(|l| (3..=6).contains(&l))
            })
        })
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(yaml.len(), 4, "{:?}", messages(&s));
    let null_at = s
        .diagnostics
        .iter()
        .find(|d| d.message.starts_with("header `X-Null`"))
        .and_then(file_position)
        .map(|(_, line, column)| (line, column));
    assert_eq!(null_at, Some((Some(3), Some(3))), "{:?}", messages(&s));
    assert!(
        yaml.iter()
            .any(|m| m.starts_with("header `X-Null` has an empty value"))
    );
    assert!(
        yaml.iter()
            .any(|m| m.starts_with("header `X-List` has a value that is a list"))
    );
    assert!(
        yaml.iter()
            .any(|m| m.starts_with("a header in `headers` has a name that is not"))
    );
    assert!(
        yaml.iter()
            .any(|m| m.starts_with("header `X-Crlf` has a value that contains a line break"))
    );
}

#[test]
fn headers_that_are_not_a_mapping_are_ignored() {
    let (s, _home) = resolve(&[], Some("headers: \"Authorization: Bearer abc\"\n"), None);
    assert!(s.headers.is_empty());
    assert_eq!(s.diagnostics.len(), 1);
    assert!(
        s.diagnostics[0]
            .message
            .starts_with("`headers` must be a mapping of header names to values, not text")
    );
}

// ---------------------------------------------------------------------------------------
// Regression categories
// ---------------------------------------------------------------------------------------

#[test]
fn regression_categories_merge_over_the_defaults() {
    let (s, _home) = resolve(
        &[],
        Some(
            "regression_categories:\n  import: contract\n  plan: contract_violation\n  sync: plan_drift\n  review: drift\n",
        ),
        None,
    );
    let mut expected = default_regression_categories();
    expected.insert("import".into(), RegressionCategory::ContractViolation);
    expected.insert("plan".into(), RegressionCategory::ContractViolation);
    expected.insert("sync".into(), RegressionCategory::PlanDrift);
    expected.insert("review".into(), RegressionCategory::PlanDrift);
    assert_eq!(s.regression_categories.value, expected);
    assert_eq!(s.regression_categories.source, Source::Config);
    assert!(s.diagnostics.is_empty(), "{:?}", messages(&s));

    let (s, _home) = resolve(&[], None, None);
    assert_eq!(
        s.regression_categories.value,
        default_regression_categories()
    );
    assert_eq!(s.regression_categories.source, Source::Default);
}

#[test]
fn bad_regression_categories_are_reported() {
    let (s, _home) = resolve(
        &[],
        Some("regression_categories:\n  Import: contract\n  drift: bugs\n  sync: drift\n"),
        None,
    );
    let mut expected = default_regression_categories();
    expected.insert("sync".into(), RegressionCategory::PlanDrift);
    assert_eq!(s.regression_categories.value, expected);
    assert_eq!(s.regression_categories.source, Source::Config);
    let m = messages(&s);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m.iter().any(|m| m.contains("is not a lowercase name")));
    assert!(
        m.iter()
            .any(|m| m.contains("`regression_categories.drift` must be `contract` or `drift`"))
    );

    let (s, _home) = resolve(&[], Some("regression_categories: [plan]\n"), None);
    assert_eq!(s.regression_categories.source, Source::Default);
    assert!(messages(&s)[0].contains("not a list; using the default categories"));
}

// ---------------------------------------------------------------------------------------
// Bad files and bad environment values
// ---------------------------------------------------------------------------------------

#[test]
fn a_yaml_syntax_error_reports_line_and_column_and_empties_the_file() {
    let (s, home) = resolve(
        &[],
        Some("enabled: true\nservice_name: ok\nheaders: {Authorization: x\n"),
        None,
    );
    assert!(!s.enabled, "a broken file is treated as empty");
    assert_eq!(s.service_name.source, Source::Default);
    assert_eq!(s.diagnostics.len(), 1);
    let (path, line, column) = file_position(&s.diagnostics[0]).unwrap();
    assert_eq!(path, home.config());
    assert_eq!(line, Some(3));
    assert!(column.is_some());
    let shown = s.diagnostics[0].to_string();
    assert!(shown.contains(":3:"), "{shown}");
    assert!(shown.contains("is not valid YAML ("), "{shown}");
    assert!(shown.ends_with("its settings are ignored"), "{shown}");
}

#[test]
fn a_yaml_document_that_is_not_a_mapping_is_ignored() {
    for (text, kind) in [
        ("- enabled: true\n", "a list"),
        ("true\n", "a true/false value"),
        ("just some words\n", "a single text value"),
    ] {
        let (s, _home) = resolve(&[], Some(text), Some("true"));
        assert_eq!(s.opt_in_source, OptInSource::File, "{text:?}");
        assert_eq!(s.diagnostics.len(), 1, "{text:?}");
        assert!(
            s.diagnostics[0]
                .message
                .contains(&format!("holds {kind} at the top level, not a mapping")),
            "{:?}",
            messages(&s)
        );
    }
}

#[test]
fn binary_garbage_is_reported_not_fatal() {
    let garbage: Vec<u8> = (0u32..2048)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let home = Home::new(Some(&garbage), None);
    let s = home.resolve(&[(OPT_IN, "1")]);
    assert!(s.enabled);
    assert_eq!(s.batch_size.source, Source::Default);
    assert_eq!(s.diagnostics.len(), 1, "{:?}", messages(&s));
    assert!(s.diagnostics[0].message.starts_with("is not UTF-8 text"));
    assert!(file_position(&s.diagnostics[0]).unwrap().1.is_some());

    // Valid UTF-8 that is still not YAML.
    let home = Home::new(Some(b"\0\x01\x02\x03 enabled: true"), None);
    let s = home.resolve(&[]);
    assert!(!s.enabled);
    assert_eq!(s.diagnostics.len(), 1);
    assert!(s.diagnostics[0].message.starts_with("is not valid YAML"));
}

#[test]
fn a_one_megabyte_file_is_not_read() {
    let mut big = b"enabled: true\nservice_name: big\n".to_vec();
    big.resize(1024 * 1024, b'#');
    let home = Home::new(Some(&big), None);
    let s = home.resolve(&[]);
    assert!(!s.enabled);
    assert_eq!(s.service_name.source, Source::Default);
    assert_eq!(
        messages(&s),
        vec![format!(
            "{}: is larger than 64 KiB; its settings are ignored",
            home.config().display()
        )]
    );
}

#[test]
fn unreadable_files_are_reported() {
    let home = Home::new(None, None);
    std::fs::create_dir_all(home.config()).unwrap();
    std::fs::create_dir_all(home.opt_in()).unwrap();
    let s = home.resolve(&[]);
    assert_eq!(
        s.disabled_reason,
        Some(DisabledReason::OptedOut(Source::File))
    );
    assert_eq!(
        messages(&s),
        vec![
            format!(
                "{}: cannot be read (it is a directory); its settings are ignored",
                home.config().display()
            ),
            format!(
                "{}: cannot be read (it is a directory); treated as not opting in",
                home.opt_in().display()
            ),
        ]
    );
}

#[test]
fn unknown_keys_are_reported_with_a_suggestion() {
    let (s, home) = resolve(
        &[],
        Some("enabled: true\nendpiont: https://x.example\nbatch-size: 3\n"),
        None,
    );
    assert!(s.enabled);
    assert_eq!(s.endpoint.value, None);
    let m = messages(&s);
    let config = home.config().display().to_string();
    assert_eq!(
        m,
        vec![
            format!("{config}:3:1: unknown key `batch-size` (did you mean `batch_size`?); ignored"),
            format!("{config}:2:1: unknown key `endpiont` (did you mean `endpoint`?); ignored"),
        ]
    );
}

#[cfg(unix)]
#[test]
fn non_utf8_environment_values_count_as_unset() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = || OsString::from_vec(vec![b't', 0xff, b'e']);
    let home = Home::new(Some(b"batch_size: 100\nenabled: true\n"), None);
    let env = EnvSnapshot::empty()
        .with(BATCH_SIZE, bad())
        .with(OPT_IN, bad())
        .with("DO_NOT_TRACK", bad())
        .with(HEADERS, bad());
    let s = Settings::resolve(&env, Some(home.path()));
    assert!(
        s.enabled,
        "the opt-in variable counts as unset, so YAML decides"
    );
    assert_eq!(s.enabled_source, Source::Config);
    assert_eq!(s.batch_size.value, 100);
    assert_eq!(s.batch_size.source, Source::Config);
    assert!(s.headers.is_empty());
    let by_var = |var: &'static str| {
        s.diagnostics
            .iter()
            .find(|d| d.origin == Origin::Env(var))
            .map(|d| d.message.clone())
    };
    assert_eq!(
        by_var(BATCH_SIZE).as_deref(),
        Some("the value is not valid UTF-8; using the value from telemetry.yaml")
    );
    assert_eq!(
        by_var(OPT_IN).as_deref(),
        Some("the value is not valid UTF-8; treated as not set")
    );
    assert_eq!(
        by_var("DO_NOT_TRACK").as_deref(),
        Some("the value is not valid UTF-8; treated as not set")
    );
    assert!(by_var(HEADERS).unwrap().contains("not valid UTF-8"));
    assert_eq!(s.diagnostics.len(), 4, "{:?}", messages(&s));
}

#[test]
fn without_a_home_no_file_is_read() {
    let env = EnvSnapshot::from_pairs([(OPT_IN, "true")]);
    let s = Settings::resolve(&env, None);
    assert!(s.enabled);
    assert_eq!(s.config_dir, None);
    assert_eq!(s.config_path(), None);
    assert_eq!(s.local_path.value, None);
    assert_eq!(s.local_path.source, Source::Default);
    assert!(s.diagnostics.is_empty());

    let env = EnvSnapshot::from_pairs([(LOCAL_PATH, "~/t.log")]);
    let s = Settings::resolve(&env, None);
    assert_eq!(s.local_path.value, None);
    assert_eq!(
        messages(&s),
        vec![
            "environment variable SPECFACT_TELEMETRY_LOCAL_PATH: the value starts with `~` but \
             there is no home directory to expand it with; using the default (no local log, as \
             there is no home directory)"
        ]
    );

    let env = EnvSnapshot::from_pairs([(LOCAL_PATH, "/var/tmp/t.log")]);
    let s = Settings::resolve(&env, None);
    assert_eq!(s.local_path.value, Some(PathBuf::from("/var/tmp/t.log")));
}

#[test]
fn resolution_creates_nothing() {
    let home = Home::new(None, None);
    let s = home.resolve(&[(OPT_IN, "true")]);
    assert!(s.enabled);
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
    assert_eq!(s.config_path(), Some(home.config()));
    assert_eq!(s.opt_in_path(), Some(home.opt_in()));
    assert_eq!(
        s.local_path.value,
        Some(home.path().join(".specfact/telemetry.log"))
    );
}

// ---------------------------------------------------------------------------------------
// Secrets never reach diagnostics
// ---------------------------------------------------------------------------------------

#[test]
fn diagnostics_never_contain_secrets() {
    let env: &[(&str, &str)] = &[
        (
            HEADERS,
            "Authorization Bearer SECRET-1, X-Key: SECRET-2\u{7}, Bad Name: SECRET-3, : SECRET-4, X-Ok: SECRET-OK",
        ),
        (
            ENDPOINT,
            "https://user:SECRET-5@collector.example/v1/traces",
        ),
        (SERVICE_NAME, "SECRET-6\u{0}"),
    ];
    let yaml = "endpoint: \"https://SECRET-7 .example\"\n\
                headers:\n  X-Crlf: \"SECRET-8\\r\\nInjected: 1\"\n  \"Bad Name SECRET-9\": v\n  X-List: [SECRET-10]\n\
                enabled: [SECRET-11]\n\
                batch_size: SECRET-12\n";
    let (s, _home) = resolve(env, Some(yaml), None);
    assert!(s.diagnostics.len() >= 10, "{:?}", messages(&s));
    let mut all = messages(&s);

    // Broken files that contain secrets.
    for text in [
        "headers:\n  Authorization: \"Bearer SECRET-13\n",
        "Bearer SECRET-14\n",
        "headers: !!binary \"SECRET-15 is not base64\"\n",
        "endpoint: https://a.example\nendpoint: https://SECRET-16.example\n",
    ] {
        let (s, _home) = resolve(&[], Some(text), None);
        assert_eq!(s.diagnostics.len(), 1, "{text:?}: {:?}", messages(&s));
        all.extend(messages(&s));
    }
    for m in &all {
        assert!(!m.contains("SECRET"), "leaked: {m}");
    }
    // The accepted header is kept, and its value is redacted when shown.
    assert_eq!(s.headers.len(), 1);
    assert_eq!(s.headers[0].value.expose(), "SECRET-OK");
    assert!(!format!("{s:?}").contains("SECRET-OK"));
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn check_invariants(s: &Settings) {
    assert_eq!(s.enabled, s.disabled_reason.is_none());
    assert_eq!(s.enabled, s.opt_in_source != OptInSource::Disabled);
    assert!((1..=MAX_BATCH_SIZE).contains(&s.batch_size.value));
    for d in [s.batch_timeout.value, s.export_timeout.value] {
        assert!(!d.is_zero() && d <= Duration::from_secs(3600));
    }
    for name in [
        &s.service_name.value,
        &s.service_namespace.value,
        &s.deployment_environment.value,
    ] {
        assert!(!name.is_empty() && name.chars().count() <= 128);
        assert!(!name.chars().any(char::is_control));
    }
    for h in &s.headers {
        assert!(!h.name.is_empty() && !h.value.expose().is_empty());
        assert!(!h.value.expose().contains(['\r', '\n']));
    }
    if let Some(endpoint) = &s.endpoint.value {
        assert!(specfact_telemetry::settings::validate_endpoint(endpoint).is_ok());
    }
    for d in &s.diagnostics {
        assert!(!d.message.is_empty());
    }
}

fn yaml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_owned()),
        Just("~".to_owned()),
        Just("[1, 2]".to_owned()),
        Just("{a: b}".to_owned()),
        Just("\"https://x.example/v1\"".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        Just("\n  Authorization: Bearer t\n  X: 1".to_owned()),
        Just("\n  plan: contract\n  Bad: drift".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        "[ -~]{0,20}",
    ]
}

fn yaml_document() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        proptest::sample::select(CONFIG_KEYS).prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ];
    let structured = proptest::collection::vec((key, yaml_value()), 0..8).prop_map(|entries| {
        entries
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect::<String>()
            .into_bytes()
    });
    prop_oneof![
        structured,
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<String>().prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn resolve_never_panics_on_arbitrary_files(
        yaml in yaml_document(),
        opt_in in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
    ) {
        let home = Home::new(Some(&yaml), opt_in.as_deref());
        let s = home.resolve(&[]);
        check_invariants(&s);
    }

    #[test]
    fn resolve_never_panics_on_arbitrary_environment_values(
        values in proptest::collection::vec(
            (proptest::sample::select(specfact_telemetry::env::KNOWN_VARIABLES), any::<String>()),
            0..12,
        ),
    ) {
        let env = EnvSnapshot::from_pairs(values);
        let home = Home::new(Some(b"enabled: true\nbatch_size: 8\n"), None);
        let s = Settings::resolve(&env, Some(home.path()));
        check_invariants(&s);
    }
}

#[cfg(unix)]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn resolve_never_panics_on_arbitrary_environment_bytes(
        values in proptest::collection::vec(
            (
                proptest::sample::select(specfact_telemetry::env::KNOWN_VARIABLES),
                proptest::collection::vec(any::<u8>(), 0..24),
            ),
            0..12,
        ),
    ) {
        use std::os::unix::ffi::OsStringExt;
        let env = EnvSnapshot::from_pairs(
            values.into_iter().map(|(k, v)| (k, std::ffi::OsString::from_vec(v))),
        );
        let s = Settings::resolve(&env, None);
        check_invariants(&s);
    }
}

#[test]
fn files_named_by_the_host_replace_the_home_directory_ones() {
    let home = Home::new(Some(b"enabled: false\n"), Some(b"false"));
    let elsewhere = tempfile::tempdir().unwrap();
    let files = specfact_telemetry::SettingsFiles {
        config: elsewhere.path().join("t.yaml"),
        opt_in: elsewhere.path().join("t.opt-in"),
    };
    std::fs::write(&files.opt_in, "yes\n").unwrap();
    std::fs::write(&files.config, "endpoint: http://127.0.0.1:4318/v1/traces\n").unwrap();
    let env = EnvSnapshot::empty();
    let s = Settings::resolve_with_files(&env, Some(home.path()), &files);
    assert!(s.enabled);
    assert_eq!(s.opt_in_source, OptInSource::File);
    assert_eq!(
        s.endpoint.value.as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    // The default log stays under the home directory.
    assert_eq!(
        s.local_path.value,
        Some(home.path().join(".specfact/telemetry.log"))
    );
    // Absent named files opt nothing in, whatever the home directory holds.
    std::fs::remove_file(&files.opt_in).unwrap();
    let s = Settings::resolve_with_files(&env, Some(home.path()), &files);
    assert!(!s.enabled);
    assert_eq!(s.disabled_reason, Some(DisabledReason::NotOptedIn));
}
