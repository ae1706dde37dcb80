//! A tiny host CLI for process-level delivery tests and the exit-latency benchmark.
//!
//! It does what a real host does: calls the uploader entry point first thing,
//! resolves telemetry from the environment, records `EVENTS` commands (default 1),
//! prints one line and exits with `HOST_EXIT` (default 0).
//!
//! ```text
//! SPECFACT_TELEMETRY_OPT_IN=true SPECFACT_TELEMETRY_ENDPOINT=http://127.0.0.1:4318/v1/traces \
//!   cargo run -p specfact-telemetry --example delivery_host
//! ```
//!
//! `DELIVERY_HOST_RETRY_MS=initial,max,lifetime` shortens the uploader's retries (tests).

use std::process::ExitCode;
use std::time::Duration;

use specfact_telemetry::delivery::{self, DeliveryOptions, RetryPolicy};
use specfact_telemetry::{Telemetry, metadata};

fn main() -> ExitCode {
    // An uploader started by a handle below runs and exits here; otherwise this is
    // the command that starts one.
    let uploader = delivery::run_uploader_if_requested();
    let mut options = DeliveryOptions {
        uploader,
        ..DeliveryOptions::default()
    };

    if let Ok(spec) = std::env::var("DELIVERY_HOST_RETRY_MS") {
        let ms: Vec<u64> = spec
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        if let [initial, max, lifetime] = ms[..] {
            options.retry = RetryPolicy {
                initial_backoff: Duration::from_millis(initial),
                max_backoff: Duration::from_millis(max),
                max_elapsed: Duration::from_millis(lifetime),
            };
        }
    }

    let events: u64 = std::env::var("EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let telemetry = Telemetry::from_env_with("1.2.3", options);
    for i in 0..events {
        let mut guard = telemetry.track_command("repro.run", metadata! { "mode" => "repro" });
        guard.record(metadata! { "checks_total" => i, "violations_detected" => i % 3 });
        guard.success();
    }
    println!("host output");
    let code: u8 = std::env::var("HOST_EXIT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    ExitCode::from(code)
}
