//! Where accepted spans go: the [`Store`] trait, the span as stored ([`StoredSpan`]) and the
//! `--store` location ([`StoreLocation`]).
//!
//! # Why a synchronous trait
//!
//! [`Store`] is a plain synchronous, object-safe trait (`Arc<dyn Store>`). The HTTP side calls
//! it from [`tokio::task::spawn_blocking`], so a store may block freely: SQLite does file I/O
//! under a lock, and a ClickHouse store can use a blocking HTTP client (one request per
//! [`Store::insert`]). No `async_trait`, no boxed futures, and a store can be tested without a
//! runtime. Every method must be safe to call from several threads at once.
//!
//! # The contract every store keeps
//!
//! - [`Store::insert`] returns only once the spans are durable (committed): the server answers
//!   2xx after it returns `Ok`, and a span it acknowledged must never be lost.
//! - A span is identified by its `(trace_id, span_id)`. Inserting an identity that is already
//!   stored changes nothing and is counted in [`InsertOutcome::duplicates`]; reads
//!   ([`Store::stats`], [`Store::events`]) count every identity once, whatever the engine does
//!   underneath (a ClickHouse `ReplacingMergeTree` may keep copies until it merges).
//! - Two inserts of the same spans racing each other may both count them as new only if the
//!   store still stores and reads them once.

mod clickhouse;
mod location;
mod sqlite;

use std::time::SystemTime;

use specfact_telemetry::{Event, FieldValue};

pub use clickhouse::ClickHouseStore;
pub use location::{ClickHouseUrl, LocationError, StoreLocation, default_sqlite_path};
pub use sqlite::SqliteStore;

/// One span as stored: already checked again by the sanitizer, typed, and holding nothing
/// that identifies a client (no address, user agent, header or instance id).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpan {
    /// The span's trace id (16 bytes, not all zero).
    pub trace_id: [u8; 16],
    /// The span's id (8 bytes, not all zero).
    pub span_id: [u8; 8],
    /// The command, without the `specfact.` prefix of the span name (`repro.run`).
    pub command: String,
    /// Span start, Unix nanoseconds.
    pub start_unix_nano: u64,
    /// Span end, Unix nanoseconds (never before the start).
    pub end_unix_nano: u64,
    /// Whether the command succeeded (`specfact.success`; a span without it counts as a success
    /// unless its status is ERROR).
    pub success: bool,
    /// The error type name (`Exit`, `TimeoutError`), never a message.
    pub error: Option<String>,
    /// The command's duration in milliseconds (`specfact.duration_ms`).
    pub duration_ms: f64,
    /// The random per-process session id (32 lowercase hex digits), or empty.
    pub session_id: String,
    /// The event's own id (`specfact.event_id`, UUID v7), when the client sent one.
    pub event_id: Option<uuid::Uuid>,
    /// The event format version (`1.0`).
    pub telemetry_version: Option<String>,
    /// The host CLI's version (`specfact.cli_version`, else the resource's `service.version`).
    pub cli_version: Option<String>,
    /// How the user opted in: `env`, `config` or `file`.
    pub opt_in_source: Option<String>,
    /// The resource's `service.name` (`specfact-cli`), empty when it was not acceptable.
    pub service_name: String,
    /// The resource's `deployment.environment` (`production`), empty when not acceptable.
    pub deployment_environment: String,
    /// The allow-listed metadata fields (`mode`, `files_analyzed`, …), typed, in span order.
    pub fields: Vec<(String, FieldValue)>,
}

impl StoredSpan {
    /// The span as the core's [`Event`], for the report code and for comparing with a local log.
    pub fn to_event(&self) -> Event {
        Event {
            command: self.command.clone(),
            success: self.success,
            error: self.error.clone(),
            duration_ms: self.duration_ms,
            session_id: self.session_id.clone(),
            telemetry_version: self.telemetry_version.clone(),
            cli_version: self.cli_version.clone(),
            opt_in_source: self.opt_in_source.clone(),
            timestamp: Some(
                SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(self.start_unix_nano),
            ),
            event_id: self.event_id,
            fields: self.fields.clone(),
        }
    }

