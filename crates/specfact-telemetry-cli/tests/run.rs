//! `run`: the program runs as if started directly (input, output and exit status
//! passed through), its duration and success are recorded, and telemetry never changes
//! its result.

mod common;
mod support;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use common::{Home, run};
use support::{debug, events, log_bytes, only_event, opted_in};

/// `run --command NAME -- sh -c SCRIPT`.
fn sh(mut c: assert_cmd::Command, name: &str, script: &str) -> assert_cmd::Command {
    c.args(["run", "--command", name, "--", "sh", "-c", script]);
    c
}

#[test]
fn passes_stdin_stdout_stderr_and_success_through() {
    let home = Home::new();
    let mut c = sh(
        opted_in(&home),
        "demo.cat",
        "cat; printf 'to stderr\\n' >&2",
    );
    c.write_stdin("hello from stdin\n");
    let (code, out, err) = run(c);
    assert_eq!(code, 0);
    assert_eq!(out, "hello from stdin\n");
    assert_eq!(err, "to stderr\n");
    let e = only_event(&home);
    assert_eq!(e["command"], "demo.cat");
    assert_eq!(e["success"], true);
    assert!(e.get("error").is_none());
}

#[test]
fn passes_the_exit_status_through_and_records_a_failure() {
    let home = Home::new();
    for status in [1, 3, 255] {
        let c = sh(opted_in(&home), "demo.fail", &format!("exit {status}"));
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str(), err.as_str()), (status, "", ""));
    }
    let all = events(&home);
    assert_eq!(all.len(), 3);
    for e in all {
        assert_eq!(
            (&e["success"], &e["error"]),
            (&false.into(), &"Exit".into())
        );
    }
}

#[test]
fn a_program_killed_by_a_signal_exits_128_plus_the_signal() {
    let home = Home::new();
    let c = sh(opted_in(&home), "demo.killed", "kill -TERM $$");
    let (code, _, _) = run(c);
    assert_eq!(code, 143);
    let e = only_event(&home);
    // The failure names the signal.
    assert_eq!(
        (&e["success"], &e["error"]),
        (&false.into(), &"SIGTERM".into())
    );
}

#[test]
fn a_missing_program_exits_127_and_is_recorded() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.args([
        "run",
        "--command",
        "demo.missing",
        "--",
        "no-such-program-here",
        "x",
    ]);
    let (code, out, err) = run(c);
    assert_eq!(code, 127);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "specfact-telemetry: no-such-program-here: command not found\n"
    );
    let e = only_event(&home);
    assert_eq!(
        (&e["success"], &e["error"]),
        (&false.into(), &"io::NotFound".into())
    );
}

#[cfg(unix)]
#[test]
fn a_program_that_is_not_executable_exits_126() {
    let home = Home::new();
    let script = home.path().join("not-executable.sh");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let mut c = opted_in(&home);
    c.args(["run", "--command", "demo.noexec", "--"])
        .arg(&script);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str()), (126, ""));
    assert!(err.starts_with("specfact-telemetry: "), "{err}");
    assert!(err.contains("permission denied"), "{err}");
    let e = only_event(&home);
    assert_eq!(e["error"], "io::PermissionDenied");
}

#[test]
fn records_the_duration_and_nothing_of_the_arguments_or_output() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.args([
        "run",
        "--command",
        "demo.timed",
        "--field",
        "mode=repro",
        "--",
        "sh",
        "-c",
        "sleep 0.3; echo /srv/private/project-x",
        "argument-private-y",
    ]);
    let (code, out, _) = run(c);
    assert_eq!((code, out.as_str()), (0, "/srv/private/project-x\n"));
    let e = only_event(&home);
    assert!(e["duration_ms"].as_f64().unwrap() >= 300.0, "{e}");
    assert_eq!(e["mode"], "repro");
    let log = String::from_utf8(log_bytes(&home)).unwrap();
    for private in ["private", "project-x", "sleep", "/srv", "sh -c"] {
        assert!(!log.contains(private), "{private} in {log}");
    }
}

#[cfg(unix)]
#[test]
fn the_metrics_file_is_private_merged_over_the_fields_and_removed() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut c = opted_in(&home);
    c.env("TMPDIR", tmp.path()).args([
        "run",
        "--command",
        "analyze.contracts",
        "--field",
        "mode=direct",
        "--field",
        "checks_total=3",
        "--",
        "sh",
        "-c",
        r#"f="$SPECFACT_TELEMETRY_METRICS_FILE"; echo "$f"; stat -c %a "$f"; echo '{"files_analyzed": 143, "mode": "repro", "violations_detected": 2, "unknown": "x"}' > "$f""#,
    ]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let path = lines.next().unwrap().to_owned();
    assert_eq!(lines.next(), Some("600"), "{out}");
    assert!(Path::new(&path).starts_with(tmp.path()), "{path}");
    assert!(!Path::new(&path).exists(), "metrics file left behind");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    let e = only_event(&home);
    assert_eq!(e["files_analyzed"], 140);
    assert_eq!(e["violations_detected"], 2);
    assert_eq!(e["checks_total"], 3);
    assert_eq!(e["mode"], "repro", "metrics win over --field");
    assert!(e.get("unknown").is_none());
}

