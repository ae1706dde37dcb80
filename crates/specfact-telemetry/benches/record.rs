//! Budgets from DESIGN.md:
//! - disabled: resolve settings + track + finish ≤ 10 µs
//! - enabled, local only: one event including open, lock and append ≤ 50 µs (no fsync)

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use specfact_telemetry::{EnvSnapshot, Settings, Telemetry, metadata};

/// What a host pays per process when telemetry is off: read the environment, look
/// for the files under ~/.specfact, track and finish one command.
fn disabled_once(home: &std::path::Path) -> specfact_telemetry::Outcome {
    let env = EnvSnapshot::from_process().with("HOME", home);
    let settings = Settings::resolve(&env, Some(home));
    let t = Telemetry::builder(settings).cli_version("1.0.0").build();
    let mut guard = t.track_command("repro.run", metadata! { "mode" => "repro" });
    guard.record(metadata! { "checks_total" => 6, "violations_detected" => 2 });
    guard.success()
}

fn disabled(c: &mut Criterion) {
    let home = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("disabled");
    g.bench_function("resolve+track+finish, no ~/.specfact", |b| {
        b.iter(|| black_box(disabled_once(home.path())))
    });
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "disabled telemetry created a file"
    );
    // A SpecFact user who never opted in: the directory exists, the two files do not.
    std::fs::create_dir(home.path().join(".specfact")).unwrap();
    g.bench_function("resolve+track+finish, empty ~/.specfact", |b| {
        b.iter(|| black_box(disabled_once(home.path())))
    });
    g.finish();
    assert!(
        std::fs::read_dir(home.path().join(".specfact"))
            .unwrap()
            .next()
            .is_none(),
        "disabled telemetry created a file"
    );
}

fn enabled_local(c: &mut Criterion) {
    let home = tempfile::tempdir().unwrap();
    let env = EnvSnapshot::from_pairs([("SPECFACT_TELEMETRY_OPT_IN", "true")]);
    let settings = Settings::resolve(&env, Some(home.path()));
    let t = Telemetry::builder(settings).cli_version("1.0.0").build();
    assert!(t.is_enabled());
    let mut g = c.benchmark_group("enabled_local");
    g.bench_function("track+finish+append", |b| {
        b.iter(|| {
            let mut guard = t.track_command("repro.run", metadata! { "mode" => "repro" });
            guard.record(
                metadata! { "checks_total" => 6, "checks_failed" => 2, "violations_detected" => 2 },
            );
            black_box(guard.success())
        })
    });
    g.finish();
}

criterion_group!(benches, disabled, enabled_local);
criterion_main!(benches);
