//! The ClickHouse store: spans in a ClickHouse database that any number of server replicas
//! share, over ClickHouse's HTTP interface.
//!
//! - **Tables** ([`schema`]): `spans`, a `ReplacingMergeTree` partitioned by month and ordered
//!   by `(trace_id, span_id)`, and `counters`, a `SummingMergeTree`. Created when missing;
//!   tables created beforehand (replicated ones, say) are used as they are if their columns
//!   match.
//! - **Each span once.** Before writing, the store asks which of the batch's identities are
//!   stored already, and writes only the others; those are the batch's duplicates. Two servers
//!   receiving the same span at the same instant may both write it: the table then holds two
//!   copies until ClickHouse merges them, and every read (`FINAL`) counts and returns it once.
//!   So `events_stored` and the spans read back are exact; only the duplicates counter can miss
//!   such a race.
//! - **2xx means written.** [`Store::insert`] returns once ClickHouse has answered the
//!   `INSERT` (it answers after writing the part). Concurrent inserts are written together
//!   ([`group_commit`]), so ClickHouse sees a few large inserts rather than many small ones.
//! - **Retention** drops whole months older than the cut, then deletes the rest with an
//!   `ALTER TABLE … DELETE` and waits until ClickHouse has applied it.

mod client;
mod group_commit;
mod rowbinary;
mod schema;

use std::collections::HashSet;
use std::io::BufReader;
use std::time::{Duration, Instant, SystemTime};

use client::{Client, Failure};
use group_commit::GroupCommit;
use rowbinary::Identity;

use super::{ClickHouseUrl, InsertOutcome, Store, StoreError, StoreStats, StoredSpan, unix_nanos};

/// A group of concurrent inserts is written as one `INSERT` of at most this many spans.
const MAX_GROUP_SPANS: usize = 50_000;
/// How long [`Store::retain`] waits for ClickHouse to apply a deletion.
const DELETE_TIMEOUT: Duration = Duration::from_secs(600);

/// Spans in a ClickHouse database, shared by any number of server replicas.
pub struct ClickHouseStore {
    client: Client,
    location: String,
    insert_spans: String,
    commits: GroupCommit<Encoded>,
}

impl std::fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// One caller's spans: identities, and the `RowBinary` rows back to back.
struct Encoded {
    ids: Vec<Identity>,
    rows: Vec<u8>,
    /// Where each row ends in `rows`.
    ends: Vec<usize>,
}

impl Encoded {
    fn new(spans: &[StoredSpan]) -> Encoded {
        let mut e = Encoded {
            ids: Vec::with_capacity(spans.len()),
            rows: Vec::with_capacity(spans.len() * 256),
            ends: Vec::with_capacity(spans.len()),
        };
        for s in spans {
            e.ids.push((s.trace_id, s.span_id));
            rowbinary::write_span(&mut e.rows, s);
            e.ends.push(e.rows.len());
        }
        e
    }

    fn row(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.rows[start..self.ends[i]]
    }
}

impl ClickHouseStore {
    /// Connects to the database at `url`, creating it and the tables if missing, and checks
    /// that existing tables have the columns this version writes.
    pub fn open(url: &ClickHouseUrl) -> Result<ClickHouseStore, StoreError> {
        let client = Client::new(url);
        let location = format!("clickhouse:{}/{}", url.base(), url.database);
        let open_error = |reason: String| StoreError::Open {
            location: location.clone(),
            reason,
        };
        // Only what is missing is created, so a user without CREATE rights can write to
        // tables made beforehand (replicated ones, say).
        let existing = match client.text(schema::EXISTING_COLUMNS) {
            Ok(text) => Some(text),
            // 81: UNKNOWN_DATABASE.
            Err(Failure { code: Some(81), .. }) => None,
            Err(f) => return Err(open_error(hint(f))),
        };
        if existing.is_none() {
            let create_db = schema::create_database(&url.database).ok_or_else(|| {
                open_error("the database name must be letters, digits and _".into())
            })?;
            client
                .text_without_database(&create_db)
                .map_err(|f| open_error(hint(f)))?;
        }
        let has = |table: &str| {
            existing
                .as_deref()
                .is_some_and(|t| t.lines().any(|l| l.split('\t').next() == Some(table)))
        };
        for (table, create) in [
            ("spans", schema::create_spans()),
            ("counters", schema::CREATE_COUNTERS.to_owned()),
        ] {
            if !has(table) {
                client.text(&create).map_err(|f| open_error(hint(f)))?;
            }
        }
        let existing = client
            .text(schema::EXISTING_COLUMNS)
            .map_err(|f| open_error(hint(f)))?;
        check_columns(&existing).map_err(open_error)?;
        Ok(ClickHouseStore {
            client,
            location,
            insert_spans: schema::insert_spans(),
            commits: GroupCommit::new(MAX_GROUP_SPANS),
        })
    }

