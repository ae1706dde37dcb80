//! Privacy-first, opt-in telemetry for command-line tools.
//!
//! (Crate documentation is written with the tracker; see README.md meanwhile.)

#![warn(missing_docs)]

pub mod env;
pub mod event;
mod hooks;
pub mod log;
pub mod sanitize;
pub mod schema;
pub mod settings;
mod tracker;
mod value;

pub use env::EnvSnapshot;
pub use event::{Event, FieldValue};
pub use log::LocalLog;
pub use sanitize::{DropReason, Dropped, MachineIdentity, Sanitized, Sanitizer};
pub use schema::{FieldKind, Schema, SchemaError};
pub use settings::{Diagnostic, DisabledReason, OptInSource, Setting, Settings, Source};
pub use tracker::{CommandGuard, Outcome, Telemetry, TelemetryBuilder, error_type_name};
pub use value::Value;
