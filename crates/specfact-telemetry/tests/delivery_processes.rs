//! Delivery with real processes. A host is this test binary run again with
//! `CHILD_ROLE=host`: the `child_process_entry` test then calls the uploader entry
//! point, records events, prints one line and exits with `HOST_EXIT`. Its uploader
//! is this binary once more, started detached by the library, routed to the same
//! entry point through the handle's `DeliveryOptions::uploader` command.

#![cfg(feature = "otlp")]

mod delivery_support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use delivery_support::{Collector, Mode, closed_port};
use specfact_telemetry::delivery::{self, DeliveryOptions, RetryPolicy, UploaderCommand};
use specfact_telemetry::{Telemetry, metadata};

const TOKEN: &str = "s3cr3t-token-value";
const ROLE: &str = "CHILD_ROLE";
const CHILD_ARGS: &[&str] = &[
    "--exact",
    "child_process_entry",
    "--nocapture",
    "--quiet",
    "--test-threads=1",
];

/// Not a test of its own: the entry point of the host processes (and of their uploaders).
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let ms: Vec<u64> = std::env::var("HOST_RETRY_MS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|x| x.parse().ok())
        .collect();
    let retry = match ms[..] {
        [initial, max, lifetime] => RetryPolicy {
            initial_backoff: Duration::from_millis(initial),
            max_backoff: Duration::from_millis(max),
            max_elapsed: Duration::from_millis(lifetime),
        },
        _ => RetryPolicy::default(),
    };
    // An uploader started by a host runs and exits here.
    let _ = delivery::run_uploader_if_requested();
    let uploader = UploaderCommand::new(std::env::current_exe().unwrap(), CHILD_ARGS);
    let options = DeliveryOptions {
        retry,
        uploader: Some(uploader),
        ..DeliveryOptions::default()
    };
    assert_eq!(role, "host");
    let events: usize = std::env::var("EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let telemetry = Telemetry::from_env_with("1.2.3", options);
    assert!(telemetry.is_enabled());
    for i in 0..events {
        let mut g = telemetry.track_command("repro.run", metadata! { "mode" => "repro" });
        g.record(metadata! { "checks_total" => i });
        g.success();
    }
    println!("host output");
    std::process::exit(3);
}

fn host(home: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(CHILD_ARGS)
        .env_clear()
        .env(ROLE, "host")
        .env("HOME", home)
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("SPECFACT_TELEMETRY_ENDPOINT", endpoint)
        .env(
            "SPECFACT_TELEMETRY_HEADERS",
            format!("Authorization: Bearer {TOKEN}"),
        )
        .env("SPECFACT_TELEMETRY_EXPORT_TIMEOUT", "1")
        .env("HOST_RETRY_MS", "100,500,3000")
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    // `output()` returns only when every holder of the pipes has exited: a child
    // that kept them would make this hang instead of returning.
    c.output().unwrap()
}

fn assert_host_unchanged(out: &Output) {
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The test harness prints its own banner; the host prints exactly one line.
    let ours: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("running "))
        .collect();
    assert_eq!(ours, ["host output"], "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "printed without debug"
    );
}

