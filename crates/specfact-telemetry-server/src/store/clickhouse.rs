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
//!   copies until ClickHouse merges them, and every read counts it once (`FINAL`) and returns
//!   it once (the read back marks identities stored more than once, and the store passes on
//!   their first row only). So `events_stored` and the spans read back are exact; only the
//!   duplicates counter can miss such a race.
//! - **2xx means written.** [`Store::insert`] returns once ClickHouse has answered the
//!   `INSERT` (it answers after writing the part). Concurrent inserts are written together
//!   ([`group_commit`]), so ClickHouse sees a few large inserts rather than many small ones.
//! - **Retention** drops whole months older than the cut, then deletes the rest with an
//!   `ALTER TABLE … DELETE` and waits until ClickHouse has applied it.

mod client;
mod group_commit;
mod partition;
mod rowbinary;
mod schema;

use std::collections::HashSet;
use std::io::{BufReader, Read};
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
    /// Each row's partition (`YYYYMM`).
    months: Vec<u32>,
}

impl Encoded {
    fn new(spans: &[StoredSpan]) -> Encoded {
        let mut e = Encoded {
            ids: Vec::with_capacity(spans.len()),
            rows: Vec::with_capacity(spans.len() * 256),
            ends: Vec::with_capacity(spans.len()),
            months: Vec::with_capacity(spans.len()),
        };
        for s in spans {
            e.ids.push((s.trace_id, s.span_id));
            e.months.push(partition::month_of(s.start_unix_nano));
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
        let mut rows: Vec<(u32, &[u8])> = Vec::new();
        let mut outcomes = Vec::with_capacity(group.len());
        for e in group {
            let mut o = InsertOutcome::default();
            for (i, id) in e.ids.iter().enumerate() {
                if stored.contains(id) || !seen.insert(*id) {
                    o.duplicates += 1;
                } else {
                    o.inserted += 1;
                    rows.push((e.months[i], e.row(i)));
                }
            }
            outcomes.push(o);
        }
        if !rows.is_empty() {
            for body in partition::insert_bodies(&rows, partition::MAX_MONTHS_PER_INSERT) {
                self.client
                    .insert(&self.insert_spans, &body)
                    .map_err(Failure::into_store_error)?;
            }
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

    /// The one number a `FINAL` count answers.
    fn final_count(&self, sql: &str) -> Result<u64, StoreError> {
        let text = self
            .client
            .text_with(sql, schema::FINAL_SETTINGS)
            .map_err(Failure::into_store_error)?;
        parse_numbers(&text, 1).map(|n| n[0])
    }

    fn number(&self, sql: &str) -> Result<u64, StoreError> {
        let text = self.client.text(sql).map_err(Failure::into_store_error)?;
        parse_numbers(&text, 1).map(|n| n[0])
    }

    /// The months (`YYYYMM`) that hold spans, oldest first; `None` when the table is not
    /// partitioned the way this store creates it (a table made by hand may be otherwise).
    fn months(&self) -> Result<Option<Vec<u32>>, StoreError> {
        let key = self
            .client
            .text(schema::PARTITION_KEY_OF_SPANS)
            .map_err(Failure::into_store_error)?;
        if !schema::is_our_partition_key(key.trim()) {
            return Ok(None);
        }
        let partitions = self
            .client
            .text(schema::PARTITIONS)
            .map_err(Failure::into_store_error)?;
        let mut months: Vec<u32> = partitions
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        months.sort_unstable();
        months.dedup();
        Ok(Some(months))
    }

    /// Drops the months entirely before the month of `cut`.
    fn drop_old_months(&self, cut: u64) -> Result<(), StoreError> {
        let Some(months) = self.months()? else {
            return Ok(());
        };
        let cut_month = partition::month_of(cut);
        for month in months.into_iter().filter(|m| *m < cut_month) {
            self.client
                .text(&schema::drop_partition(month))
                .map_err(Failure::into_store_error)?;
        }
        Ok(())
    }

    /// Streams the spans that started from `first` to `last` to `each`; returns how many.
    fn read_range(
        &self,
        first: u64,
        last: u64,
        each: &mut dyn FnMut(StoredSpan),
    ) -> Result<u64, StoreError> {
        let answer = self
            .client
            .stream(&schema::select_range(first, last), schema::RANGE_SETTINGS)
            .map_err(Failure::into_store_error)?;
        each_once(&mut BufReader::with_capacity(64 * 1024, answer), each)
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
            .text_with(schema::STATS, schema::FINAL_SETTINGS)
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
        let deleted = self.final_count(&schema::count_before(cut))?;
        if deleted == 0 {
            return Ok(0);
        }
        self.drop_old_months(cut)?;
        // Another server's deletion may be running (each replica runs retention): let it
        // finish, then delete only what it left.
        self.wait_for_mutations()?;
        if self.final_count(&schema::count_before(cut))? > 0 {
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
        let since = unix_nanos(since);
        // Month by month: each query sorts one month (spilling to disk past 64 MiB) and finds
        // its copies, however many months clients spread their spans over.
        let ranges: Vec<(u64, u64)> = match self.months()? {
            Some(months) => months
                .into_iter()
                .filter_map(partition::month_range)
                .filter(|(_, last)| *last >= since)
                .map(|(first, last)| (first.max(since), last))
                .collect(),
            None => vec![(since, u64::MAX)],
        };
        let mut n = 0;
        for (first, last) in ranges {
            n += self.read_range(first, last, each)?;
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

/// Decodes the answer of [`schema::select_range`] and passes each span to `each`, but a span
/// whose identity the range holds more than once only the first time; returns how many were
/// passed on. Only the identities with copies are remembered (ClickHouse merges copies, so
/// there are few).
fn each_once(r: &mut impl Read, each: &mut dyn FnMut(StoredSpan)) -> Result<u64, StoreError> {
    let mut copied: HashSet<Identity> = HashSet::new();
    let mut n = 0;
    while let Some(span) = rowbinary::read_span(r).map_err(decode_error)? {
        let has_copies = rowbinary::read_flag(r).map_err(decode_error)?;
        if has_copies && !copied.insert((span.trace_id, span.span_id)) {
            continue;
        }
        each(span);
        n += 1;
    }
    Ok(n)
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
    fn spans_marked_as_copied_are_passed_on_once() {
        let a = test_span(1, 10);
        let b = test_span(2, 10);
        let c = test_span(3, 15);
        // A copy of `a` with another start (a client that sent the span again, changed), read
        // back later in the range.
        let a_later = test_span(1, 20);
        let mut rows = Vec::new();
        for (s, copied) in [(&a, 1), (&b, 0), (&c, 1), (&c, 1), (&a_later, 1)] {
            rowbinary::write_span(&mut rows, s);
            rows.push(copied);
        }
        let mut seen = Vec::new();
        let n = each_once(&mut &rows[..], &mut |s| seen.push(s)).unwrap();
        assert_eq!(seen, vec![a, b, c]);
        assert_eq!(n, 3);
        let mut nothing = 0;
        assert_eq!(each_once(&mut &[][..], &mut |_| nothing += 1).unwrap(), 0);
        assert_eq!(nothing, 0);
        // A row without its mark, or cut short, is an error, not a shorter read.
        assert!(each_once(&mut &rows[..rows.len() - 1], &mut |_| ()).is_err());
        assert!(each_once(&mut &rows[..rows.len() - 2], &mut |_| ()).is_err());
    }

    fn test_span(n: u8, start: u64) -> StoredSpan {
        StoredSpan {
            trace_id: [n; 16],
            span_id: [n; 8],
            command: "repro.run".into(),
            start_unix_nano: start,
            end_unix_nano: start + 1,
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
        }
    }

    #[test]
    fn encoded_rows_are_found_by_index() {
        let mut span = StoredSpan {
            span_id: [2; 8],
            command: "a".into(),
            ..test_span(1, 1)
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
