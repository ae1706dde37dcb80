//! The ClickHouse store against a real ClickHouse (Debian's 18.16 in CI), started and stopped
//! by each test (`support/clickhouse.rs`): each span once across retries, concurrent callers
//! and several servers; stats, retention and reading back; credentials and failures.

#[path = "support/clickhouse.rs"]
mod clickhouse;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clickhouse::ClickHouse;
use specfact_telemetry::FieldValue;
use specfact_telemetry_server::store::{
    self, InsertOutcome, Store, StoreError, StoreLocation, StoredSpan,
};

fn span(n: u32, start_s: u64) -> StoredSpan {
    let b = n.to_be_bytes();
    StoredSpan {
        trace_id: [
            b[0], b[1], b[2], b[3], 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ],
        span_id: [b[0], b[1], b[2], b[3], 0xaa, 0xbb, 0xcc, 0xdd],
        command: "repro.run".into(),
        start_unix_nano: start_s * 1_000_000_000 + u64::from(n),
        end_unix_nano: start_s * 1_000_000_000 + u64::from(n) + 5_000_000,
        success: n.is_multiple_of(2),
        error: (!n.is_multiple_of(2)).then(|| "Exit".to_owned()),
        duration_ms: 5.25,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        event_id: Some(uuid::Uuid::from_u128(u128::from(n) + 1)),
        telemetry_version: Some("1.0".into()),
        cli_version: (!n.is_multiple_of(3)).then(|| "0.20.5".to_owned()),
        opt_in_source: Some("env".into()),
        service_name: "specfact-cli".into(),
        deployment_environment: if n.is_multiple_of(2) {
            "production".into()
        } else {
            String::new()
        },
        fields: vec![
            ("files_analyzed".into(), FieldValue::Int(140)),
            ("mode".into(), FieldValue::Str("repro".into())),
            ("shadow_mode".into(), FieldValue::Bool(n.is_multiple_of(2))),
        ],
    }
}

/// 2027-01-15T08:00:00Z, and whole days around it.
const BASE: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn open(ch: &ClickHouse, database: &str) -> Arc<dyn Store> {
    let location: StoreLocation = ch.store_arg(database).parse().unwrap();
    store::open(&location).unwrap_or_else(|e| panic!("{e}"))
}

fn open_error(location: &StoreLocation) -> StoreError {
    match store::open(location) {
        Ok(_) => panic!("{location} opened"),
        Err(e) => e,
    }
}

fn outcome(inserted: u64, duplicates: u64) -> InsertOutcome {
    InsertOutcome {
        inserted,
        duplicates,
    }
}

fn read_all(store: &dyn Store, since: SystemTime) -> Vec<StoredSpan> {
    let mut all = Vec::new();
    let n = store.events(since, &mut |s| all.push(s)).unwrap();
    assert_eq!(n as usize, all.len());
    all
}

fn sorted(mut spans: Vec<StoredSpan>) -> Vec<StoredSpan> {
    spans.sort_by_key(|s| (s.start_unix_nano, s.trace_id, s.span_id));
    spans
}

#[test]
fn each_span_is_stored_once_and_reads_back_unchanged() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "telemetry");
    assert_eq!(store.kind(), "clickhouse");
    let spans: Vec<_> = (1..=3).map(|n| span(n, BASE + u64::from(n))).collect();
    assert_eq!(store.insert(&spans).unwrap(), outcome(3, 0));
    assert_eq!(store.insert(&spans[1..]).unwrap(), outcome(0, 2));
    // The same span twice in one batch: the second is a duplicate.
    let twice = [span(4, BASE + 4), span(4, BASE + 4)];
    assert_eq!(store.insert(&twice).unwrap(), outcome(1, 1));
    assert_eq!(store.insert(&[]).unwrap(), outcome(0, 0));

    let stats = store.stats().unwrap();
    assert_eq!((stats.events_stored, stats.duplicates), (4, 3));
    assert_eq!(stats.oldest_start_unix_nano, Some(spans[0].start_unix_nano));
    assert_eq!(stats.newest_start_unix_nano, Some(twice[0].start_unix_nano));
    let mut want = spans.clone();
    want.push(twice[0].clone());
    assert_eq!(read_all(&*store, SystemTime::UNIX_EPOCH), want);
    assert_eq!(ch.query_u64("SELECT count() FROM telemetry.spans"), 4);

    // A second server on the same database sees the same, duplicates included.
    drop(store);
    let again = open(&ch, "telemetry");
    assert_eq!(again.stats().unwrap().duplicates, 3);
    assert_eq!(again.insert(&spans).unwrap(), outcome(0, 3));
    assert_eq!(again.stats().unwrap().events_stored, 4);
}

