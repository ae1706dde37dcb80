//! Budgets from DESIGN.md:
//! - disabled: resolve settings + track + finish ≤ 10 µs
//! - enabled, local only: one event including open, lock and append ≤ 50 µs (no fsync)

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use specfact_telemetry::{EnvSnapshot, Settings, Telemetry, metadata};

fn disabled(c: &mut Criterion) {
    let home = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("disabled");
    g.bench_function("resolve+track+finish", |b| {
        b.iter(|| {
            // What a host pays per process: read the environment, look for the two
            // files under ~/.specfact (absent), track and finish one command.
            let env = EnvSnapshot::from_process().with("HOME", home.path());
            let settings = Settings::resolve(&env, Some(home.path()));
            let t = Telemetry::builder(settings).cli_version("1.0.0").build();
            let mut guard = t.track_command("repro.run", metadata! { "mode" => "repro" });
            guard.record(metadata! { "checks_total" => 6, "violations_detected" => 2 });
            black_box(guard.success())
        })
    });
    g.finish();
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
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
