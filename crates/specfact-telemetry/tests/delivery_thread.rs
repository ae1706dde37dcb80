//! Thread mode: a long-running host that cannot re-execute itself.

#![cfg(feature = "otlp")]

mod delivery_support;

use std::time::Duration;

use delivery_support::{Collector, Mode};
use specfact_telemetry::delivery::{self, DeliveryMode, DeliveryOptions};
use specfact_telemetry::{EnvSnapshot, Settings, Telemetry, metadata};

/// A handle delivering from its own background thread.
fn handle(s: &Settings) -> Telemetry {
    Telemetry::builder(s.clone())
        .cli_version("1.0.0")
        .delivery(DeliveryOptions {
            mode: DeliveryMode::Thread,
            ..DeliveryOptions::default()
        })
        .build()
}

fn settings(endpoint: &str, home: &std::path::Path) -> Settings {
    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        ("SPECFACT_TELEMETRY_ENDPOINT", endpoint),
    ]);
    Settings::resolve(&env, Some(home))
}

fn record(t: &Telemetry, n: usize) {
    for _ in 0..n {
        t.track_command("plan.init", metadata!()).success();
    }
}

#[test]
fn a_full_batch_is_sent_without_waiting_for_the_batch_timeout() {
    let c = Collector::start(Mode::Healthy);
    let home = tempfile::tempdir().unwrap();
    let mut s = settings(&c.endpoint(), home.path());
    s.batch_size.value = 3;
    s.batch_timeout.value = Duration::from_secs(3600);
    let t = handle(&s);
    record(&t, 2);
    // Two of three: nothing is due yet.
    assert!(!c.wait_for_requests(1, Duration::from_millis(300)));
    record(&t, 1);
    assert!(c.wait_for_spans(3, Duration::from_secs(10)));
    assert!(t.flush(Duration::from_secs(10)));
    assert_eq!(delivery::state(&s).pending, 0);
}

#[test]
fn a_batch_started_while_the_worker_sleeps_still_goes_after_its_timeout() {
    let c = Collector::start(Mode::Healthy);
    let home = tempfile::tempdir().unwrap();
    let mut s = settings(&c.endpoint(), home.path());
    s.batch_timeout.value = Duration::from_millis(200);
    let t = handle(&s);
    record(&t, 1);
    assert!(c.wait_for_spans(1, Duration::from_secs(10)));
    // The worker has sent everything and sleeps with nothing pending; a new event
    // must wake it rather than wait for a deadline computed before it existed.
    std::thread::sleep(Duration::from_millis(300));
    record(&t, 1);
    assert!(
        c.wait_for_spans(2, Duration::from_secs(10)),
        "{} spans",
        c.span_count()
    );
}

#[test]
fn a_partial_batch_goes_after_the_batch_timeout_and_flush_sends_the_rest() {
    let c = Collector::start(Mode::Healthy);
    let home = tempfile::tempdir().unwrap();
    let mut s = settings(&c.endpoint(), home.path());
    s.batch_timeout.value = Duration::from_millis(200);
    let t = handle(&s);
    record(&t, 2);
    assert!(c.wait_for_spans(2, Duration::from_secs(10)));

    s.batch_timeout.value = Duration::from_secs(3600);
    let t = handle(&s);
    record(&t, 1);
    assert!(t.flush(Duration::from_secs(10)));
    assert_eq!(c.span_count(), 3);
    assert_eq!(delivery::state(&s).pending, 0);
}