#[test]
fn a_batch_spread_over_many_months_is_stored_whole() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    // 150 spans, one every 25 days back from 2027: about 125 months, more than one insert
    // may touch; read back month by month.
    let spans: Vec<_> = (0..150)
        .map(|n| span(n, BASE - u64::from(n) * 25 * DAY))
        .collect();
    assert_eq!(store.insert(&spans).unwrap(), outcome(150, 0));
    assert_eq!(store.insert(&spans).unwrap(), outcome(0, 150));
    assert_eq!(store.stats().unwrap().events_stored, 150);
    let months = ch.query_u64(
        "SELECT uniqExact(partition) FROM system.parts WHERE database = 't' AND table = 'spans' AND active",
    );
    assert!(months > 120, "{months}");
    assert_eq!(
        months,
        ch.query_u64(&format!(
            "SELECT uniqExact({}) FROM t.spans",
            "toYYYYMM(toDateTime(intDiv(start_unix_nano, 1000000000), 'UTC'))"
        ))
    );
    assert_eq!(read_all(&*store, SystemTime::UNIX_EPOCH), sorted(spans));
}

#[test]
fn an_empty_store_has_no_oldest_or_newest_span() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "empty");
    let stats = store.stats().unwrap();
    assert_eq!(stats.events_stored, 0);
    assert_eq!(stats.duplicates, 0);
    assert_eq!(stats.oldest_start_unix_nano, None);
    assert_eq!(stats.newest_start_unix_nano, None);
    assert!(read_all(&*store, SystemTime::UNIX_EPOCH).is_empty());
    assert_eq!(store.retain(SystemTime::now()).unwrap(), 0);
}

#[test]
fn copies_clickhouse_has_not_merged_yet_count_once() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    let s = span(7, BASE);
    store.insert(std::slice::from_ref(&s)).unwrap();
    // A second copy written past the store's check (as two servers racing would), in its
    // own part: ClickHouse keeps both rows until it merges them.
    ch.query("INSERT INTO t.spans SELECT * FROM t.spans");
    assert_eq!(ch.query_u64("SELECT count() FROM t.spans"), 2);
    assert_eq!(store.stats().unwrap().events_stored, 1);
    assert_eq!(read_all(&*store, SystemTime::UNIX_EPOCH), vec![s.clone()]);
    assert_eq!(store.insert(&[s]).unwrap(), outcome(0, 1));
}

