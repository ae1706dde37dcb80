//! The ClickHouse tables and the SQL the store sends, in one place.
//!
//! Every statement here runs unchanged on ClickHouse 18.16 (Debian's, tested) and on current
//! releases: the `ENGINE … PARTITION BY … ORDER BY …` form (18.16 has it since 1.1.54310),
//! no `Nullable` in a sorting key, no `DateTime64` or `LowCardinality`, no query parameters
//! (`{name:Type}` came in 19.x). Nothing a client sent is ever part of a statement: rows and
//! the identities looked up go as `RowBinary` bodies; the only values written into SQL text are
//! times (numbers) and month numbers ClickHouse itself listed.

use std::fmt::Write as _;

/// The `spans` table's columns, in the order `RowBinary` rows carry them, with their types and
/// what they hold (the README's storage section says the same).
pub(super) const SPAN_COLUMNS: &[(&str, &str, &str)] = &[
    ("trace_id", "FixedString(16)", "OTLP trace id, raw bytes"),
    (
        "span_id",
        "FixedString(8)",
        "OTLP span id, raw bytes; with trace_id the identity, stored once",
    ),
    (
        "command",
        "String",
        "command without the specfact. prefix, e.g. repro.run",
    ),
    (
        "start_unix_nano",
        "UInt64",
        "span start, Unix nanoseconds, UTC",
    ),
    ("end_unix_nano", "UInt64", "span end, Unix nanoseconds, UTC"),
    ("success", "UInt8", "1 if the command succeeded"),
    (
        "error",
        "Nullable(String)",
        "error type name (Exit, TimeoutError), never a message",
    ),
    ("duration_ms", "Float64", "command duration, milliseconds"),
    (
        "session_id",
        "String",
        "random per-process id, 32 hex digits, or empty",
    ),
    (
        "event_id",
        "Nullable(String)",
        "the event id (UUID v7), hyphenated",
    ),
    (
        "telemetry_version",
        "Nullable(String)",
        "event format version",
    ),
    ("cli_version", "Nullable(String)", "version of the host CLI"),
    (
        "opt_in_source",
        "Nullable(String)",
        "how the user opted in: env, config or file",
    ),
    ("service_name", "String", "resource service.name, or empty"),
    (
        "deployment_environment",
        "String",
        "resource deployment.environment, or empty",
    ),
    (
        "fields",
        "String",
        "allow-listed, typed metadata as one JSON object",
    ),
];

/// The partition key: the month (UTC) the span started. A re-sent span has the same start, so
/// its copies meet in one partition, where `ReplacingMergeTree` merges them into one row;
/// retention drops whole months.
pub(super) const PARTITION_KEY: &str =
    "toYYYYMM(toDateTime(intDiv(start_unix_nano, 1000000000), 'UTC'))";

