//! Delivery throughput: encoding events as OTLP requests, and replaying a log to a
//! collector on 127.0.0.1 (read, parse, encode, gzip, POST, cursor update).
//!
//! Budget: replay ≥ 100,000 events/s.

#[path = "../tests/delivery_support/mod.rs"]
mod delivery_support;

use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use delivery_support::{Collector, Mode};
use specfact_telemetry::delivery::{
    self, Delivery, DeliveryMode, DeliveryOptions, ExportRequest, Protocol, Selection,
};
use specfact_telemetry::log::Appended;
use specfact_telemetry::otlp::{self, RequestBuilder, ResourceInfo};
use specfact_telemetry::{EnvSnapshot, Event, FieldValue, LocalLog, Settings};
use uuid::Uuid;

fn event(i: i64) -> Event {
    Event {
        command: "import.from_code".into(),
        success: i % 7 != 0,
        error: (i % 7 == 0).then(|| "TimeoutError".to_owned()),
        duration_ms: 8511.68,
        session_id: format!("{:032x}", i),
        telemetry_version: Some("1.0".into()),
        cli_version: Some("0.21.0".into()),
        opt_in_source: Some("env".into()),
        timestamp: Some(SystemTime::now()),
        event_id: Some(Uuid::now_v7()),
        fields: vec![
            ("mode".into(), FieldValue::Str("cicd".into())),
            ("execution_mode".into(), FieldValue::Str("direct".into())),
            ("files_analyzed".into(), FieldValue::Int(140)),
            ("shadow_mode".into(), FieldValue::Bool(false)),
            ("features_detected".into(), FieldValue::Int(27)),
            ("stories_detected".into(), FieldValue::Int(112)),
        ],
    }
}

fn info() -> ResourceInfo {
    ResourceInfo {
        service_name: "specfact-cli".into(),
        service_namespace: "cli".into(),
        deployment_environment: "production".into(),
    }
}

fn encoding(c: &mut Criterion) {
    let events: Vec<Event> = (0..512).map(event).collect();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("protobuf (direct writer) + gzip, 512 spans", |b| {
        b.iter(|| {
            let body = otlp::encode_protobuf(&info(), &events, SystemTime::now());
            otlp::gzip(&body).unwrap()
        })
    });
    g.bench_function("protobuf (direct writer), 512 spans", |b| {
        b.iter(|| otlp::encode_protobuf(&info(), &events, SystemTime::now()))
    });
    g.bench_function("protobuf (official messages), 512 spans", |b| {
        b.iter(|| {
            let mut r = RequestBuilder::new(info(), SystemTime::now());
            for e in &events {
                r.push(e);
            }
            otlp::encode(&r.build(), Protocol::Protobuf).unwrap()
        })
    });
    let body = otlp::encode_protobuf(&info(), &events, SystemTime::now());
    g.bench_function("gzip only, 512 spans", |b| {
        b.iter(|| otlp::gzip(&body).unwrap())
    });
    g.bench_function("json, 512 spans", |b| {
        b.iter(|| {
            let mut r = RequestBuilder::new(info(), SystemTime::now());
            for e in &events {
                r.push(e);
            }
            otlp::encode(&r.build(), Protocol::Json).unwrap()
        })
    });
    g.finish();
}

fn replay(c: &mut Criterion) {
    const EVENTS: u64 = 20_000;
    let manual = Delivery::new(DeliveryOptions {
        mode: DeliveryMode::Manual,
        ..DeliveryOptions::default()
    });
    let collector = Collector::start(Mode::CountOnly);
    let home = tempfile::tempdir().unwrap();
    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        ("SPECFACT_TELEMETRY_ENDPOINT", &*collector.endpoint()),
    ]);
    let mut settings = Settings::resolve(&env, Some(home.path()));
    if let Some(n) = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.batch_size.value = n;
    }
    let log = LocalLog::new(settings.local_path.value.clone().unwrap());
    for i in 0..EVENTS as i64 {
        log.append(&event(i)).unwrap();
    }
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("read and parse the log only, 20k events", |b| {
        b.iter(|| {
            let n = log
                .read()
                .unwrap()
                .filter(|l| l.as_ref().unwrap().entry.is_ok())
                .count();
            assert_eq!(n as u64, EVENTS);
        })
    });
    let state_dir = home.path().join(".specfact").join(delivery::STATE_DIR_NAME);
    let first = log.read().unwrap().next().unwrap().unwrap();
    let appended = Appended {
        offset: first.offset,
        end: first.end,
        repaired_torn_line: false,
    };
    // What the uploader does: everything pending, from the cursor to the end.
    g.bench_function(
        "uploader: pending log to loopback collector, 20k events",
        |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&state_dir);
                    manual.after_append(&settings, &log, &appended);
                },
                |()| {
                    let s = delivery::export(&settings, &ExportRequest::default(), &mut |_| {})
                        .unwrap();
                    assert_eq!(s.sent, EVENTS);
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.bench_function("export --all to loopback collector, 20k events", |b| {
        b.iter(|| {
            let s = delivery::export(
                &settings,
                &ExportRequest {
                    selection: Selection::All,
                    ..ExportRequest::default()
                },
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(s.sent, EVENTS);
        })
    });
    g.finish();
}

criterion_group!(benches, encoding, replay);
criterion_main!(benches);
