//! The local log on the real file system, with real processes.
//!
//! Child processes are this test binary run again with `CHILD_ROLE` set: the
//! `child_process_entry` test then plays the role and exits.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use specfact_telemetry::log::LocalLog;
use specfact_telemetry::{Outcome, Telemetry, metadata};

const ROLE: &str = "CHILD_ROLE";

/// A child process running this binary's `child_process_entry` with a clean environment.
fn child(role: &str, home: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "child_process_entry",
        "--nocapture",
        "--quiet",
        "--test-threads=1",
    ])
    .env_clear()
    .env(ROLE, role)
    .env("HOME", home);
    c
}

/// Not a test of its own: the entry point of the child processes the tests start.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let count: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    match role.as_str() {
        "writer" => {
            let t = Telemetry::from_env("1.0.0");
            assert!(t.is_enabled(), "child telemetry should be enabled");
            for i in 0..count {
                let mut g = t.track_command("repro.run", metadata! { "mode" => "repro" });
                g.record(metadata! { "checks_total" => i, "violations_detected" => i % 3 });
                assert!(matches!(g.success(), Outcome::Recorded(_)));
            }
        }
        "host" => {
            // A host whose telemetry cannot write: its own output and exit code must
            // be exactly what they would be without telemetry.
            let t = Telemetry::from_env("1.0.0");
            let g = t.track_command("plan.init", metadata!());
            println!("host output");
            let _ = g.failure("Exit");
            std::process::exit(7);
        }
        "disabled" => {
            let fds = || {
                fs::read_dir("/proc/self/fd")
                    .map(|d| d.count())
                    .unwrap_or(0)
            };
            let tasks = || {
                fs::read_dir("/proc/self/task")
                    .map(|d| d.count())
                    .unwrap_or(0)
            };
            let (fds_before, tasks_before) = (fds(), tasks());
            let t = Telemetry::from_env("1.0.0");
            assert!(!t.is_enabled());
            for _ in 0..count {
                let mut g = t.track_command("plan.init", metadata! { "mode" => "x" });
                g.set("files_analyzed", 10);
                assert_eq!(g.success(), Outcome::Disabled);
            }
            drop(t);
            assert_eq!(fds(), fds_before, "a file descriptor was left open");
            assert_eq!(tasks(), tasks_before, "a thread was started");
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// The child's own stdout, without the line the test harness prints before it runs.
fn host_stdout(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stdout);
    s.strip_prefix("\nrunning 1 test\n")
        .unwrap_or(&s)
        .to_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "child failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sixteen_processes_appending_a_thousand_events_each_lose_and_tear_nothing() {
    let home = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..16)
        .map(|_| {
            child("writer", home.path())
                .env("SPECFACT_TELEMETRY_OPT_IN", "true")
                .env("EVENTS", "1000")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(&c.wait_with_output().unwrap());
    }
    let log = LocalLog::new(home.path().join(".specfact/telemetry.log"));
    let mut events = 0;
    let mut sessions = std::collections::HashSet::new();
    for line in log.read().unwrap() {
        let line = line.unwrap();
        assert!(line.complete);
        let event = line
            .entry
            .unwrap_or_else(|e| panic!("line {} malformed: {e}", line.line_no));
        sessions.insert(event.session_id);
        events += 1;
    }
    assert_eq!(events, 16_000);
    assert_eq!(sessions.len(), 16);
}

#[cfg(unix)]
#[test]
fn writers_killed_mid_stream_leave_a_readable_log() {
    let home = tempfile::tempdir().unwrap();
    for round in 0..12u64 {
        let mut c = child("writer", home.path())
            .env("SPECFACT_TELEMETRY_OPT_IN", "true")
            .env("EVENTS", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + 7 * round));
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        let rc = unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
        assert_eq!(rc, 0);
        c.wait().unwrap();
    }
    let log = LocalLog::new(home.path().join(".specfact/telemetry.log"));
    let before = log.stats().unwrap();
    assert!(
        before.events > 0,
        "the writers should have written something"
    );
    // Whatever state the kills left, the next event starts on a fresh line and reads back.
    let out = child("writer", home.path())
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("EVENTS", "1")
        .output()
        .unwrap();
    ok(&out);
    let lines: Vec<_> = log.read().unwrap().map(Result::unwrap).collect();
    let last = lines.last().unwrap();
    assert!(last.complete);
    assert_eq!(last.entry.as_ref().unwrap().count("checks_total"), Some(0));
    let after = log.stats().unwrap();
    assert_eq!(after.events, before.events + 1);
    assert!(after.malformed <= before.malformed + 1);
}

#[test]
fn a_torn_line_from_a_crash_is_terminated_by_the_next_process() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".specfact");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("telemetry.log"), b"{\"command\":\"plan.in").unwrap();
    let out = child("writer", home.path())
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .output()
        .unwrap();
    ok(&out);
    let stats = LocalLog::new(dir.join("telemetry.log")).stats().unwrap();
    assert_eq!((stats.events, stats.malformed), (1, 1));
}

#[test]
fn an_unwritable_log_changes_nothing_for_the_host() {
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join("not-a-dir"), "").unwrap();
    let cases = [
        home.path().join("not-a-dir/telemetry.log"), // parent is a file
        Path::new("/dev/full").to_owned(),           // disk full
        Path::new("/proc/version").to_owned(),       // read-only file
    ];
    for path in cases {
        let out = child("host", home.path())
            .env("SPECFACT_TELEMETRY_OPT_IN", "true")
            .env("SPECFACT_TELEMETRY_LOCAL_PATH", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7), "{path:?}");
        assert_eq!(host_stdout(&out), "host output\n", "{path:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{path:?}");
    }
}

#[test]
fn debug_mode_says_why_an_event_was_not_written() {
    let home = tempfile::tempdir().unwrap();
    let out = child("host", home.path())
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("SPECFACT_TELEMETRY_DEBUG", "1")
        .env("SPECFACT_TELEMETRY_LOCAL_PATH", "/dev/full")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(host_stdout(&out), "host output\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("event not recorded"), "{err}");
    assert!(err.contains("/dev/full"), "{err}");
}

#[test]
fn disabled_telemetry_creates_nothing_under_home() {
    let reasons: [&[(&str, &str)]; 4] = [
        &[],
        &[("SPECFACT_TELEMETRY_OPT_IN", "false")],
        &[("SPECFACT_TELEMETRY_OPT_IN", "true"), ("DO_NOT_TRACK", "1")],
        &[("SPECFACT_TELEMETRY_OPT_IN", "true"), ("TEST_MODE", "true")],
    ];
    for vars in reasons {
        let home = tempfile::tempdir().unwrap();
        let mut c = child("disabled", home.path());
        c.env("EVENTS", "100");
        for (k, v) in vars {
            c.env(k, v);
        }
        ok(&c.output().unwrap());
        let left: Vec<_> = fs::read_dir(home.path()).unwrap().collect();
        assert!(left.is_empty(), "{vars:?} left {left:?}");
    }
}
