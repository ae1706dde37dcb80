//! The scale-out deployment: several stateless server replicas share one ClickHouse, as
//! behind a load balancer. A client's retry may reach another replica than its first try,
//! and replicas may receive the same spans at the same instant: each span is stored, counted
//! and read back once, and every replica reports the same totals.

mod support;

use std::collections::BTreeSet;
use std::time::SystemTime;

use std::process::{Command, Stdio};
use std::time::Duration;

use specfact_telemetry_server::store::{self, StoreLocation};
use support::otlp::repro_batch;
use support::{Backend, Server, find_rotel, free_port, gzip, http, required, wait_listening};

const PB: &str = "application/x-protobuf";

fn post(replica: &Server, first: u64, n: u64) {
    let body = gzip(&repro_batch(first, n));
    let r = replica.post(PB, Some("gzip"), &body);
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The numbers the stored spans were built from (their trace ids' first eight bytes).
fn stored_numbers(b: &Backend) -> Vec<u64> {
    let location: StoreLocation = b.store_arg.parse().unwrap();
    let store = store::open(&location).unwrap();
    let mut out = Vec::new();
    store
        .events(SystemTime::UNIX_EPOCH, &mut |s| {
            out.push(u64::from_be_bytes(s.trace_id[..8].try_into().unwrap()))
        })
        .unwrap();
    out
}

#[test]
fn replicas_sharing_one_clickhouse_store_each_span_once() {
    let Some(b) = Backend::clickhouse() else {
        return;
    };
    let replicas = [b.start(&[]), b.start(&[])];

    // Retries through the balancer: every batch reaches one replica, then the other.
    for k in 0..10u64 {
        post(&replicas[(k % 2) as usize], 1 + k * 100, 100);
        post(&replicas[((k + 1) % 2) as usize], 1 + k * 100, 100);
    }
    for r in &replicas {
        let stats = r.stats();
        assert_eq!(stats["events_stored"], 1000, "{stats}");
        assert_eq!(stats["duplicates_total"], 1000, "{stats}");
        assert_eq!(stats["store"], "clickhouse", "{stats}");
    }
    let accepted: u64 = replicas.iter().map(|r| r.stat("spans_accepted")).sum();
    let duplicates: u64 = replicas.iter().map(|r| r.stat("duplicates")).sum();
    assert_eq!((accepted, duplicates), (2000, 1000));

    // Both replicas receive the same new spans at the same instant, four clients each.
    std::thread::scope(|s| {
        for c in 0..8u64 {
            let replica = &replicas[(c % 2) as usize];
            s.spawn(move || {
                for k in 0..5u64 {
                    // Clients start at different batches, so batches meet in flight.
                    let batch = (k + c) % 5;
                    post(replica, 2001 + batch * 200, 200);
                }
            });
        }
    });
    // However the races went, each span is stored and read once.
    for r in &replicas {
        assert_eq!(r.stat("events_stored"), 2000);
    }
    let numbers = stored_numbers(&b);
    assert_eq!(numbers.len(), 2000);
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique, (1..=1000).chain(2001..=3000).collect());
    // Racing replicas may both count a span as new; never more duplicates than deliveries.
    let total = replicas[0].stats()["duplicates_total"].as_u64().unwrap();
    assert!((1000..=1000 + 7 * 1000).contains(&total), "{total}");
}

/// Kills and reaps a child process when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_collector_and_direct_clients_reach_different_replicas_with_the_ingest_token() {
    let Some(b) = Backend::clickhouse() else {
        return;
    };
    let Some(rotel) = required(find_rotel(), "rotel-agent") else {
        return;
    };
    let token = "t0ken-for-the-scale-out-test";
    let replicas = [
        b.start(&["--ingest-token", token]),
        b.start(&["--ingest-token", token]),
    ];
    // rotel forwards to replica 1 as the README shows, the token in a custom header.
    let (rotel_http, rotel_grpc) = (free_port(), free_port());
    let dir = b.dir.path();
    let _rotel = Reaped(
        Command::new(rotel)
            .args([
                "start",
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{rotel_http}"),
            ])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{rotel_grpc}")])
            .args(["--exporter", "otlp", "--otlp-exporter-protocol", "http"])
            .args(["--otlp-exporter-compression", "gzip"])
            .args([
                "--otlp-exporter-endpoint",
                &format!("http://127.0.0.1:{}", replicas[1].port),
            ])
            .args([
                "--otlp-exporter-custom-headers",
                &format!("Authorization=Bearer {token}"),
            ])
            .args(["--pid-file", &dir.join("rotel.pid").to_string_lossy()])
            .args(["--log-file", &dir.join("rotel.log").to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(rotel_http, "rotel-agent");
    let bearer = format!("Bearer {token}");
    let headers = [
        ("Content-Type", PB),
        ("Content-Encoding", "gzip"),
        ("Authorization", bearer.as_str()),
    ];
    // Spans 1..=300 directly to replica 0, spans 201..=500 through rotel to replica 1.
    for first in [1u64, 101, 201] {
        let r = http(
            replicas[0].port,
            "POST",
            "/v1/traces",
            &headers,
            &gzip(&repro_batch(first, 100)),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for first in [201u64, 301, 401] {
        let body = gzip(&repro_batch(first, 100));
        let r = http(rotel_http, "POST", "/v1/traces", &headers[..2], &body);
        assert_eq!(r.status, 200, "rotel: {}", r.text());
    }
    let got = replicas[0].wait_for("events_stored", 500, Duration::from_secs(30));
    assert_eq!(got, 500, "{}", replicas[0].stats());
    assert_eq!(
        replicas[1].wait_for("duplicates_total", 100, Duration::from_secs(10)),
        100
    );
    assert_eq!(replicas[1].stat("spans_accepted"), 300);
    let unique: BTreeSet<u64> = stored_numbers(&b).into_iter().collect();
    assert_eq!(unique, (1..=500).collect());
    // Without the token, neither replica takes anything.
    let r = replicas[1].post(PB, Some("gzip"), &gzip(&repro_batch(900, 1)));
    assert_eq!(r.status, 401, "{}", r.text());
}