/// `CREATE TABLE IF NOT EXISTS spans …`, built from [`SPAN_COLUMNS`].
pub(super) fn create_spans() -> String {
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS spans\n(\n");
    for (i, (name, ty, comment)) in SPAN_COLUMNS.iter().enumerate() {
        let sep = if i + 1 < SPAN_COLUMNS.len() { "," } else { "" };
        let _ = writeln!(sql, "    {name} {ty} COMMENT '{comment}'{sep}");
    }
    let _ = write!(
        sql,
        ")\nENGINE = ReplacingMergeTree\nPARTITION BY {PARTITION_KEY}\nORDER BY (trace_id, span_id)"
    );
    sql
}

/// Counters shared by every server on the database; each insert adds a row, reads sum them.
pub(super) const CREATE_COUNTERS: &str = "CREATE TABLE IF NOT EXISTS counters
(
    name String COMMENT 'counter name: duplicates',
    value UInt64 COMMENT 'an increment; the counter is the sum'
)
ENGINE = SummingMergeTree
ORDER BY name";

/// The counter of duplicate deliveries.
pub(super) const DUPLICATES: &str = "duplicates";

/// `INSERT INTO spans (…) FORMAT RowBinary`: the statement of an insert whose rows follow as
/// the request body.
pub(super) fn insert_spans() -> String {
    format!(
        "INSERT INTO spans ({}) FORMAT RowBinary",
        column_list(SPAN_COLUMNS)
    )
}

/// `INSERT INTO counters (name, value) FORMAT RowBinary`.
pub(super) const INSERT_COUNTERS: &str = "INSERT INTO counters (name, value) FORMAT RowBinary";

/// Which identities of the external table [`LOOKUP_TABLE`] are stored already (in any copy:
/// no `FINAL` needed). The identities travel as the table's `RowBinary` body, not as SQL text,
/// and the lookup uses the primary key.
pub(super) const SELECT_STORED: &str =
    "SELECT trace_id, span_id FROM spans WHERE (trace_id, span_id) IN lookup FORMAT RowBinary";

/// The external table [`SELECT_STORED`] reads: its name and structure.
pub(super) const LOOKUP_TABLE: (&str, &str) =
    ("lookup", "trace_id FixedString(16), span_id FixedString(8)");

/// Identities per [`SELECT_STORED`]: 50,000 are a 1.2 MB body, looked up in a few milliseconds.
pub(super) const SELECT_STORED_CHUNK: usize = 50_000;

/// Settings of the statements that read with `FINAL` ([`STATS`], [`count_before`]).
///
/// 18.16's `FINAL` reads every part of the table at once, each through its own buffers and
/// blocks of `max_block_size` rows (65,536 by default): 10 million spans in 78 parts needed
/// 174 MiB for [`STATS`], 56 MiB with blocks of 4,096 rows (under 1 MB a part).
pub(super) const FINAL_SETTINGS: &[(&str, &str)] = &[("max_block_size", "4096")];

/// Distinct spans, the oldest and newest start, and the duplicates counter, in one row of
/// tab-separated numbers. `FINAL` merges copies not merged yet, so each span counts once.
pub(super) const STATS: &str = "SELECT count(), min(start_unix_nano), max(start_unix_nano),
    (SELECT sum(value) FROM counters WHERE name = 'duplicates')
FROM spans FINAL
FORMAT TabSeparated";

/// Distinct spans that started before `cut` (Unix nanoseconds).
pub(super) fn count_before(cut: u64) -> String {
    format!("SELECT count() FROM spans FINAL WHERE start_unix_nano < {cut} FORMAT TabSeparated")
}

/// The partition key of the database's `spans` table, as ClickHouse shows it.
pub(super) const PARTITION_KEY_OF_SPANS: &str = "SELECT partition_key FROM system.tables
WHERE database = currentDatabase() AND name = 'spans'
FORMAT TabSeparated";

/// Whether `key` (from [`PARTITION_KEY_OF_SPANS`], escaped as `TabSeparated` escapes) is
/// [`PARTITION_KEY`], whatever the spacing.
pub(super) fn is_our_partition_key(key: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect()
    };
    norm(key) == norm(PARTITION_KEY)
}

/// The partitions of `spans` that hold data, one `YYYYMM` per line.
pub(super) const PARTITIONS: &str = "SELECT DISTINCT partition FROM system.parts
WHERE database = currentDatabase() AND table = 'spans' AND active
FORMAT TabSeparated";

/// Drops one month.
pub(super) fn drop_partition(month: u32) -> String {
    format!("ALTER TABLE spans DROP PARTITION {month}")
}

/// Deletes the spans that started before `cut` (a mutation: ClickHouse applies it in the
/// background; [`PENDING_MUTATIONS`] says when it is done).
pub(super) fn delete_before(cut: u64) -> String {
    format!("ALTER TABLE spans DELETE WHERE start_unix_nano < {cut}")
}

/// How many mutations of `spans` are not finished yet.
pub(super) const PENDING_MUTATIONS: &str = "SELECT count() FROM system.mutations
WHERE database = currentDatabase() AND table = 'spans' AND is_done = 0
FORMAT TabSeparated";

