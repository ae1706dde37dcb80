//! The ingest pipeline without HTTP, per request of 512 spans (gzip protobuf, as sent):
//! inflate + decode + check again (into a store that keeps nothing), and the same committed
//! into SQLite. `cargo bench -p specfact-telemetry-server --bench ingest`.

use std::io::Write;
use std::time::SystemTime;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use specfact_telemetry_server::decode::Format;
use specfact_telemetry_server::ingest::{Checker, ingest};
use specfact_telemetry_server::store::{
    InsertOutcome, SqliteStore, Store, StoreError, StoreStats, StoredSpan,
};

const SPANS: u64 = 512;

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

/// Request `r`: 512 new `repro.run` spans as SpecFact sends them, gzip protobuf.
fn body(r: u64) -> Vec<u8> {
    use any_value::Value::{BoolValue, DoubleValue, IntValue};
    let now = 1_795_000_000_000_000_000u64;
    let spans = (0..SPANS)
        .map(|i| {
            let n = r * SPANS + i + 1;
            let mut trace_id = [7u8; 16];
            trace_id[8..].copy_from_slice(&n.to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: trace_id[8..].to_vec(),
                name: "specfact.repro.run".into(),
                start_time_unix_nano: now + n,
                end_time_unix_nano: now + n + 1_000_000,
                attributes: vec![
                    s("specfact.mode", "repro"),
                    kv("specfact.files_analyzed", IntValue(140)),
                    kv("specfact.checks_total", IntValue(6)),
                    kv("specfact.checks_failed", IntValue((n % 3) as i64)),
                    kv("specfact.violations_detected", IntValue((n % 2) as i64)),
                    s("specfact.session_id", &format!("{:032x}", n / 4 + 1)),
                    kv("specfact.success", BoolValue(!n.is_multiple_of(5))),
                    kv("specfact.duration_ms", DoubleValue(12.5 + (n % 100) as f64)),
                    s("specfact.command", "repro.run"),
                    s("specfact.telemetry_version", "1.0"),
                    s("specfact.cli_version", "0.20.5"),
                    s("specfact.opt_in_source", "env"),
                ],
                ..Default::default()
            }
        })
        .collect();
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    s("service.name", "specfact-cli"),
                    s("service.version", "0.20.5"),
                    s("deployment.environment", "production"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&req.encode_to_vec()).unwrap();
    e.finish().unwrap()
}

/// Keeps nothing: measures everything but the database.
struct Discard;

impl Store for Discard {
    fn insert(&self, spans: &[StoredSpan]) -> Result<InsertOutcome, StoreError> {
        Ok(InsertOutcome {
            inserted: spans.len() as u64,
            duplicates: 0,
        })
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(StoreStats::default())
    }
    fn retain(&self, _: SystemTime) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn events(&self, _: SystemTime, _: &mut dyn FnMut(StoredSpan)) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn kind(&self) -> &'static str {
        "discard"
    }
}

fn run(c: &mut Criterion, name: &str, store: &dyn Store) {
    let bodies: Vec<Vec<u8>> = (0..64).map(body).collect();
    let checker = Checker::default();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(SPANS));
    g.sample_size(20);
    let mut next = 0u64;
    g.bench_function(name, |b| {
        b.iter(|| {
            // New spans every time for SQLite: shift the ids by the round.
            let raw = &bodies[(next % 64) as usize];
            next += 1;
            let inflated = specfact_telemetry_server::body::gunzip(raw, 16 << 20).unwrap();
            let mut plain = inflated;
            // Make ids unique per iteration (byte 0 of every trace id is 7: replace by round).
            let round = (next / 64) as u8;
            for i in 0..plain.len().saturating_sub(17) {
                if plain[i] == 0x0a && plain[i + 1] == 16 && plain[i + 2] == 7 {
                    plain[i + 2] = round;
                }
            }
            ingest(
                &checker,
                store,
                &plain,
                Format::Protobuf,
                SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    run(c, "decode_check_512", &Discard);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap();
    run(c, "decode_check_sqlite_512", &store);
}

criterion_group!(group, benches);
criterion_main!(group);
