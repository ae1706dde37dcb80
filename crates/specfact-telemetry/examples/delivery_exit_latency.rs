//! Host exit latency with an OTLP endpoint in every collector state, against
//! telemetry disabled and local-only. Times whole `delivery_host` processes (spawn to
//! exit) and prints a table of medians. Run it with `scripts/bench-exit-latency`.
//!
//! ```text
//! delivery_exit_latency [RUNS]      (default 100 runs per row)
//! ```
//!
//! Every run of a state is paired with a run with telemetry disabled and one with
//! local-only telemetry, made right before it, so the "added" columns compare runs
//! made under the same machine load. Two rows per collector state: "spawns" waits
//! until no uploader is running before each run, so every run starts one; "busy"
//! runs back to back, so a run may find an uploader still working and start none.
//! Budget: at most 2 ms added (median) in every row.

#[path = "../tests/delivery_support/mod.rs"]
mod delivery_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use delivery_support::{Collector, Mode, closed_port};

fn host_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.with_file_name(format!("delivery_host{}", std::env::consts::EXE_SUFFIX))
}

fn run_once(host: &Path, home: &Path, endpoint: Option<&str>, enabled: bool) -> Duration {
    let mut c = Command::new(host);
    c.env_clear()
        .env("HOME", home)
        .env("SPECFACT_TELEMETRY_EXPORT_TIMEOUT", "0.2")
        .env("DELIVERY_HOST_RETRY_MS", "50,100,300")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if enabled {
        c.env("SPECFACT_TELEMETRY_OPT_IN", "true");
    }
    if let Some(e) = endpoint {
        c.env("SPECFACT_TELEMETRY_ENDPOINT", e);
    }
    let t = Instant::now();
    let status = c.status().expect("host runs");
    let d = t.elapsed();
    assert!(status.success(), "host failed: {status}");
    d
}

struct Row {
    name: String,
    median: Duration,
    p90: Duration,
    disabled: Duration,
    local: Duration,
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 9 / 10])
}

/// `runs` paired measurements of a host with `endpoint`.
fn measure(name: &str, runs: usize, wait_idle: bool, endpoint: &str) -> Row {
    let host = host_binary();
    let home = tempfile::tempdir().expect("temp dir");
    let base_home = tempfile::tempdir().expect("temp dir");
    let (mut t, mut d, mut l) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs + 3 {
        if wait_idle {
            let deadline = Instant::now() + Duration::from_secs(5);
            while uploader_busy(home.path()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let dd = run_once(&host, base_home.path(), None, false);
        let ll = run_once(&host, base_home.path(), None, true);
        let tt = run_once(&host, home.path(), Some(endpoint), true);
        if i >= 3 {
            t.push(tt);
            d.push(dd);
            l.push(ll);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while uploader_busy(home.path()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (m, p90) = median(t);
    Row {
        name: name.to_owned(),
        median: m,
        p90,
        disabled: median(d).0,
        local: median(l).0,
    }
}

fn uploader_busy(home: &Path) -> bool {
    let dir = home.join(".specfact/telemetry-delivery");
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok).any(|e| {
                let p = e.path();
                p.to_string_lossy().ends_with(".uploader.lock")
                    && std::fs::File::open(&p).is_ok_and(|f| f.try_lock().is_err())
            })
        })
        .unwrap_or(false)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    assert!(
        host_binary().exists(),
        "build the host first: cargo build --release --examples -p specfact-telemetry"
    );
    let mut rows = Vec::new();
    let states: Vec<(&str, Option<Mode>)> = vec![
        ("healthy", Some(Mode::Healthy)),
        ("port closed", None),
        ("accepts, never answers", Some(Mode::BlackHole)),
        (
            "answers after 10 s",
            Some(Mode::Slow(Duration::from_secs(10))),
        ),
        (
            "503 + Retry-After: 1",
            Some(Mode::Status(503, Some(1), "busy")),
        ),
        ("400", Some(Mode::Status(400, None, "bad"))),
    ];
    for (name, mode) in states {
        let (collector, endpoint) = match mode {
            Some(m) => {
                let c = Collector::start(m);
                let e = c.endpoint();
                (Some(c), e)
            }
            None => (
                None,
                format!("http://127.0.0.1:{}/v1/traces", closed_port()),
            ),
        };
        rows.push(measure(&format!("{name}, spawns"), runs, true, &endpoint));
        rows.push(measure(&format!("{name}, busy"), runs, false, &endpoint));
        drop(collector);
    }
    println!(
        "host exit latency, {runs} paired runs per row (ms; added = median minus the median of the paired baseline runs)\n"
    );
    println!(
        "| {:<32} | {:>8} | {:>8} | {:>8} | {:>10} | {:>14} | {:>16} |",
        "collector state",
        "median",
        "p90",
        "disabled",
        "local only",
        "added vs disab.",
        "added vs local"
    );
    println!(
        "|{:-<34}|{:->10}|{:->10}|{:->10}|{:->12}|{:->16}|{:->18}|",
        "", "", "", "", "", "", ""
    );
    for r in &rows {
        println!(
            "| {:<32} | {:>8.2} | {:>8.2} | {:>8.2} | {:>10.2} | {:>+14.2} | {:>+16.2} |",
            r.name,
            ms(r.median),
            ms(r.p90),
            ms(r.disabled),
            ms(r.local),
            ms(r.median) - ms(r.disabled),
            ms(r.median) - ms(r.local)
        );
    }
}
