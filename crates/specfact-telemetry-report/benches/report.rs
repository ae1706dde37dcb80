//! `report` over synthetic logs of 100,000 and 1,000,000 events: time, and the peak
//! heap the aggregation adds (which must not grow with the log).
//!
//! `cargo bench -p specfact-telemetry-report --bench report`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use specfact_telemetry::LocalLog;
use specfact_telemetry_report::{ReportOptions, build};
use specfact_telemetry_sample::{SampleOptions, write_log};

#[path = "../tests/counting_alloc/mod.rs"]
mod counting_alloc;

fn sample_log(dir: &std::path::Path, events: u64) -> LocalLog {
    let path = dir.join(format!("telemetry-{events}.log"));
    let opts = SampleOptions {
        events,
        span: Duration::from_secs(52 * 7 * 86_400),
        ..SampleOptions::default()
    };
    write_log(&path, &opts).expect("write sample log");
    LocalLog::new(path)
}

/// Peak heap (bytes) that one report adds above what was live before it.
fn peak_heap(log: &LocalLog, opts: &ReportOptions) -> usize {
    let before = counting_alloc::start();
    let report = build(log, opts).expect("report");
    black_box(&report);
    counting_alloc::peak_since(before)
}

fn bench(c: &mut Criterion) {
    // Writing the sample logs takes a while: only when benchmarking, not when a test
    // runner lists or smoke-runs the bench targets.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let small = sample_log(dir.path(), 100_000);
    let large = sample_log(dir.path(), 1_000_000);
    let opts = ReportOptions::default();
    let one_thread = ReportOptions {
        threads: 1,
        ..ReportOptions::default()
    };
    for (name, log) in [("100k", &small), ("1M", &large)] {
        let size = std::fs::metadata(log.path()).map(|m| m.len()).unwrap_or(0);
        println!(
            "report/{name}: log {} MiB, peak heap added {} KiB (all threads), {} KiB (one thread)",
            size >> 20,
            peak_heap(log, &opts) >> 10,
            peak_heap(log, &one_thread) >> 10,
        );
    }
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("1M events", |b| {
        b.iter(|| build(&large, &opts).expect("report"))
    });
    g.bench_function("1M events, one thread", |b| {
        b.iter(|| build(&large, &one_thread).expect("report"))
    });
    g.bench_function("100k events", |b| {
        b.iter(|| build(&small, &opts).expect("report"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