/// Waits (bounded) for the uploader lock of this home to be free.
fn wait_uploader_done(home: &Path) {
    let dir = home.join(".specfact/telemetry-delivery");
    for _ in 0..200 {
        let busy = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(Result::ok).any(|e| {
                    let p = e.path();
                    p.to_string_lossy().ends_with(".uploader.lock")
                        && std::fs::File::open(&p).is_ok_and(|f| f.try_lock().is_err())
                })
            })
            .unwrap_or(false);
        if !busy {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_healthy_collector_receives_the_event_and_the_host_is_unchanged() {
    let c = Collector::start(Mode::Healthy);
    let home = tempfile::tempdir().unwrap();
    let out = run(host(home.path(), &c.endpoint()));
    assert_host_unchanged(&out);
    assert!(c.wait_for_spans(1, Duration::from_secs(10)));
    let r = &c.requests()[0];
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {TOKEN}")));
    assert_eq!(r.spans[0].name, "specfact.repro.run");
}

#[test]
fn every_failing_collector_state_leaves_the_host_unchanged() {
    let states = [
        Mode::BlackHole,
        Mode::Slow(Duration::from_secs(10)),
        Mode::Status(503, Some(1), "busy"),
        Mode::Status(400, None, "bad"),
        Mode::Partial(1, "dropped one"),
    ];
    let mut homes = Vec::new();
    for mode in states {
        let c = Collector::start(mode.clone());
        let home = tempfile::tempdir().unwrap();
        let out = run(host(home.path(), &c.endpoint()));
        assert_host_unchanged(&out);
        assert!(c.wait_for_requests(1, Duration::from_secs(10)), "{mode:?}");
        homes.push((home, c));
    }
    let home = tempfile::tempdir().unwrap();
    let out = run(host(
        home.path(),
        &format!("http://127.0.0.1:{}/v1/traces", closed_port()),
    ));
    assert_host_unchanged(&out);
    for (h, c) in homes {
        drop(c);
        wait_uploader_done(h.path());
    }
    wait_uploader_done(home.path());
}

/// As `host 3>&1 | cat` does: the host inherits a pipe as descriptor 3. The uploader
/// must not keep it, or the reader waits for the uploader to give up on the collector.
#[cfg(unix)]
#[test]
fn the_uploader_does_not_keep_the_hosts_other_descriptors_open() {
    use std::io::Read;
    use std::os::unix::io::FromRawFd;
    use std::os::unix::process::CommandExt;

    let c = Collector::start(Mode::BlackHole);
    let home = tempfile::tempdir().unwrap();
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors it creates.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned here only.
    let (mut reader, writer) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let mut cmd = host(home.path(), &c.endpoint());
    cmd.env("SPECFACT_TELEMETRY_EXPORT_TIMEOUT", "10")
        .env("HOST_RETRY_MS", "100,500,20000");
    let w = fds[1];
    // SAFETY: dup2 is async-signal-safe; the new descriptor 3 is not close-on-exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(w, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(cmd);
    assert_host_unchanged(&out);
    drop(writer);
    assert!(c.wait_for_requests(1, Duration::from_secs(10)));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(3)).is_ok(),
        "the uploader kept the host's pipe open"
    );
    drop(c);
    wait_uploader_done(home.path());
}

#[test]
fn debug_output_goes_to_stderr_without_the_credential() {
    let c = Collector::start(Mode::Status(401, None, "no"));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = host(home.path(), &c.endpoint());
    cmd.env("SPECFACT_TELEMETRY_DEBUG", "true");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("specfact-telemetry"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("host output"));
    wait_uploader_done(home.path());
}

#[test]
fn fifty_processes_through_an_outage_deliver_every_event_exactly_once() {
    const PROCESSES: usize = 50;
    const PER_PROCESS: usize = 20;
    let home = tempfile::tempdir().unwrap();
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let wave = |n: usize| {
        let children: Vec<_> = (0..n)
            .map(|_| {
                let mut c = host(home.path(), &endpoint);
                c.env("EVENTS", PER_PROCESS.to_string())
                    .env("HOST_RETRY_MS", "100,300,20000")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        for child in children {
            assert_host_unchanged(&child.wait_with_output().unwrap());
        }
    };
    // First half: the collector is down.
    wave(PROCESSES / 2);
    let c = Collector::start_on(port, Mode::Healthy);
    wave(PROCESSES / 2);
    let total = PROCESSES * PER_PROCESS;
    assert!(
        c.wait_for_spans(total, Duration::from_secs(60)),
        "received {} of {total}",
        c.span_count()
    );
    wait_uploader_done(home.path());
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    for s in c.spans() {
        *seen.entry(s.span_id).or_default() += 1;
    }
    assert_eq!(seen.len(), total);
    assert!(seen.values().all(|&n| n == 1), "duplicates were sent");
    let log = home.path().join(".specfact/telemetry.log");
    assert_eq!(std::fs::read_to_string(log).unwrap().lines().count(), total);
}

#[test]
fn processes_finishing_together_start_a_single_uploader() {
    // A collector that never answers keeps the first uploader busy for the whole
    // export timeout: every other process must find it working and start none.
    let c = Collector::start(Mode::BlackHole);
    let home = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut cmd = host(home.path(), &c.endpoint());
            cmd.env("SPECFACT_TELEMETRY_EXPORT_TIMEOUT", "20")
                .env("HOST_RETRY_MS", "100,100,100")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        assert_host_unchanged(&child.wait_with_output().unwrap());
    }
    assert!(c.wait_for_requests(1, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.requests().len(), 1, "more than one uploader started");
    // The rest wait in the log for that uploader's next pass (or the next run).
    let st_dir = home.path().join(".specfact/telemetry-delivery");
    assert!(st_dir.is_dir());
    drop(c);
    wait_uploader_done(home.path());
}
