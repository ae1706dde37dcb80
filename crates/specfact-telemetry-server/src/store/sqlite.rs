//! The embedded store: one SQLite file (WAL mode), each span once by its primary key.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{
    InsertOutcome, Store, StoreError, StoreStats, StoredSpan, fields_from_json, fields_to_json,
    unix_nanos,
};

/// The tables, created when missing. Documented column by column in the README.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spans (
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    command TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL,
    end_unix_nano INTEGER NOT NULL,
    success INTEGER NOT NULL,
    error TEXT,
    duration_ms REAL NOT NULL,
    session_id TEXT NOT NULL,
    event_id TEXT,
    telemetry_version TEXT,
    cli_version TEXT,
    opt_in_source TEXT,
    service_name TEXT NOT NULL,
    deployment_environment TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_unix_nano);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('duplicates', 0);
";

const INSERT: &str = "INSERT OR IGNORE INTO spans (trace_id, span_id, command, start_unix_nano,
    end_unix_nano, success, error, duration_ms, session_id, event_id, telemetry_version,
    cli_version, opt_in_source, service_name, deployment_environment, fields)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const SELECT: &str = "SELECT trace_id, span_id, command, start_unix_nano, end_unix_nano, success,
    error, duration_ms, session_id, event_id, telemetry_version, cli_version, opt_in_source,
    service_name, deployment_environment, fields
    FROM spans WHERE start_unix_nano >= ?1 ORDER BY start_unix_nano, trace_id, span_id";