#[test]
fn invalid_metrics_are_ignored_with_a_debug_note() {
    let home = Home::new();
    let c = sh(
        opted_in(&home),
        "demo.badmetrics",
        r#"printf '{"files_analyzed": ' > "$SPECFACT_TELEMETRY_METRICS_FILE""#,
    );
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let c = sh(
        debug(&home),
        "demo.badmetrics",
        r#"printf '[1, 2]' > "$SPECFACT_TELEMETRY_METRICS_FILE""#,
    );
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(
        err.contains("metrics file ignored: expected a JSON object"),
        "{err}"
    );
    let c = sh(
        debug(&home),
        "demo.bigmetrics",
        r#"head -c 1100000 /dev/zero | tr '\0' ' ' > "$SPECFACT_TELEMETRY_METRICS_FILE""#,
    );
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("metrics file ignored: larger than"), "{err}");
    assert_eq!(events(&home).len(), 3);
}

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_metrics_file_does_not_hang() {
    let home = Home::new();
    let c = sh(
        debug(&home),
        "demo.fifo",
        r#"rm -f "$SPECFACT_TELEMETRY_METRICS_FILE" && mkfifo "$SPECFACT_TELEMETRY_METRICS_FILE""#,
    );
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(
        err.contains("metrics file ignored: not a regular file"),
        "{err}"
    );
    assert_eq!(events(&home).len(), 1);
}

#[test]
fn disabled_still_runs_the_program_and_creates_nothing() {
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let mut c = home.cmd();
    c.env("TMPDIR", tmp.path()).args([
        "run",
        "--command",
        "demo.off",
        "--field",
        "mode=repro",
        "--",
        "sh",
        "-c",
        r#"echo "${SPECFACT_TELEMETRY_METRICS_FILE-unset}"; cat; exit 5"#,
    ]);
    c.write_stdin("in\n");
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (5, "unset\nin\n", ""));
    assert!(home.tree().is_empty(), "{:?}", home.tree());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_telemetry_failure_never_changes_the_exit_status() {
    let home = Home::new();
    fs::write(home.path().join(".specfact"), "not a directory").unwrap();
    let c = sh(opted_in(&home), "demo.broken", "echo out; exit 7");
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (7, "out\n", ""));
    let c = sh(opted_in(&home), "demo.broken", "exit 0");
    assert_eq!(run(c).0, 0);
}

#[test]
fn wrong_usage_exits_2() {
    let home = Home::new();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--", "true"], "--command <NAME>"),
        (&["run", "--command", "demo.x"], "<PROGRAM>"),
        (
            &["run", "--command", "demo.x", "true"],
            "unexpected argument 'true'",
        ),
    ];
    for (args, message) in cases {
        let mut c = opted_in(&home);
        c.args(*args);
        let (code, _, err) = run(c);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    assert!(home.tree().is_empty());
}

#[test]
fn names_and_fields_telemetry_cannot_use_never_stop_the_program() {
    for env in [&[][..], &[("DO_NOT_TRACK", "1")][..]] {
        let home = Home::new();
        for args in [
            &[
                "run",
                "--command",
                "Not Valid",
                "--",
                "sh",
                "-c",
                "echo ran; exit 3",
            ][..],
            &[
                "run",
                "--command",
                "ci.mr.9f86d081884c7d65",
                "--",
                "sh",
                "-c",
                "echo ran; exit 3",
            ][..],
            &[
                "run",
                "--command",
                "demo.x",
                "--field",
                "novalue",
                "--",
                "sh",
                "-c",
                "echo ran; exit 3",
            ][..],
        ] {
            let mut c = opted_in(&home);
            c.envs(env.iter().copied()).args(args);
            let (code, out, err) = run(c);
            assert_eq!(
                (code, out.as_str(), err.as_str()),
                (3, "ran\n", ""),
                "{args:?} {env:?}"
            );
        }
    }
    // In debug mode the reason is shown, and the program still runs.
    let home = Home::new();
    let mut c = debug(&home);
    c.args([
        "run",
        "--command",
        "demo.x",
        "--field",
        "novalue",
        "--",
        "sh",
        "-c",
        "exit 0",
    ]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("expected KEY=VALUE"), "{err}");
}