    /// The span's identity, `trace_id` followed by `span_id`, as lowercase hex (48 digits).
    pub fn identity_hex(&self) -> String {
        let mut s = String::with_capacity(48);
        for b in self.trace_id.iter().chain(self.span_id.iter()) {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// What one [`Store::insert`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    /// Spans stored for the first time.
    pub inserted: u64,
    /// Spans whose identity was already stored (a client re-sending): nothing changed.
    pub duplicates: u64,
}

/// What a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Distinct spans stored (each `(trace_id, span_id)` once).
    pub events_stored: u64,
    /// Duplicate deliveries the store recognized over its whole life (kept across restarts).
    pub duplicates: u64,
    /// Start of the oldest stored span, Unix nanoseconds.
    pub oldest_start_unix_nano: Option<u64>,
    /// Start of the newest stored span, Unix nanoseconds.
    pub newest_start_unix_nano: Option<u64>,
}

/// Why a store operation failed. Messages never contain span contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be opened or created.
    #[error("cannot open the store {location}: {reason}")]
    Open {
        /// The store's location as given.
        location: String,
        /// What went wrong and what to do.
        reason: String,
    },
    /// A read or write failed; the operation did not take effect.
    #[error("the store failed: {0}")]
    Backend(String),
    /// The store is temporarily unable to take writes (busy, overloaded, unreachable); the
    /// client should retry later.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// This store is not available in this build.
    #[error("{0}")]
    NotBuilt(String),
}

/// A place spans are stored once each. See the [module documentation](self) for the contract.
pub trait Store: Send + Sync + 'static {
    /// Stores `spans`, each identity once, and returns only once they are committed.
    /// Either all of `spans` take effect or (on `Err`) none need have: the client re-sends.
    fn insert(&self, spans: &[StoredSpan]) -> Result<InsertOutcome, StoreError>;

    /// What the store holds.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Deletes spans that started before `older_than`; returns how many were deleted (a store
    /// that deletes asynchronously may return an estimate).
    fn retain(&self, older_than: SystemTime) -> Result<u64, StoreError>;

    /// Calls `each` with every stored span that started at or after `since`, each identity
    /// once, ordered by start time then identity; returns how many were visited. Streams: the
    /// store does not collect all rows in memory first.
    fn events(
        &self,
        since: SystemTime,
        each: &mut dyn FnMut(StoredSpan),
    ) -> Result<u64, StoreError>;

    /// A short description for logs and `/api/stats` (`sqlite`, `clickhouse`), without
    /// credentials.
    fn kind(&self) -> &'static str;
}

/// Opens the store at `location`.
pub fn open(location: &StoreLocation) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    Ok(match location {
        StoreLocation::Sqlite(path) => std::sync::Arc::new(SqliteStore::open(path)?),
        StoreLocation::ClickHouse(url) => std::sync::Arc::new(ClickHouseStore::open(url)?),
    })
}

/// Unix nanoseconds of `t` (0 before 1970, saturating far in the future).
pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Fields as the JSON object stored in the `fields` column (`{"mode":"repro","files_analyzed":140}`).
pub fn fields_to_json(fields: &[(String, FieldValue)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| {
            let v = match v {
                FieldValue::Bool(b) => serde_json::Value::Bool(*b),
                FieldValue::Int(i) => serde_json::Value::from(*i),
                FieldValue::Float(f) => serde_json::Number::from_f64(*f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
                FieldValue::Str(s) => serde_json::Value::String(s.clone()),
            };
            (k.clone(), v)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The `fields` column read back. Floats written as whole numbers come back as floats only when
/// they had a fraction; the schema's counts are integers either way.
pub fn fields_from_json(text: &str) -> Result<Vec<(String, FieldValue)>, StoreError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("a stored fields column is not JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(StoreError::Backend(
            "a stored fields column is not a JSON object".into(),
        ));
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::Bool(b) => FieldValue::Bool(b),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => FieldValue::Int(i),
                    None => FieldValue::Float(n.as_f64()?),
                },
                serde_json::Value::String(s) => FieldValue::Str(s),
                _ => return None,
            };
            Some((k, v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_through_the_json_column() {
        let fields = vec![
            ("mode".to_owned(), FieldValue::Str("repro".into())),
            ("files_analyzed".to_owned(), FieldValue::Int(140)),
            ("shadow_mode".to_owned(), FieldValue::Bool(false)),
            ("ratio".to_owned(), FieldValue::Float(0.25)),
        ];
        let json = fields_to_json(&fields);
        let mut back = fields_from_json(&json).unwrap();
        let mut want = fields.clone();
        back.sort_by(|a, b| a.0.cmp(&b.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(back, want);
        assert!(fields_from_json("[1]").is_err());
        assert!(fields_from_json("{").is_err());
    }
}
