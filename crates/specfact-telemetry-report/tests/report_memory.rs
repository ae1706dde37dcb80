//! The memory a report needs does not grow with the log.
//!
//! This file is its own test binary with one test, so the allocator it counts with sees
//! no other test's allocations.

use std::time::Duration;

use specfact_telemetry::LocalLog;
use specfact_telemetry_report::{ReportOptions, build};
use specfact_telemetry_sample::{SampleOptions, write_log};

mod counting_alloc;

fn peak_heap_of_report(events: u64, threads: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telemetry.log");
    let opts = SampleOptions {
        events,
        // The same span for both sizes: the number of weeks is not what is measured.
        span: Duration::from_secs(26 * 7 * 86_400),
        ..SampleOptions::default()
    };
    write_log(&path, &opts).unwrap();
    let log = LocalLog::new(&path);
    let opts = ReportOptions {
        threads,
        recent_events: 20,
        ..ReportOptions::default()
    };
    let before = counting_alloc::start();
    let report = build(&log, &opts).unwrap();
    let peak = counting_alloc::peak_since(before);
    assert_eq!(report.events, events);
    peak
}

#[test]
fn peak_heap_is_the_same_for_a_log_five_times_larger() {
    // At 50,000 events every command of the sample has more than 1,024 sessions and 256
    // runs, so its counters have reached their final, fixed size. One reader thread:
    // the measurement is then exact, independent of scheduling.
    let small = peak_heap_of_report(50_000, 1);
    let large = peak_heap_of_report(250_000, 1);
    assert!(small < 4 << 20, "50k events: {small} bytes");
    assert!(
        large <= small + small / 20,
        "one thread: 50k events: {small} bytes, 250k events: {large} bytes"
    );
    // Two readers hold two aggregators for a while; how long they overlap depends on
    // scheduling, so allow for that, but not for growth with the log.
    let small = peak_heap_of_report(50_000, 2);
    let large = peak_heap_of_report(250_000, 2);
    assert!(small < 8 << 20, "50k events, two threads: {small} bytes");
    assert!(
        large <= small + small / 2,
        "two threads: 50k events: {small} bytes, 250k events: {large} bytes"
    );
}