/// The binary as a plain child process, in its own process group, so a test can
/// signal it (or its whole group) while the program runs.
#[cfg(unix)]
fn spawn_in_group(home: &Home, script: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut c = StdCommand::new(env!("CARGO_BIN_EXE_specfact-telemetry"));
    c.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .args([
            "run",
            "--command",
            "demo.interrupt",
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    c.spawn().unwrap()
}

#[cfg(unix)]
fn wait_for_file(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{} never appeared", path.display());
}

/// An interrupt sent to `run` alone (a CI cancel) is passed on to the program: `run`
/// itself survives it, waits for the program, records the failure and exits as the
/// program did. A program that handles the interrupt decides its own exit status.
#[cfg(unix)]
#[test]
fn an_interrupt_sent_to_run_alone_reaches_the_program_and_run_survives_it() {
    let home = Home::new();
    let ready = home.path().join("ready");
    let script = format!(
        "trap 'echo interrupted; exit 4' INT; touch {}; while :; do sleep 0.05; done",
        ready.display()
    );
    let mut child = spawn_in_group(&home, &script);
    wait_for_file(&ready);
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(
        status.code(),
        Some(4),
        "run must survive and pass the status on"
    );
    assert_eq!(out, "interrupted\n");
    let e = only_event(&home);
    assert_eq!(
        (&e["success"], &e["error"]),
        (&false.into(), &"SIGINT".into())
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_at_the_terminal_stops_the_program_and_is_still_recorded() {
    let home = Home::new();
    let ready = home.path().join("ready");
    let script = format!("touch {}; sleep 5", ready.display());
    let mut child = spawn_in_group(&home, &script);
    wait_for_file(&ready);
    // The terminal sends SIGINT to the whole foreground process group.
    // SAFETY: kill(2) on the process group of our own child.
    assert_eq!(unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let e = only_event(&home);
    // The failure names the signal.
    assert_eq!(
        (&e["success"], &e["error"]),
        (&false.into(), &"SIGINT".into())
    );
    assert!(e["duration_ms"].as_f64().unwrap() < 4000.0, "{e}");
}

/// A CI timeout or a cancel sends SIGTERM to `run` alone: the program gets it too, `run`
/// waits for it, records a failure naming the signal, removes the metrics file and exits
/// as the program did.
#[cfg(unix)]
#[test]
fn a_signal_sent_to_run_is_forwarded_recorded_and_cleaned_up() {
    for (signal, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let home = Home::new();
        let tmp = home.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        let mut c = StdCommand::new(env!("CARGO_BIN_EXE_specfact-telemetry"));
        c.env_clear()
            .env("HOME", home.path())
            .env("TMPDIR", &tmp)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SPECFACT_TELEMETRY_OPT_IN", "true")
            .args(["run", "--command", "ci.job", "--", "sleep", "30"])
            .stdin(Stdio::null());
        let mut child = c.spawn().unwrap();
        // Wait until the metrics file exists: the program is about to start or running.
        for _ in 0..200 {
            if fs::read_dir(&tmp).unwrap().count() > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        std::thread::sleep(Duration::from_millis(200));
        // SAFETY: kill(2) on the pid of our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let started = std::time::Instant::now();
        let status = child.wait().unwrap();
        // `run` waits for the program: returning early means `sleep` got the signal.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: sleep kept running"
        );
        assert_eq!(status.code(), Some(128 + signal), "{name}: {status:?}");
        let e = only_event(&home);
        assert_eq!(
            (&e["success"], &e["error"]),
            (&false.into(), &name.into()),
            "{name}"
        );
        let left: Vec<_> = fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "{name}: left behind {left:?}");
    }
}

/// `run --command`, typed into a script, follows `record`'s rule: common words in the
/// name survive the user's name; a name that is not UTF-8 still runs the program.
#[test]
fn run_keeps_common_words_and_always_runs_the_program() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.env("USER", "test")
        .args(["run", "--command", "generate.test-prompt", "--", "true"]);
    assert_eq!(run(c).0, 0);
    assert_eq!(only_event(&home)["command"], "generate.test-prompt");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let mut c = opted_in(&home);
        c.arg("run")
            .arg("--command")
            .arg(std::ffi::OsString::from_vec(b"x\xff".to_vec()))
            .args(["--", "sh", "-c", "exit 3"]);
        assert_eq!(run(c).0, 3);
        let mut c = opted_in(&home);
        c.env("USER", "test")
            .args(["run", "--command", "test.run", "--", "sh", "-c", "exit 4"]);
        assert_eq!(run(c).0, 4);
        assert_eq!(events(&home).len(), 1, "neither was recorded");
    }
}