/// Every stored row that started from `first` to `last` (inclusive), in start then identity
/// order, each followed by a `UInt8` that is 1 when the range holds more than one row of its
/// identity (copies ClickHouse has not merged yet; the store passes on the first only). Run it
/// with [`RANGE_SETTINGS`].
///
/// No `FINAL`: 18.16 merges every part of the month at once, with buffers for each column of
/// each part, so memory grows with the number of parts — large exactly when merges lag behind
/// ingest (one month of 851,648 spans in 80 parts went past a 1 GB limit per query). The copies are found by grouping the identities
/// alone instead, in the same query.
pub(super) fn select_range(first: u64, last: u64) -> String {
    let range = format!("start_unix_nano >= {first} AND start_unix_nano <= {last}");
    format!(
        "SELECT {}, (trace_id, span_id) IN (
    SELECT trace_id, span_id FROM spans WHERE {range}
    GROUP BY trace_id, span_id HAVING count() > 1)
FROM spans WHERE {range}
ORDER BY start_unix_nano, trace_id, span_id
FORMAT RowBinary",
        column_list(SPAN_COLUMNS)
    )
}

/// Settings of [`select_range`]: sort at most 64 MiB of rows in memory, and group at most
/// 32 MiB of identities, spilling the rest to ClickHouse's temporary directory; blocks of 4,096
/// rows.
///
/// Sorting a month in memory took 524 MiB on 18.16 for the 851,648 spans of one month of a
/// 10-million-span year (with `FINAL` over 40 parts 790 MiB, over 80 more than 1 GB); with
/// these settings the same month needs 116–119 MiB, in 6, 40 or 80 parts. What still grows is the merge of the sorted runs
/// spilled to disk, one block of each at a time: 252 MiB for 3.3 million spans in one query,
/// 670 MiB for 10 million, so a 1 GB limit is reached only past about 15 million spans in one
/// month. The settings exist, under these names, in 18.16 and in current releases.
pub(super) const RANGE_SETTINGS: &[(&str, &str)] = &[
    ("max_block_size", "4096"),
    ("max_bytes_before_external_sort", "67108864"),
    ("max_bytes_before_external_group_by", "33554432"),
];

/// The columns of the two tables as the database has them (`table`, `name`, `type`).
pub(super) const EXISTING_COLUMNS: &str = "SELECT table, name, type FROM system.columns
WHERE database = currentDatabase() AND table IN ('spans', 'counters')
FORMAT TabSeparated";

/// `CREATE DATABASE IF NOT EXISTS` for a name already checked to be letters, digits and `_`.
pub(super) fn create_database(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| format!("CREATE DATABASE IF NOT EXISTS {name}"))
}

fn column_list(columns: &[(&str, &str, &str)]) -> String {
    columns
        .iter()
        .map(|(name, _, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_built_from_the_column_list() {
        let sql = create_spans();
        for (name, ty, _) in SPAN_COLUMNS {
            assert!(
                sql.contains(&format!("    {name} {ty} COMMENT '")),
                "{name}"
            );
        }
        assert!(sql.ends_with("ORDER BY (trace_id, span_id)"));
        for (_, _, comment) in SPAN_COLUMNS {
            assert!(!comment.contains('\''));
        }
        assert!(insert_spans().starts_with("INSERT INTO spans (trace_id, span_id, command, "));
        let range = select_range(5, 9);
        assert!(
            range.contains("\nFROM spans WHERE start_unix_nano >= 5 AND start_unix_nano <= 9\n")
        );
        assert!(!range.contains("FINAL"));
    }

    #[test]
    fn only_plain_database_names_are_created() {
        assert_eq!(
            create_database("telemetry_1").as_deref(),
            Some("CREATE DATABASE IF NOT EXISTS telemetry_1")
        );
        for bad in ["", "1x", "a-b", "a;DROP", "a b", "`x`"] {
            assert_eq!(create_database(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_partition_key_is_recognized_as_clickhouse_shows_it() {
        assert!(is_our_partition_key(
            "toYYYYMM(toDateTime(intDiv(start_unix_nano, 1000000000), \\'UTC\\'))"
        ));
        assert!(!is_our_partition_key(
            "toYYYYMMDD(toDateTime(intDiv(start_unix_nano, 1000000000), \\'UTC\\'))"
        ));
        assert!(!is_our_partition_key(""));
    }
}
