//! `specfact_telemetry._native`: the Python extension module behind the
//! `specfact-telemetry` Python package.
//!
//! The Python package (`python/specfact_telemetry/`) holds the public API — the
//! `compat` drop-in for `specfact_cli.telemetry` and a Pythonic context manager and
//! decorator. Everything that decides what is recorded lives in the Rust core and is
//! reached through this module: settings resolution, the typed sanitizer, the event,
//! the local log and delivery. This module only converts Python values and makes sure
//! no Rust panic and no Python exception ever reaches the host from a recording call.
//!
//! ```python
//! from specfact_telemetry import _native
//!
//! handle = _native.Handle(cli_version="1.2.3")
//! line = handle.record("plan.init", {"mode": "cicd"}, True, None, 0.012)
//! ```
//!
//! `record` returns the JSON line written to the local log, or `None` when nothing
//! was recorded (telemetry off, or the event could not be written).

mod convert;
mod overrides;

use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use specfact_telemetry::delivery::{self, DeliveryMode, DeliveryOptions, UploaderCommand};
use specfact_telemetry::{
    EnvSnapshot, Outcome, Settings, SettingsFiles, Telemetry, TelemetryBuilder, Value,
};

use crate::overrides::Overrides;

/// Settings as the compat layer shows them: `(enabled, endpoint, headers, local_path,
/// debug, opt_in_source)`.
type SettingsView = (
    bool,
    Option<String>,
    Vec<(String, String)>,
    // A str, not a pathlib.Path: importing pathlib would cost more than all the rest.
    Option<OsString>,
    bool,
    &'static str,
);

/// Resolves settings from the process environment and the home directory, reading the
/// two settings files from the given paths when both are given.
fn resolve(config_file: Option<PathBuf>, opt_in_file: Option<PathBuf>) -> Settings {
    let env = EnvSnapshot::from_process();
    let home = env.home();
    match (config_file, opt_in_file) {
        (Some(config), Some(opt_in)) => {
            Settings::resolve_with_files(&env, home.as_deref(), &SettingsFiles { config, opt_in })
        }
        _ => Settings::resolve(&env, home.as_deref()),
    }
}

/// The settings in force, as the compat layer's `TelemetrySettings.from_env()` shows
/// them. Never raises: a failure shows telemetry as off.
#[pyfunction]
#[pyo3(signature = (config_file=None, opt_in_file=None))]
fn resolve_settings(config_file: Option<PathBuf>, opt_in_file: Option<PathBuf>) -> SettingsView {
    catch_unwind(|| {
        let s = resolve(config_file, opt_in_file);
        (
            s.enabled,
            s.endpoint.value.clone(),
            s.headers
                .iter()
                .map(|h| (h.name.clone(), h.value.expose().to_owned()))
                .collect(),
            s.local_path.value.clone().map(PathBuf::into_os_string),
            s.debug.value,
            s.opt_in_source.as_str(),
        )
    })
    .unwrap_or((false, None, Vec::new(), None, false, "disabled"))
}

/// How a handle delivers: in the detached `specfact-telemetry` program installed with
/// this package, started with the uploader argument (its `main` takes the job from the
/// environment, delivers and exits). Never in a thread of the host (a fork would copy
/// it half-way, and a thread could hold the host's exit) and never by re-executing the
/// host (inside a venv its interpreter may be a base one without this package). Without
/// the program, events wait in the log for `specfact-telemetry export`.
fn delivery_for(builder: TelemetryBuilder, uploader: Option<PathBuf>) -> TelemetryBuilder {
    let options = match uploader {
        Some(program) => DeliveryOptions {
            mode: DeliveryMode::Process,
            uploader: Some(UploaderCommand::new(program, [delivery::UPLOADER_ARG])),
            ..DeliveryOptions::default()
        },
        None => DeliveryOptions {
            mode: DeliveryMode::Manual,
            ..DeliveryOptions::default()
        },
    };
    builder.delivery(options)
}

/// One telemetry handle: a session, its settings and its local log.
///
/// Creating a handle never fails and never raises; a handle that cannot be built is
/// simply off.
#[pyclass(frozen, module = "specfact_telemetry._native")]
struct Handle {
    telemetry: Telemetry,
}

