//! Two handles in one process, each with its own settings, log, collector and
//! delivery options: nothing one does reaches the other, and dropping one stops only
//! its own background thread.

#![cfg(feature = "otlp")]

mod delivery_support;

use std::path::Path;
use std::time::Duration;

use delivery_support::{Collector, Mode};
use specfact_telemetry::delivery::{
    self, Compression, DeliveryMode, DeliveryOptions, Protocol, RetryPolicy,
};
use specfact_telemetry::{EnvSnapshot, LocalLog, Settings, Telemetry, metadata};

fn settings(home: &Path, endpoint: &str, service: &str, batch_size: &str) -> Settings {
    let env = EnvSnapshot::from_pairs([
        ("SPECFACT_TELEMETRY_OPT_IN", "true"),
        ("SPECFACT_TELEMETRY_ENDPOINT", endpoint),
        ("SPECFACT_TELEMETRY_SERVICE_NAME", service),
        ("SPECFACT_TELEMETRY_BATCH_SIZE", batch_size),
        ("SPECFACT_TELEMETRY_BATCH_TIMEOUT", "3600"),
    ]);
    let s = Settings::resolve(&env, Some(home));
    assert!(s.enabled);
    s
}

fn commands(log: &Path) -> Vec<String> {
    LocalLog::new(log)
        .read()
        .unwrap()
        .map(|l| l.unwrap().entry.unwrap().command)
        .collect()
}

/// Threads of this process named like the delivery worker (`comm` keeps 15 bytes).
#[cfg(target_os = "linux")]
fn upload_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end() == "specfact-teleme")
        })
        .count()
}

#[test]
fn two_handles_record_to_their_own_logs_and_deliver_to_their_own_collectors() {
    let (ca, cb) = (
        Collector::start(Mode::Healthy),
        Collector::start(Mode::Healthy),
    );
    let (ha, hb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sa = settings(ha.path(), &ca.endpoint(), "tool-a", "2");
    let sb = settings(hb.path(), &cb.endpoint(), "tool-b", "100");

    // A: a background thread, protobuf + gzip, sends every 2 events.
    let a = Telemetry::builder(sa.clone())
        .cli_version("1.0.0")
        .delivery(DeliveryOptions {
            mode: DeliveryMode::Thread,
            ..DeliveryOptions::default()
        })
        .build();
    // B: a background thread too, but OTLP/JSON uncompressed, a batch of 100, its own
    // retry policy.
    let b = Telemetry::builder(sb.clone())
        .cli_version("2.0.0")
        .delivery(DeliveryOptions {
            mode: DeliveryMode::Thread,
            protocol: Protocol::Json,
            compression: Compression::None,
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(20),
                max_elapsed: Duration::from_millis(500),
            },
            uploader: None,
        })
        .build();
    assert_eq!(b.delivery_options().protocol, Protocol::Json);
    assert_eq!(a.delivery_options().protocol, Protocol::Protobuf);

    for _ in 0..2 {
        a.track_command("plan.init", metadata!()).success();
        b.track_command("repro.run", metadata!()).success();
    }
    b.track_command("repro.run", metadata!()).success();

    // A's batch of 2 is full and goes on its own; B's batch of 100 waits (its timeout
    // is an hour) until B is flushed.
    assert!(ca.wait_for_spans(2, Duration::from_secs(10)));
    assert!(!cb.wait_for_requests(1, Duration::from_millis(300)));
    assert!(b.flush(Duration::from_secs(10)));
    assert!(cb.wait_for_spans(3, Duration::from_secs(10)));

    // Each log holds its own handle's events only.
    let (la, lb) = (
        sa.local_path.value.clone().unwrap(),
        sb.local_path.value.clone().unwrap(),
    );
    assert_ne!(la, lb);
    assert_eq!(commands(&la), ["plan.init"; 2]);
    assert_eq!(commands(&lb), ["repro.run"; 3]);

    // Each collector got its own handle's spans, encoded as that handle asked.
    let service = |c: &Collector| -> Vec<String> {
        c.spans()
            .iter()
            .map(|s| {
                let r = s.resource.iter().find(|(k, _)| k == "service.name");
                format!("{} {}", r.map_or("", |(_, v)| v.as_str()), s.name)
            })
            .collect()
    };
    assert_eq!(service(&ca), ["tool-a specfact.plan.init"; 2]);
    assert_eq!(service(&cb), ["tool-b specfact.repro.run"; 3]);
    assert!(ca.requests().iter().all(|r| r.header("content-type")
        == Some("application/x-protobuf")
        && r.header("content-encoding") == Some("gzip")));
    assert!(
        cb.requests()
            .iter()
            .all(|r| r.header("content-type") == Some("application/json")
                && r.header("content-encoding").is_none())
    );
    assert_eq!(delivery::state(&sa).sent_spans, 2);
    assert_eq!(delivery::state(&sb).sent_spans, 3);

    // Each handle owns one thread; dropping A (and its clones) ends A's only, after
    // it has sent what A had noted.
    #[cfg(target_os = "linux")]
    assert_eq!(upload_threads(), 2);
    let a2 = a.clone();
    a.track_command("plan.init", metadata!()).success();
    drop(a);
    drop(a2);
    assert!(ca.wait_for_spans(3, Duration::from_secs(10)));
    #[cfg(target_os = "linux")]
    {
        let mut n = upload_threads();
        for _ in 0..200 {
            if n == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
            n = upload_threads();
        }
        assert_eq!(n, 1, "the dropped handle's thread is still running");
    }
    b.track_command("repro.run", metadata!()).success();
    assert!(b.flush(Duration::from_secs(10)));
    assert!(cb.wait_for_spans(4, Duration::from_secs(10)));
    assert_eq!(ca.span_count(), 3);
}