#[test]
fn a_month_in_many_parts_is_read_back_within_a_small_memory_limit() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    // As when ClickHouse's merges lag behind ingest: one month in many parts (one per insert).
    ch.query("SYSTEM STOP MERGES t.spans");
    const PARTS: u32 = 24;
    const PER_PART: u32 = 10_000;
    for part in 0..PARTS {
        let spans: Vec<_> = (0..PER_PART)
            .map(|i| {
                let n = part * PER_PART + i;
                // Interleaved over ten days of one month, so every part spans the month.
                span(n, BASE + u64::from(n % 1_000) * 864)
            })
            .collect();
        assert_eq!(
            store.insert(&spans).unwrap(),
            outcome(u64::from(PER_PART), 0)
        );
    }
    let parts = ch.query_u64(
        "SELECT count() FROM system.parts WHERE database = 't' AND table = 'spans' AND active",
    );
    assert!(parts >= u64::from(PARTS), "{parts}");
    // A copy not merged yet, in a part of its own, still comes back once.
    ch.query("INSERT INTO t.spans SELECT * FROM t.spans WHERE span_id = unhex('00000007aabbccdd')");

    // A user whose queries may use at most 128 MB (tests/clickhouse/users.xml).
    let small: StoreLocation = format!("clickhouse:http://small_memory@127.0.0.1:{}/t", ch.port())
        .parse()
        .unwrap();
    let limited = store::open(&small).unwrap_or_else(|e| panic!("{e}"));
    let total = u64::from(PARTS * PER_PART);
    assert_eq!(limited.stats().unwrap().events_stored, total);
    let mut n = 0u64;
    let mut last = None;
    let visited = limited
        .events(SystemTime::UNIX_EPOCH, &mut |s| {
            let key = (s.start_unix_nano, s.trace_id, s.span_id);
            assert!(last < Some(key), "out of order or twice: {key:?}");
            last = Some(key);
            n += 1;
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((visited, n), (total, total));
}

#[test]
fn concurrent_callers_of_one_server_count_exactly() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    // 8 threads, 40 batches of 50 spans drawn from 600 distinct ones: many overlaps.
    let results: Vec<InsertOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u32)
            .map(|t| {
                let store = Arc::clone(&store);
                s.spawn(move || {
                    (0..5u32)
                        .map(|b| {
                            let first = (t * 37 + b * 91) % 550;
                            let batch: Vec<_> = (first..first + 50)
                                .map(|n| span(n, BASE + u64::from(n)))
                                .collect();
                            store.insert(&batch).unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let inserted: u64 = results.iter().map(|o| o.inserted).sum();
    let duplicates: u64 = results.iter().map(|o| o.duplicates).sum();
    assert_eq!(inserted + duplicates, 8 * 5 * 50);
    let stats = store.stats().unwrap();
    assert_eq!(stats.events_stored, inserted, "one server counts exactly");
    assert_eq!(stats.duplicates, duplicates);
    assert_eq!(
        ch.query_u64("SELECT count() FROM t.spans"),
        inserted,
        "no span written twice"
    );
    let back = read_all(&*store, SystemTime::UNIX_EPOCH);
    assert_eq!(back.len() as u64, inserted);
}

#[test]
fn several_servers_on_one_database_store_and_read_each_span_once() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let servers: Vec<_> = (0..3).map(|_| open(&ch, "shared")).collect();
    let all: Vec<_> = (0..300)
        .map(|n| span(n, BASE + u64::from(n % 40) * DAY))
        .collect();
    // Every server receives every span (a client retrying through a load balancer, at worst).
    let results: Vec<InsertOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| {
                let server = Arc::clone(server);
                let all = &all;
                s.spawn(move || {
                    all.chunks(64)
                        .map(|c| server.insert(c).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let inserted: u64 = results.iter().map(|o| o.inserted).sum();
    let duplicates: u64 = results.iter().map(|o| o.duplicates).sum();
    assert_eq!(inserted + duplicates, 3 * 300);
    // Racing servers may both write a span; it is still stored and read once.
    assert!(inserted >= 300, "{inserted}");
    for server in &servers {
        assert_eq!(server.stats().unwrap().events_stored, 300);
        assert_eq!(
            read_all(&**server, SystemTime::UNIX_EPOCH),
            sorted(all.clone())
        );
    }
}

#[test]
fn retention_deletes_exactly_the_older_spans_across_months() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    // 120 days of spans, one a day, starting 2027-01-15: five monthly partitions.
    let spans: Vec<_> = (0..120)
        .map(|n| span(n, BASE + u64::from(n) * DAY))
        .collect();
    assert_eq!(store.insert(&spans).unwrap(), outcome(120, 0));
    let partitions = |ch: &ClickHouse| {
        ch.query(
            "SELECT DISTINCT partition FROM system.parts \
             WHERE database = 't' AND table = 'spans' AND active ORDER BY partition",
        )
    };
    assert_eq!(partitions(&ch), "202701\n202702\n202703\n202704\n202705");

    // A cut in the middle of day 75 (2027-03-31), and in the middle of a month.
    let cut = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + 75 * DAY);
    assert_eq!(store.retain(cut).unwrap(), 75);
    assert_eq!(partitions(&ch), "202703\n202704\n202705");
    let left = read_all(&*store, SystemTime::UNIX_EPOCH);
    assert_eq!(left, spans[75..].to_vec());
    assert_eq!(store.stats().unwrap().events_stored, 45);
    assert_eq!(store.retain(cut).unwrap(), 0);

    // Reading from a time on.
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + 100 * DAY);
    assert_eq!(read_all(&*store, since), spans[100..].to_vec());
    // A span re-sent after its retention is stored again, like a new one.
    assert_eq!(store.insert(&spans[..2]).unwrap(), outcome(2, 0));
}

#[test]
fn credentials_in_the_url_are_used_and_never_shown() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let url = |user_info: &str| -> StoreLocation {
        format!(
            "clickhouse:http://{user_info}@127.0.0.1:{}/secured",
            ch.port()
        )
        .parse()
        .unwrap()
    };
    let store = store::open(&url("writer:test-only-password")).unwrap();
    assert_eq!(store.insert(&[span(1, BASE)]).unwrap(), outcome(1, 0));
    assert_eq!(store.stats().unwrap().events_stored, 1);

    let err = open_error(&url("writer:wrong-password-123"));
    let text = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{text}");
    assert!(text.contains("check the user and password"), "{text}");
    assert!(!text.contains("wrong-password-123"), "{text}");
    assert!(!text.contains("writer:"), "{text}");
}

#[test]
fn a_user_who_may_not_create_tables_writes_to_existing_ones() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let as_no_ddl: StoreLocation = format!("clickhouse:http://no_ddl@127.0.0.1:{}/made", ch.port())
        .parse()
        .unwrap();
    // Nothing exists yet: creating is refused, and the error says where.
    let err = open_error(&as_no_ddl).to_string();
    assert!(err.contains("clickhouse:http://127.0.0.1:"), "{err}");
    // Tables made beforehand (here by the first server) are used as they are.
    open(&ch, "made");
    let store = store::open(&as_no_ddl).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.insert(&[span(1, BASE)]).unwrap(), outcome(1, 0));
    assert_eq!(store.insert(&[span(1, BASE)]).unwrap(), outcome(0, 1));
    assert_eq!(store.stats().unwrap().events_stored, 1);
}

#[test]
fn an_unreachable_clickhouse_is_reported_with_what_to_do_and_as_unavailable() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let store = open(&ch, "t");
    let port = ch.port();
    ch.stop();
    // Writes and reads after ClickHouse went away: the server answers 503, the client retries.
    let err = store.insert(&[span(1, BASE)]).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(matches!(store.stats(), Err(StoreError::Unavailable(_))));

    let location: StoreLocation = format!("clickhouse:http://127.0.0.1:{port}/t")
        .parse()
        .unwrap();
    let err = open_error(&location).to_string();
    assert!(err.contains("cannot reach ClickHouse"), "{err}");
    assert!(err.contains("start ClickHouse or correct --store"), "{err}");
}

#[test]
fn tables_of_another_shape_are_refused_with_their_missing_columns() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    ch.query("CREATE DATABASE old");
    ch.query(
        "CREATE TABLE old.spans (trace_id FixedString(16), span_id FixedString(8)) \
         ENGINE = MergeTree ORDER BY (trace_id, span_id)",
    );
    let location: StoreLocation = ch.store_arg("old").parse().unwrap();
    let err = open_error(&location).to_string();
    assert!(err.contains("spans.command String"), "{err}");
    assert!(err.contains("ALTER TABLE"), "{err}");
}

#[test]
fn servers_running_retention_at_once_delete_exactly_the_older_spans() {
    let Some(ch) = ClickHouse::start() else {
        return;
    };
    let servers: Vec<_> = (0..3).map(|_| open(&ch, "t")).collect();
    let spans: Vec<_> = (0..90)
        .map(|n| span(n, BASE + u64::from(n) * DAY))
        .collect();
    servers[0].insert(&spans).unwrap();
    let cut = SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + 40 * DAY);
    let deleted: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|server| s.spawn(move || server.retain(cut).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each reports what was older than the cut when it looked (another server may have
    // deleted some already); the first to delete saw all 40. What is left is exact.
    assert!(deleted.iter().all(|&n| n <= 40), "{deleted:?}");
    assert_eq!(deleted.iter().max(), Some(&40), "{deleted:?}");
    for server in &servers {
        assert_eq!(
            read_all(&**server, SystemTime::UNIX_EPOCH),
            spans[40..].to_vec()
        );
    }
    assert_eq!(
        ch.query_u64("SELECT count() FROM system.mutations WHERE is_done = 0"),
        0
    );
}