    /// Writes a group of concurrent inserts: one lookup of which identities are stored, one
    /// `INSERT` of the others, one counter row for the duplicates.
    fn write_group(&self, group: &[&Encoded]) -> Result<Vec<InsertOutcome>, StoreError> {
        let unique: HashSet<Identity> = group.iter().flat_map(|e| e.ids.iter().copied()).collect();
        let stored = self.stored(&unique.into_iter().collect::<Vec<_>>())?;
        let mut seen: HashSet<Identity> = HashSet::new();
        let mut rows = Vec::with_capacity(group.iter().map(|e| e.rows.len()).sum());
        let mut outcomes = Vec::with_capacity(group.len());
        for e in group {
            let mut o = InsertOutcome::default();
            for (i, id) in e.ids.iter().enumerate() {
                if stored.contains(id) || !seen.insert(*id) {
                    o.duplicates += 1;
                } else {
                    o.inserted += 1;
                    rows.extend_from_slice(e.row(i));
                }
            }
            outcomes.push(o);
        }
        if !rows.is_empty() {
            self.client
                .insert(&self.insert_spans, &rows)
                .map_err(Failure::into_store_error)?;
        }
        let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
        if duplicates > 0 {
            let mut row = Vec::new();
            rowbinary::write_counter(&mut row, schema::DUPLICATES, duplicates);
            // The spans are written: the answer must be a success, or the client would send
            // them again. A counter row that cannot be written after a second try is lost (the
            // duplicates figure falls short), never the spans.
            if self.client.insert(schema::INSERT_COUNTERS, &row).is_err() {
                let _ = self.client.insert(schema::INSERT_COUNTERS, &row);
            }
        }
        Ok(outcomes)
    }

    /// Which of `ids` the table holds (in any copy).
    fn stored(&self, ids: &[Identity]) -> Result<HashSet<Identity>, StoreError> {
        let mut stored = HashSet::new();
        for chunk in ids.chunks(schema::SELECT_STORED_CHUNK) {
            let mut rows = Vec::with_capacity(chunk.len() * 24);
            for (trace_id, span_id) in chunk {
                rows.extend_from_slice(trace_id);
                rows.extend_from_slice(span_id);
            }
            let answer = self
                .client
                .bytes_with_table(schema::SELECT_STORED, schema::LOOKUP_TABLE, &rows)
                .map_err(Failure::into_store_error)?;
            let mut r = &answer[..];
            while let Some(id) = rowbinary::read_identity(&mut r).map_err(decode_error)? {
                stored.insert(id);
            }
        }
        Ok(stored)
    }

    fn number(&self, sql: &str) -> Result<u64, StoreError> {
        let text = self.client.text(sql).map_err(Failure::into_store_error)?;
        parse_numbers(&text, 1).map(|n| n[0])
    }

    /// Drops the months entirely before the month of `cut`, when the table is partitioned the
    /// way this store creates it (a table created by hand may be partitioned otherwise).
    fn drop_old_months(&self, cut: u64) -> Result<(), StoreError> {
        let key = self
            .client
            .text(schema::PARTITION_KEY_OF_SPANS)
            .map_err(Failure::into_store_error)?;
        if !schema::is_our_partition_key(key.trim()) {
            return Ok(());
        }
        let cut_month = self.number(&schema::partition_of(cut))?;
        let partitions = self
            .client
            .text(schema::PARTITIONS)
            .map_err(Failure::into_store_error)?;
        for line in partitions.lines() {
            // A partition id of this key is a YYYYMM number; anything else is left alone.
            let Ok(month) = line.trim().parse::<u32>() else {
                continue;
            };
            if u64::from(month) < cut_month {
                self.client
                    .text(&schema::drop_partition(month))
                    .map_err(Failure::into_store_error)?;
            }
        }
        Ok(())
    }

    fn wait_for_mutations(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + DELETE_TIMEOUT;
        let mut pause = Duration::from_millis(20);
        while self.number(schema::PENDING_MUTATIONS)? > 0 {
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "ClickHouse has not finished deleting old spans after {}s; it goes on in the background (see system.mutations)",
                    DELETE_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
        Ok(())
    }
}

impl Store for ClickHouseStore {
    fn insert(&self, spans: &[StoredSpan]) -> Result<InsertOutcome, StoreError> {
        if spans.is_empty() {
            return Ok(InsertOutcome::default());
        }
        self.commits
            .submit(Encoded::new(spans), spans.len(), &|group| {
                self.write_group(group)
            })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let text = self
            .client
            .text(schema::STATS)
            .map_err(Failure::into_store_error)?;
        let n = parse_numbers(&text, 4)?;
        let stored = n[0];
        Ok(StoreStats {
            events_stored: stored,
            duplicates: n[3],
            oldest_start_unix_nano: (stored > 0).then_some(n[1]),
            newest_start_unix_nano: (stored > 0).then_some(n[2]),
        })
    }

