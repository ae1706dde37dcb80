//! A log read on several threads gives the same report as one thread, and sessions
//! and durations past the exact limits stay within their stated error.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use specfact_telemetry::LocalLog;
use specfact_telemetry_report::{ReportOptions, build};
use specfact_telemetry_sample::{SampleOptions, events, write_log};

/// Equal, except for floats that may differ in their last bits (sums in another order).
fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{path}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                assert_close(p, q, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (k, p) in x {
                assert_close(p, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn threads_do_not_change_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telemetry.log");
    let opts = SampleOptions {
        events: 40_000,
        without_timestamp: 500,
        ..SampleOptions::default()
    };
    let bytes = write_log(&path, &opts).unwrap();
    assert!(bytes > 8 << 20, "large enough to be split: {bytes}");
    let log = LocalLog::new(&path);
    let with = |threads| {
        let o = ReportOptions {
            threads,
            recent_events: 5,
            ..ReportOptions::default()
        };
        serde_json::to_value(build(&log, &o).unwrap()).unwrap()
    };
    let one = with(1);
    assert_eq!(one["events"], 40_000);
    assert_eq!(one["without_timestamp"], 500);
    for threads in [2, 3, 4] {
        assert_close(&one, &with(threads), &format!("threads={threads}"));
    }
}

#[test]
fn large_counts_stay_within_the_stated_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telemetry.log");
    let opts = SampleOptions {
        events: 30_000,
        span: Duration::from_secs(30 * 86_400),
        ..SampleOptions::default()
    };
    write_log(&path, &opts).unwrap();
    // The true answers, computed the slow way.
    let all: Vec<_> = events(&opts).collect();
    let sessions: HashSet<&str> = all.iter().map(|e| e.session_id.as_str()).collect();
    let mut repro: Vec<f64> = all
        .iter()
        .filter(|e| e.command == "repro.run")
        .map(|e| e.duration_ms)
        .collect();
    repro.sort_by(f64::total_cmp);
    let nearest_rank = |q: f64| repro[((q * repro.len() as f64).ceil() as usize).max(1) - 1];

    let r = build(&LocalLog::new(&path), &ReportOptions::default()).unwrap();
    assert!(!r.sessions.exact);
    let err = (r.sessions.count as f64 - sessions.len() as f64).abs() / sessions.len() as f64;
    assert!(
        err <= 4.0 * r.sessions.standard_error,
        "sessions {} vs {}",
        r.sessions.count,
        sessions.len()
    );
    let c = r
        .commands
        .iter()
        .find(|c| c.command == "repro.run")
        .unwrap();
    assert_eq!(c.runs as usize, repro.len());
    assert!(!c.duration_ms.exact);
    for (got, q) in [(c.duration_ms.median, 0.5), (c.duration_ms.p95, 0.95)] {
        let want = nearest_rank(q);
        let rel = (got.unwrap() - want).abs() / want;
        assert!(
            rel <= specfact_telemetry_report::quantile::RELATIVE_ERROR,
            "q={q}: {got:?} vs {want}"
        );
    }
    assert_eq!(c.duration_ms.max, repro.last().copied());
}