/// Spans in one SQLite file. Writes go through one connection (SQLite has one writer), reads
/// through another, so `/api/stats` and readers never wait for a write transaction.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Unavailable("the database is busy".into())
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull => {
            StoreError::Unavailable("the disk is full".into())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            location: format!("sqlite:{}", path.display()),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                open_error(format!(
                    "cannot create the directory {}: {e}; create it or choose another --store",
                    dir.display()
                ))
            })?;
        }
        let writer = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
        let setup = |c: &Connection| -> rusqlite::Result<()> {
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            // FULL: a commit is on disk before the client hears 2xx, even across a power
            // loss (NORMAL in WAL mode would survive only a crash of this process).
            c.pragma_update(None, "synchronous", "FULL")?;
            c.pragma_update(None, "cache_size", -16_000)?;
            Ok(())
        };
        setup(&writer).map_err(|e| open_error(e.to_string()))?;
        writer
            .execute_batch(SCHEMA)
            .map_err(|e| open_error(format!("cannot create the tables: {e}")))?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(e.to_string()))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| open_error(e.to_string()))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock<'a>(m: &'a Mutex<Connection>) -> std::sync::MutexGuard<'a, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction behind: an
        // open transaction is rolled back when its guard drops. So the connection is usable.
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for SqliteStore {
    fn insert(&self, spans: &[StoredSpan]) -> Result<InsertOutcome, StoreError> {
        let mut conn = Self::lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let mut outcome = InsertOutcome::default();
        {
            let mut stmt = tx.prepare_cached(INSERT).map_err(backend)?;
            for s in spans {
                let changed = stmt
                    .execute(params![
                        &s.trace_id[..],
                        &s.span_id[..],
                        s.command,
                        to_i64(s.start_unix_nano),
                        to_i64(s.end_unix_nano),
                        s.success,
                        s.error,
                        s.duration_ms,
                        s.session_id,
                        s.event_id.map(|u| u.hyphenated().to_string()),
                        s.telemetry_version,
                        s.cli_version,
                        s.opt_in_source,
                        s.service_name,
                        s.deployment_environment,
                        fields_to_json(&s.fields),
                    ])
                    .map_err(backend)?;
                if changed == 0 {
                    outcome.duplicates += 1;
                } else {
                    outcome.inserted += 1;
                }
            }
            if outcome.duplicates > 0 {
                tx.prepare_cached(
                    "UPDATE counters SET value = value + ?1 WHERE name = 'duplicates'",
                )
                .and_then(|mut s| s.execute([to_i64(outcome.duplicates)]))
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
        Ok(outcome)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let conn = Self::lock(&self.reader);
        let (count, oldest, newest): (i64, Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT count(*), min(start_unix_nano), max(start_unix_nano) FROM spans",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(backend)?;
        let duplicates: Option<i64> = conn
            .query_row(
                "SELECT value FROM counters WHERE name = 'duplicates'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        Ok(StoreStats {
            events_stored: count.max(0) as u64,
            duplicates: duplicates.unwrap_or(0).max(0) as u64,
            oldest_start_unix_nano: oldest.map(|n| n.max(0) as u64),
            newest_start_unix_nano: newest.map(|n| n.max(0) as u64),
        })
    }

    fn retain(&self, older_than: SystemTime) -> Result<u64, StoreError> {
        let conn = Self::lock(&self.writer);
        let cut = to_i64(unix_nanos(older_than));
        let mut deleted = 0u64;
        // In slices, so a large deletion never holds the write lock for long.
        loop {
            let n = conn
                .execute(
                    "DELETE FROM spans WHERE rowid IN
                     (SELECT rowid FROM spans WHERE start_unix_nano < ?1 LIMIT 10000)",
                    [cut],
                )
                .map_err(backend)?;
            deleted += n as u64;
            if n < 10_000 {
                return Ok(deleted);
            }
        }
    }

    fn events(
        &self,
        since: SystemTime,
        each: &mut dyn FnMut(StoredSpan),
    ) -> Result<u64, StoreError> {
        let conn = Self::lock(&self.reader);
        let mut stmt = conn.prepare_cached(SELECT).map_err(backend)?;
        let mut rows = stmt.query([to_i64(unix_nanos(since))]).map_err(backend)?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(backend)? {
            each(row_to_span(row)?);
            n += 1;
        }
        Ok(n)
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

fn row_to_span(row: &rusqlite::Row<'_>) -> Result<StoredSpan, StoreError> {
    let bytes = |i: usize| -> Result<Vec<u8>, StoreError> { row.get(i).map_err(backend) };
    let trace_id: [u8; 16] = bytes(0)?
        .try_into()
        .map_err(|_| StoreError::Backend("a stored trace_id is not 16 bytes".into()))?;
    let span_id: [u8; 8] = bytes(1)?
        .try_into()
        .map_err(|_| StoreError::Backend("a stored span_id is not 8 bytes".into()))?;
    let event_id: Option<String> = row.get(9).map_err(backend)?;
    let fields: String = row.get(15).map_err(backend)?;
    Ok(StoredSpan {
        trace_id,
        span_id,
        command: row.get(2).map_err(backend)?,
        start_unix_nano: row.get::<_, i64>(3).map_err(backend)?.max(0) as u64,
        end_unix_nano: row.get::<_, i64>(4).map_err(backend)?.max(0) as u64,
        success: row.get(5).map_err(backend)?,
        error: row.get(6).map_err(backend)?,
        duration_ms: row.get(7).map_err(backend)?,
        session_id: row.get(8).map_err(backend)?,
        event_id: event_id.and_then(|s| uuid::Uuid::parse_str(&s).ok()),
        telemetry_version: row.get(10).map_err(backend)?,
        cli_version: row.get(11).map_err(backend)?,
        opt_in_source: row.get(12).map_err(backend)?,
        service_name: row.get(13).map_err(backend)?,
        deployment_environment: row.get(14).map_err(backend)?,
        fields: fields_from_json(&fields)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use specfact_telemetry::FieldValue;
    use std::time::Duration;

    fn span(n: u8, start_s: u64) -> StoredSpan {
        StoredSpan {
            trace_id: [n; 16],
            span_id: [n; 8],
            command: "repro.run".into(),
            start_unix_nano: start_s * 1_000_000_000,
            end_unix_nano: start_s * 1_000_000_000 + 5,
            success: n.is_multiple_of(2),
            error: (n % 2 == 1).then(|| "Exit".to_owned()),
            duration_ms: 12.5,
            session_id: "0123456789abcdef0123456789abcdef".into(),
            event_id: Some(uuid::Uuid::from_u128(u128::from(n))),
            telemetry_version: Some("1.0".into()),
            cli_version: Some("0.20.5".into()),
            opt_in_source: Some("env".into()),
            service_name: "specfact-cli".into(),
            deployment_environment: "production".into(),
            fields: vec![
                ("files_analyzed".into(), FieldValue::Int(140)),
                ("mode".into(), FieldValue::Str("repro".into())),
            ],
        }
    }

    #[test]
    fn each_span_is_stored_once_and_reads_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sub/t.db")).unwrap();
        let spans: Vec<_> = (1..=3)
            .map(|n| span(n, 1_800_000_000 + u64::from(n)))
            .collect();
        assert_eq!(
            store.insert(&spans).unwrap(),
            InsertOutcome {
                inserted: 3,
                duplicates: 0
            }
        );
        assert_eq!(
            store.insert(&spans[1..]).unwrap(),
            InsertOutcome {
                inserted: 0,
                duplicates: 2
            }
        );
        let stats = store.stats().unwrap();
        assert_eq!((stats.events_stored, stats.duplicates), (3, 2));
        let mut back = Vec::new();
        let n = store
            .events(SystemTime::UNIX_EPOCH, &mut |s| back.push(s))
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(back, spans);
        drop(store);
        let reopened = SqliteStore::open(&dir.path().join("sub/t.db")).unwrap();
        assert_eq!(reopened.stats().unwrap().duplicates, 2);
    }

    #[test]
    fn retain_deletes_only_older_spans() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let spans: Vec<_> = (1..=4).map(|n| span(n, 1_000 * u64::from(n))).collect();
        store.insert(&spans).unwrap();
        let cut = SystemTime::UNIX_EPOCH + Duration::from_secs(2_500);
        assert_eq!(store.retain(cut).unwrap(), 2);
        let mut left = Vec::new();
        store
            .events(SystemTime::UNIX_EPOCH, &mut |s| left.push(s.span_id[0]))
            .unwrap();
        assert_eq!(left, vec![3, 4]);
        let mut since = Vec::new();
        store
            .events(
                SystemTime::UNIX_EPOCH + Duration::from_secs(4_000),
                &mut |s| since.push(s.span_id[0]),
            )
            .unwrap();
        assert_eq!(since, vec![4]);
    }

    #[test]
    fn an_unwritable_location_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let err = SqliteStore::open(&file.join("x.db")).unwrap_err();
        assert!(err.to_string().contains("choose another --store"), "{err}");
    }
}
