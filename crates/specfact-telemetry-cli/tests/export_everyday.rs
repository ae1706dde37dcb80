//! Everyday delivery through the binary, against collectors the tests start on
//! 127.0.0.1: re-sending only what the collector rejected, waiting for a running
//! upload, and an uploader that never writes to the terminal it left.

mod common;
#[path = "../../specfact-telemetry/tests/delivery_support/mod.rs"]
mod delivery_support;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Home, run, status_json};
use delivery_support::{Collector, Mode};

/// A home opted in through telemetry.yaml, sending to `endpoint`.
fn configured(endpoint: &str) -> Home {
    let home = Home::new();
    home.write(
        "telemetry.yaml",
        format!("enabled: true\nendpoint: \"{endpoint}\"\nexport_timeout: 2\n"),
    );
    home
}

fn cli(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = home.cmd();
    c.args(args);
    run(c)
}

fn status(home: &Home) -> serde_json::Value {
    status_json(home.cmd())
}

/// Polls `status --json` until `done` holds for its delivery object (bounded).
fn wait_status(home: &Home, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = status(home);
        let d = s["delivery"].clone();
        if done(&d) || Instant::now() > deadline {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn state_files(home: &Home, suffix: &str) -> Vec<PathBuf> {
    fs::read_dir(home.specfact("telemetry-delivery"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

fn event_span_ids(home: &Home) -> Vec<Vec<u8>> {
    fs::read_to_string(home.specfact("telemetry.log"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = uuid::Uuid::parse_str(v["event_id"].as_str().unwrap()).unwrap();
            id.as_bytes()[8..].to_vec()
        })
        .collect()
}

#[test]
fn export_rejected_sends_only_what_the_collector_rejected_and_all_counts_the_rest() {
    let c = Collector::start(Mode::Status(400, None, "bad attribute"));
    let home = configured(&c.endpoint());
    for _ in 0..2 {
        assert_eq!(cli(&home, &["record", "plan.init"]).0, 0);
    }
    let d = wait_status(&home, |d| {
        d["rejected_spans"] == 2 && d["uploader_running"] == false
    });
    assert_eq!(d["rejected_spans"], 2, "{d}");
    assert_eq!(d["rejected_waiting"], 2, "{d}");

    // The collector is fixed; a new event goes through on its own.
    c.set_mode(Mode::Healthy);
    assert_eq!(cli(&home, &["record", "repro.run"]).0, 0);
    assert!(c.wait_for_spans(1, Duration::from_secs(15)));
    wait_status(&home, |d| d["uploader_running"] == false);

    let (code, out, err) = cli(&home, &["export", "--rejected"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 of 2 events sent"), "{out}");
    assert_eq!(c.span_count(), 3, "something was sent twice");
    // Every event of the log reached the collector (the rejected ones twice: first
    // refused, then accepted), and it accepted three spans in all.
    let got: std::collections::BTreeSet<Vec<u8>> =
        c.spans().into_iter().map(|s| s.span_id).collect();
    let want: std::collections::BTreeSet<Vec<u8>> = event_span_ids(&home).into_iter().collect();
    assert_eq!(got, want);

    let d = status(&home)["delivery"].clone();
    assert_eq!(
        (
            &d["sent_spans"],
            &d["rejected_spans"],
            &d["rejected_waiting"]
        ),
        (&3.into(), &0.into(), &0.into()),
        "{d}"
    );
    let (code, out, _) = cli(&home, &["export", "--rejected"]);
    assert_eq!(code, 0);
    assert!(out.contains("Nothing rejected is waiting"), "{out}");

    // --all sends everything again and says how much of it was already acknowledged.
    let (code, out, err) = cli(&home, &["export", "--all"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 of them the collector had already acknowledged"),
        "{out}"
    );
    let mut c2 = home.cmd();
    c2.args(["export", "--all", "--json"]);
    let (_, json, _) = run(c2);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["already_acknowledged"], 3, "{v}");
    // Re-sending acknowledged events does not count them again.
    assert_eq!(status(&home)["delivery"]["sent_spans"], 3);
}

#[test]
fn export_waits_for_a_running_upload_and_says_how_long_it_may_take() {
    let c = Collector::start(Mode::Status(400, None, "no"));
    let home = configured(&c.endpoint());
    assert_eq!(cli(&home, &["record", "plan.init"]).0, 0);
    wait_status(&home, |d| {
        d["rejected_spans"] == 1 && d["uploader_running"] == false
    });
    c.set_mode(Mode::Healthy);

    // Another upload holds the log, as the detached uploader does while it retries,
    // and says when it gives up.
    let lock_path = state_files(&home, ".uploader.lock")
        .pop()
        .expect("a lock file");
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.try_lock().unwrap();
    let until = std::time::SystemTime::now() + Duration::from_secs(40);
    fs::write(
        &lock_path,
        specfact_telemetry::event::format_timestamp(until),
    )
    .unwrap();

    let (code, out, err) = cli(&home, &["export", "--rejected"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("another upload to this endpoint is running"),
        "{err}"
    );
    assert!(err.contains("stops within about"), "{err}");
    assert!(err.contains("--wait"), "{err}");
    assert_eq!(c.span_count(), 0);

    let waiter = {
        let mut cmd = home.cmd();
        cmd.args(["export", "--rejected", "--wait=30"]);
        std::thread::spawn(move || run(cmd))
    };
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        c.span_count(),
        0,
        "sent while the other upload held the log"
    );
    drop(lock);
    let (code, out, err) = waiter.join().unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 of 1 event sent"), "{out}");
    assert_eq!(c.span_count(), 1);
}

#[test]
fn the_detached_uploader_writes_its_debug_lines_beside_the_state_not_to_the_terminal() {
    let c = Collector::start(Mode::Status(400, None, "unknown field"));
    let home = configured(&c.endpoint());
    let mut cmd = home.cmd();
    cmd.env("SPECFACT_TELEMETRY_DEBUG", "true")
        .args(["record", "plan.init"]);
    // `run` returns when every holder of the pipes is gone: an uploader writing to the
    // terminal it left would hold stderr until it exits.
    let (code, _, err) = run(cmd);
    assert_eq!(code, 0);
    assert!(err.contains("specfact-telemetry: event"), "{err}");
    assert!(err.contains("started uploader process"), "{err}");
    assert!(
        !err.contains("events rejected"),
        "the uploader wrote to the terminal: {err}"
    );

    let d = wait_status(&home, |d| {
        d["uploader_said"]["line"]
            .as_str()
            .is_some_and(|l| l.contains("rejected"))
            && d["uploader_running"] == false
    });
    let said = d["uploader_said"]["line"].as_str().unwrap_or_default();
    assert!(
        said.contains("1 events rejected") || said.contains("rejected"),
        "{d}"
    );
    let log = PathBuf::from(d["uploader_log"].as_str().unwrap());
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("specfact-telemetry: "), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&log).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (_, out, _) = cli(&home, &["status"]);
    assert!(out.contains("uploader said"), "{out}");
}
