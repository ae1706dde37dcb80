//! Privacy-first, opt-in telemetry for command-line tools.
//!
//! A host CLI creates one [`Telemetry`] handle at start-up and times each command
//! with a [`CommandGuard`]. When the user has not opted in, the handle is inert: no
//! file, directory, thread, socket or child process is created. When they have,
//! each finished command becomes one [`Event`] — only allow-listed, typed,
//! sanitized fields — appended as a JSON line to `~/.specfact/telemetry.log`, the
//! user's own copy and the spool that delivery to an OTLP collector reads from.
//!
//! The data flows one way:
//!
//! ```text
//! EnvSnapshot + ~/.specfact files ─▶ Settings ─▶ Sanitizer(Schema) ─▶ Event ─▶ LocalLog ─▶ delivery
//! ```
//!
//! # A host's `main`
//!
//! ```no_run
//! use specfact_telemetry::{Telemetry, metadata};
//!
//! fn main() -> std::process::ExitCode {
//!     // First thing: when this process was started as the detached uploader, it
//!     // delivers pending events and exits here.
//!     specfact_telemetry::delivery::run_uploader_if_requested();
//!     let telemetry = Telemetry::from_env(env!("CARGO_PKG_VERSION"));
//!
//!     let mut guard = telemetry.track_command("repro.run", metadata! { "mode" => "repro" });
//!     let result = run_checks();
//!     guard.record(metadata! { "checks_total" => 6, "checks_failed" => 2, "violations_detected" => 2 });
//!     guard.finish(&result); // success, or failure named by the error's type
//!
//!     if result.is_ok() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
//! }
//! # fn run_checks() -> Result<(), std::io::Error> { Ok(()) }
//! ```
//!
//! # Settings are a pure function
//!
//! [`Settings::resolve`] takes an [`EnvSnapshot`] and a home directory, so a host (or a
//! test) can decide exactly what telemetry sees:
//!
//! ```
//! use specfact_telemetry::{EnvSnapshot, Outcome, Settings, Telemetry};
//!
//! let home = tempfile::tempdir()?;
//! let env = EnvSnapshot::from_pairs([("SPECFACT_TELEMETRY_OPT_IN", "true")]);
//! let settings = Settings::resolve(&env, Some(home.path()));
//! assert_eq!(settings.enabled_source.to_string(), "env:SPECFACT_TELEMETRY_OPT_IN");
//!
//! let telemetry = Telemetry::builder(settings).cli_version("1.2.3").build();
//! let mut guard = telemetry.track_command("import.from_code", [("files_analyzed", 143)]);
//! guard.set("repository", "/srv/acme/payments"); // not an allowed field: dropped
//! let Outcome::Recorded(event) = guard.success() else { panic!("not recorded") };
//! assert_eq!(event.count("files_analyzed"), Some(140)); // rounded to two significant digits
//! assert!(event.field("repository").is_none());
//!
//! let log = std::fs::read_to_string(home.path().join(".specfact/telemetry.log"))?;
//! assert!(log.starts_with(r#"{"files_analyzed":140,"session_id":"#));
//! # Ok::<(), std::io::Error>(())
//! ```

#![warn(missing_docs)]

pub mod delivery;
pub mod env;
pub mod event;
pub mod file_identity;
mod hooks;
pub mod log;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod private_file;
pub mod sanitize;
pub mod schema;
pub mod settings;
mod tracker;
mod value;

pub use delivery::{DeliveryMode, DeliveryState, ExportRequest, ExportSummary, Selection};
pub use env::EnvSnapshot;
pub use event::{Event, FieldValue};
pub use log::LocalLog;
pub use sanitize::{DropReason, Dropped, MachineIdentity, RecheckMemo, Sanitized, Sanitizer};
pub use schema::{FieldKind, Schema, SchemaError};
pub use settings::{Diagnostic, DisabledReason, OptInSource, Setting, Settings, Source};
pub use tracker::{CommandGuard, Outcome, Telemetry, TelemetryBuilder, error_type_name};
pub use value::Value;
