//! The receiving end of specfact-telemetry: an OTLP/HTTP trace receiver that checks every
//! span again with the core's sanitizer and stores each span once.
//!
//! The pieces, one way:
//!
//! ```text
//! HTTP (hyper) ─▶ decode (protobuf | JSON, gzip, bounded) ─▶ sanitize again ─▶ Store::insert ─▶ 2xx
//! ```
//!
//! A [`store::Store`] is where spans go: [`store::SqliteStore`] (one file, the default) or
//! ClickHouse. Stores are opened from a `--store` location:
//!
//! ```
//! use specfact_telemetry_server::store::{self, StoreLocation};
//!
//! let dir = tempfile::tempdir()?;
//! let location: StoreLocation = format!("sqlite:{}", dir.path().join("t.sqlite3").display()).parse()?;
//! let store = store::open(&location)?;
//! assert_eq!(store.stats()?.events_stored, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod body;
pub mod community;
pub mod decode;
pub mod ingest;
pub mod server;
pub mod store;
