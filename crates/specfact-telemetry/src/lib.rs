//! Privacy-first, opt-in telemetry for command-line tools.
//!
//! (Crate documentation is written with the tracker; see README.md meanwhile.)

#![warn(missing_docs)]

pub mod delivery;
pub mod env;
pub mod event;
pub mod log;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod sanitize;
pub mod schema;
pub mod settings;
mod value;

pub use delivery::{DeliveryMode, DeliveryState, ExportRequest, ExportSummary, Selection};
pub use env::EnvSnapshot;
pub use event::{Event, FieldValue};
pub use log::LocalLog;
pub use sanitize::{DropReason, Dropped, MachineIdentity, Sanitized, Sanitizer};
pub use schema::{FieldKind, Schema, SchemaError};
pub use settings::{Diagnostic, DisabledReason, OptInSource, Setting, Settings, Source};
pub use value::Value;