#[pymethods]
impl Handle {
    /// Builds a handle. `overrides` is `(enabled, endpoint, headers, local_path, debug,
    /// opt_in_source)` from settings a host built itself; without it everything comes
    /// from the environment and the settings files (`config_file`, `opt_in_file`, or
    /// the ones under `~/.specfact/`). `uploader` is called (only when an endpoint is
    /// set) for the path of the `specfact-telemetry` program that delivers events.
    #[new]
    #[pyo3(signature = (cli_version=None, overrides=None, config_file=None, opt_in_file=None, uploader=None))]
    fn new(
        cli_version: Option<String>,
        overrides: Option<Overrides>,
        config_file: Option<PathBuf>,
        opt_in_file: Option<PathBuf>,
        uploader: Option<&Bound<'_, PyAny>>,
    ) -> Handle {
        let telemetry = catch_unwind(AssertUnwindSafe(|| {
            let mut settings = resolve(config_file, opt_in_file);
            if let Some(o) = overrides {
                o.apply(&mut settings);
            }
            let uploader = match uploader {
                Some(find) if settings.enabled && settings.endpoint.value.is_some() => find
                    .call0()
                    .and_then(|p| p.extract::<Option<PathBuf>>())
                    .ok()
                    .flatten(),
                _ => None,
            };
            let mut builder = Telemetry::builder(settings);
            if let Some(v) = cli_version.as_deref() {
                builder = builder.cli_version(v);
            }
            delivery_for(builder, uploader).build()
        }))
        .unwrap_or_default();
        Handle { telemetry }
    }

    /// Whether this handle records events.
    #[getter]
    fn enabled(&self) -> bool {
        self.telemetry.is_enabled()
    }

    /// This session's identifier (hex), when enabled.
    #[getter]
    fn session_id(&self) -> Option<String> {
        self.telemetry.session_id().map(str::to_owned)
    }

    /// The local log's path, when enabled.
    #[getter]
    fn local_path(&self) -> Option<OsString> {
        self.telemetry
            .settings()
            .and_then(|s| s.local_path.value.clone())
            .map(PathBuf::into_os_string)
    }

    /// Records one finished command and returns the JSON line appended to the local
    /// log, or `None` when nothing was recorded.
    ///
    /// `metadata` is a mapping of field names to values (anything not allowed, or not
    /// of its field's type, is dropped). `success` false with `error` None records a
    /// command that was stopped (an exit request, an interrupt) rather than one that
    /// failed with an error. `duration_s` is the command's length in seconds.
    ///
    /// Never raises.
    #[pyo3(signature = (command, metadata, success, error, duration_s))]
    fn record(
        &self,
        command: &str,
        metadata: &Bound<'_, PyAny>,
        success: bool,
        error: Option<&str>,
        duration_s: f64,
    ) -> Option<String> {
        if !self.telemetry.is_enabled() {
            return None;
        }
        let fields = collect_fields(metadata);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut guard = self.telemetry.track_command(command, fields);
            if let Ok(d) = Duration::try_from_secs_f64(duration_s) {
                guard.set_duration(d);
            }
            match (success, error) {
                (true, _) => guard.success(),
                (false, Some(e)) => guard.failure(e),
                (false, None) => guard.stopped(),
            }
        }));
        match outcome {
            Ok(Outcome::Recorded(event)) => Some(event.to_json_line()),
            _ => None,
        }
    }
}

/// The metadata of one command as key/value pairs; a mapping that cannot be read gives
/// none (the event is still recorded, with its library-set fields).
fn collect_fields(metadata: &Bound<'_, PyAny>) -> Vec<(String, Value)> {
    let Ok(dict) = metadata.cast::<PyDict>() else {
        return Vec::new();
    };
    dict.iter()
        .filter_map(|(k, v)| {
            let key = k.extract::<String>().ok()?;
            Some((key, convert::to_value(&v)))
        })
        .collect()
}

/// The argument the uploader program is started with.
#[pyfunction]
fn uploader_arg() -> &'static str {
    delivery::UPLOADER_ARG
}

/// The extension module.
#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Handle>()?;
    m.add_function(wrap_pyfunction!(resolve_settings, m)?)?;
    m.add_function(wrap_pyfunction!(uploader_arg, m)?)?;
    Ok(())
}