    fn retain(&self, older_than: SystemTime) -> Result<u64, StoreError> {
        let cut = unix_nanos(older_than);
        let deleted = self.number(&schema::count_before(cut))?;
        if deleted == 0 {
            return Ok(0);
        }
        self.drop_old_months(cut)?;
        // Another server's deletion may be running (each replica runs retention): let it
        // finish, then delete only what it left.
        self.wait_for_mutations()?;
        if self.number(&schema::count_before(cut))? > 0 {
            self.client
                .text(&schema::delete_before(cut))
                .map_err(Failure::into_store_error)?;
            self.wait_for_mutations()?;
        }
        Ok(deleted)
    }

    fn events(
        &self,
        since: SystemTime,
        each: &mut dyn FnMut(StoredSpan),
    ) -> Result<u64, StoreError> {
        let answer = self
            .client
            .stream(&schema::select_since(unix_nanos(since)))
            .map_err(Failure::into_store_error)?;
        let mut r = BufReader::with_capacity(64 * 1024, answer);
        let mut n = 0;
        while let Some(span) = rowbinary::read_span(&mut r).map_err(decode_error)? {
            each(span);
            n += 1;
        }
        Ok(n)
    }

    fn kind(&self) -> &'static str {
        "clickhouse"
    }
}

/// The failure's message, with what to do when ClickHouse cannot be reached.
fn hint(f: Failure) -> String {
    if f.status.is_none() {
        format!(
            "{f}; start ClickHouse or correct --store (clickhouse:http://HOST:PORT/DATABASE, port 8123 by default)"
        )
    } else {
        f.message
    }
}

fn decode_error(e: rowbinary::DecodeError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Exactly `count` tab-separated unsigned numbers on the answer's one line.
fn parse_numbers(text: &str, count: usize) -> Result<Vec<u64>, StoreError> {
    let numbers: Option<Vec<u64>> = text
        .trim_end_matches('\n')
        .split('\t')
        .map(|v| v.parse().ok())
        .collect();
    match numbers {
        Some(n) if n.len() == count => Ok(n),
        _ => Err(StoreError::Backend(format!(
            "ClickHouse answered {:?} where {count} number(s) were expected",
            text.chars().take(80).collect::<String>()
        ))),
    }
}

/// Checks that the database's `spans` and `counters` have every column this version writes,
/// with the same type. `existing` is `table\tname\ttype` lines.
fn check_columns(existing: &str) -> Result<(), String> {
    let have: HashSet<(&str, &str, &str)> = existing
        .lines()
        .filter_map(|l| {
            let mut p = l.split('\t');
            Some((p.next()?, p.next()?, p.next()?))
        })
        .collect();
    let want = schema::SPAN_COLUMNS
        .iter()
        .map(|(name, ty, _)| ("spans", *name, *ty))
        .chain([
            ("counters", "name", "String"),
            ("counters", "value", "UInt64"),
        ]);
    let missing: Vec<String> = want
        .filter(|w| !have.contains(w))
        .map(|(table, name, ty)| format!("{table}.{name} {ty}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the existing tables lack the columns {} (created by another version?); add them with ALTER TABLE … ADD COLUMN, or use another database",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_strictly() {
        assert_eq!(parse_numbers("3\t5\t7\t0\n", 4).unwrap(), vec![3, 5, 7, 0]);
        assert!(parse_numbers("3\t5\n", 4).is_err());
        assert!(parse_numbers("x\n", 1).is_err());
        assert!(parse_numbers("", 1).is_err());
    }

    #[test]
    fn missing_or_retyped_columns_are_named() {
        let mut all: String = schema::SPAN_COLUMNS
            .iter()
            .map(|(n, t, _)| format!("spans\t{n}\t{t}\n"))
            .collect();
        all.push_str("counters\tname\tString\ncounters\tvalue\tUInt64\n");
        assert_eq!(check_columns(&all), Ok(()));
        let extra = format!("{all}spans\tadded_by_hand\tString\n");
        assert_eq!(check_columns(&extra), Ok(()));
        let retyped = all.replace("spans\tsuccess\tUInt8", "spans\tsuccess\tString");
        let err = check_columns(&retyped).unwrap_err();
        assert!(err.contains("spans.success UInt8"), "{err}");
        let err = check_columns("").unwrap_err();
        assert!(err.contains("counters.value UInt64"), "{err}");
    }

    #[test]
    fn encoded_rows_are_found_by_index() {
        let mut span = StoredSpan {
            trace_id: [1; 16],
            span_id: [2; 8],
            command: "a".into(),
            start_unix_nano: 1,
            end_unix_nano: 2,
            success: true,
            error: None,
            duration_ms: 1.0,
            session_id: String::new(),
            event_id: None,
            telemetry_version: None,
            cli_version: None,
            opt_in_source: None,
            service_name: String::new(),
            deployment_environment: String::new(),
            fields: Vec::new(),
        };
        let first = span.clone();
        span.command = "longer.command".into();
        let e = Encoded::new(&[first.clone(), span.clone()]);
        let mut r = e.row(0);
        assert_eq!(rowbinary::read_span(&mut r).unwrap(), Some(first));
        assert!(r.is_empty());
        let mut r = e.row(1);
        assert_eq!(rowbinary::read_span(&mut r).unwrap(), Some(span));
    }
}
