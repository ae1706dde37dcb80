//! `show`: recent events as a table or JSON lines, logs of the Python tool included,
//! malformed lines reported instead of failing, `--since` and `--follow`.

mod common;
mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use common::{Home, run};
use support::{line, opted_in, python_log, write_log};

/// A log with fixed content: our events (with timestamps), the Python tool's (without),
/// and two lines that are not events.
fn mixed_log(home: &Home) {
    let python: Vec<String> = python_log().lines().take(2).map(str::to_owned).collect();
    write_log(
        home,
        &[
            python[0].clone(),
            python[1].clone(),
            "this is not JSON".to_owned(),
            line(
                1,
                "import.from_code",
                "2026-11-20T09:15:00.000Z",
                true,
                None,
                4280.5,
                r#""mode":"repro","files_analyzed":140,"features_detected":27,"stories_detected":112"#,
            ),
            line(
                2,
                "repro.run",
                "2026-11-21T10:00:00.250Z",
                false,
                Some("TimeoutError"),
                125_000.0,
                r#""checks_total":6,"checks_failed":2,"violations_detected":2,"shadow_mode":false"#,
            ),
            line(
                3,
                "plan.init",
                "2026-11-22T23:59:59.999Z",
                true,
                None,
                4.39,
                "",
            ),
            r#"{"success":true}"#.to_owned(),
            line(
                4,
                "enforce.stage",
                "2026-11-24T06:15:00.123Z",
                false,
                None,
                3_720_000.0,
                "",
            ),
        ],
    );
}

fn show(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = opted_in(home);
    c.arg("show").args(args);
    run(c)
}

#[test]
fn table_snapshot() {
    let home = Home::new();
    mixed_log(&home);
    let (code, out, err) = show(&home, &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("table", out);
    assert_eq!(err, "2 malformed lines skipped (lines 3, 7)\n");
}

#[test]
fn table_snapshot_of_the_last_two() {
    let home = Home::new();
    mixed_log(&home);
    let (code, out, _) = show(&home, &["-n", "2"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("last_two", out);
}

#[test]
fn times_are_shown_in_the_local_time_zone() {
    let home = Home::new();
    mixed_log(&home);
    let mut c = opted_in(&home);
    c.env("TZ", "Asia/Tokyo").args(["show", "-n", "1"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(out.contains("2026-11-24 15:15:00"), "{out}");
}

#[test]
fn the_python_tools_log_is_shown_as_it_is() {
    let home = Home::new();
    home.write("telemetry.log", python_log());
    let (code, out, err) = show(&home, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{out}");
    assert!(rows.iter().all(|r| r.starts_with('–')), "{out}");
    for command in ["plan.init", "import.from_code", "repro.run", "plan.compare"] {
        assert!(out.contains(command), "{command}: {out}");
    }
    assert!(out.contains("failed: Exit"), "{out}");
}

#[test]
fn json_prints_the_events_as_lines() {
    let home = Home::new();
    let python = python_log();
    home.write("telemetry.log", format!("{python}garbage\n"));
    let (code, out, err) = show(&home, &["--json", "-n", "3"]);
    assert_eq!(code, 0);
    let expected: Vec<&str> = python.lines().skip(3).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    assert_eq!(err, "1 malformed line skipped (line 7)\n");
}

#[test]
fn since_takes_dates_times_and_ages() {
    let home = Home::new();
    mixed_log(&home);
    let commands = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["command"].to_string())
            .collect()
    };
    let (code, out, err) = show(&home, &["--json", "--since", "2026-11-21"]);
    assert_eq!(code, 0);
    assert_eq!(
        commands(&out),
        [r#""repro.run""#, r#""plan.init""#, r#""enforce.stage""#]
    );
    assert!(
        err.contains("2 events without a timestamp (written by an older tool) left out by --since"),
        "{err}"
    );
    let (_, out, _) = show(&home, &["--json", "--since", "2026-11-22T23:59:59.999Z"]);
    assert_eq!(commands(&out), [r#""plan.init""#, r#""enforce.stage""#]);
    let (_, out, _) = show(&home, &["--json", "--since", "2026-11-23T00:00:00+01:00"]);
    assert_eq!(commands(&out), [r#""plan.init""#, r#""enforce.stage""#]);

    // An age counts back from now: an event recorded now is in, one from 2020 is out.
    let home = Home::new();
    write_log(
        &home,
        &[line(
            1,
            "old.event",
            "2020-01-01T00:00:00.000Z",
            true,
            None,
            1.0,
            "",
        )],
    );
    record(&home, "new.event");
    let (code, out, _) = show(&home, &["--json", "--since", "1h"]);
    assert_eq!(code, 0);
    assert_eq!(commands(&out), [r#""new.event""#]);
    let (code, out, _) = show(&home, &["--since", "30d", "-n", "5"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("new.event") && !out.contains("old.event"),
        "{out}"
    );
    let (code, out, _) = show(&home, &["--since", "2099-01-01"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("No events recorded since 2099-01-01 00:00:00"),
        "{out}"
    );
}

#[test]
fn a_bare_date_is_a_utc_day_in_every_time_zone() {
    let home = Home::new();
    mixed_log(&home);
    let commands = |zone: &str, args: &[&str]| -> Vec<String> {
        let mut c = opted_in(&home);
        c.env("TZ", zone).args(["show", "--json"]).args(args);
        let (code, out, err) = run(c);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["command"].to_string())
            .collect()
    };
    // 12 hours behind UTC: local midnight of the 21st would leave out repro.run at 10:00Z.
    assert_eq!(
        commands("Etc/GMT+12", &["--since", "2026-11-21"]),
        [r#""repro.run""#, r#""plan.init""#, r#""enforce.stage""#]
    );
    // 9 hours ahead: the local 22nd would end at 15:00Z and leave out plan.init at 23:59Z.
    assert_eq!(
        commands(
            "Asia/Tokyo",
            &["--since", "2026-11-22", "--until", "2026-11-22"]
        ),
        [r#""plan.init""#]
    );
    assert_eq!(
        commands("UTC", &["--until", "2026-11-20T09:15:00Z"]),
        [r#""import.from_code""#]
    );
}

#[test]
fn until_leaves_out_later_events_and_an_empty_period_is_a_usage_error() {
    let home = Home::new();
    mixed_log(&home);
    let (code, out, err) = show(&home, &["--until", "2026-11-21"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("repro.run") && !out.contains("plan.init"),
        "{out}"
    );
    assert!(
        err.contains("2 events without a timestamp (written by an older tool) left out by --until"),
        "{err}"
    );
    let (code, out, _) = show(&home, &["--until", "2001-01-01"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("No events recorded before 2001-01-02 00:00:00 UTC"),
        "{out}"
    );
    let (code, out, err) = show(&home, &["--since", "2026-11-22", "--until", "2026-11-21"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("--since must be before --until"), "{err}");
}

#[test]
fn the_table_names_the_time_zone_of_its_times() {
    let home = Home::new();
    mixed_log(&home);
    let mut c = opted_in(&home);
    c.env("TZ", "Asia/Tokyo").args(["show", "-n", "1"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(out.starts_with("TIME (Asia/Tokyo)"), "{out}");
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let home = Home::new();
    mixed_log(&home);
    for bad in ["yesterday", "2026-02-30", "11/24/2026", "7"] {
        let (code, out, err) = show(&home, &["--since", bad]);
        assert_eq!((code, out.as_str()), (2, ""), "{bad}");
        assert!(
            err.contains("expected a date (2026-11-24), an RFC 3339 time"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_missing_log_says_nothing_was_recorded_and_whether_telemetry_is_on() {
    let home = Home::new();
    let mut c = home.cmd();
    c.arg("show");
    let (code, out, err) = run(c);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("Telemetry has recorded nothing yet"), "{out}");
    assert!(
        out.contains("Telemetry is disabled (not opted in)"),
        "{out}"
    );
    let (code, out, _) = show(&home, &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Telemetry is enabled (env:SPECFACT_TELEMETRY_OPT_IN)"),
        "{out}"
    );
    let (code, out, err) = show(&home, &["--json"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(err.contains("recorded nothing yet"), "{err}");
    assert!(home.tree().is_empty(), "{:?}", home.tree());
}

#[test]
fn an_empty_log_says_so() {
    let home = Home::new();
    home.write("telemetry.log", "");
    let (code, out, err) = show(&home, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("No events in "), "{out}");
}

#[test]
fn a_large_log_is_read_through_with_a_small_window() {
    let home = Home::new();
    let one = line(
        9,
        "plan.init",
        "2026-11-24T06:15:00.000Z",
        true,
        None,
        1.0,
        "",
    );
    let mut text = String::with_capacity(one.len() * 50_001);
    for _ in 0..50_000 {
        text.push_str(&one);
        text.push('\n');
    }
    text.push_str(&line(
        10,
        "repro.run",
        "2026-11-24T07:00:00.000Z",
        true,
        None,
        2.0,
        "",
    ));
    text.push('\n');
    home.write("telemetry.log", text);
    let (code, out, _) = show(&home, &["-n", "1"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("repro.run") && !out.contains("plan.init"),
        "{out}"
    );
    assert!(out.contains("1 of 50001 events shown"), "{out}");
}

#[test]
fn a_torn_last_line_is_not_reported() {
    let home = Home::new();
    let first = line(
        1,
        "plan.init",
        "2026-11-24T06:15:00.000Z",
        true,
        None,
        1.0,
        "",
    );
    home.write("telemetry.log", format!("{first}\n{{\"command\":\"repro.r"));
    let (code, out, err) = show(&home, &["--json"]);
    assert_eq!((code, out.trim(), err.as_str()), (0, first.as_str(), ""));
}

/// Lines a child prints, collected by a thread so a test can wait with a timeout.
struct Lines {
    child: Child,
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    fn spawn(home: &Home, args: &[&str]) -> Lines {
        let mut child = StdCommand::new(env!("CARGO_BIN_EXE_specfact-telemetry"))
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SPECFACT_TELEMETRY_OPT_IN", "true")
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Lines {
            child,
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 15 s) for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw {:#?}", self.seen),
            }
        }
    }

    fn count(&self, needle: &str) -> usize {
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn record(home: &Home, command: &str) {
    let mut c = opted_in(home);
    c.args(["record", command]);
    assert_eq!(run(c).0, 0);
}

#[test]
fn follow_prints_new_events_and_survives_truncation_and_replacement() {
    let home = Home::new();
    let recent = humantime::format_rfc3339_millis(SystemTime::now() - Duration::from_secs(60));
    let recent = recent.to_string();
    write_log(
        &home,
        &[
            line(
                1,
                "old.event",
                "2020-01-01T00:00:00.000Z",
                true,
                None,
                1.0,
                "",
            ),
            line(2, "kept.hidden", &recent, true, None, 1.0, ""),
            line(3, "kept.shown", &recent, true, None, 1.0, ""),
        ],
    );
    let mut lines = Lines::spawn(&home, &["show", "--follow", "-n", "1"]);
    let header = lines.wait_for("TIME");
    assert!(
        header.contains("COMMAND") && header.contains("DURATION"),
        "{header}"
    );
    lines.wait_for("kept.shown");

    record(&home, "follow.one");
    let row = lines.wait_for("follow.one");
    assert!(row.contains(" ok "), "{row}");

    // A purge of old events rewrites the log into a new file: the events it keeps are
    // not shown (again), and events recorded afterwards are.
    let mut c = opted_in(&home);
    c.args(["purge", "--older-than", "365d", "--yes"]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}{err}");
    record(&home, "follow.two");
    lines.wait_for("follow.two");
    assert_eq!(lines.count("follow.one"), 1, "{:#?}", lines.seen);

    // Truncated in place: read again from the start.
    fs::write(support::log_path(&home), "").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    record(&home, "follow.three");
    lines.wait_for("follow.three");

    // Deleted, then recorded into a new log.
    fs::remove_file(support::log_path(&home)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    record(&home, "follow.four");
    lines.wait_for("follow.four");
    assert_eq!(lines.count("old.event"), 0, "{:#?}", lines.seen);
    assert_eq!(lines.count("kept.hidden"), 0, "{:#?}", lines.seen);
    assert_eq!(lines.count("kept.shown"), 1, "{:#?}", lines.seen);
    assert_eq!(lines.count("follow.two"), 1, "{:#?}", lines.seen);
}

#[test]
fn follow_as_json_waits_for_a_log_that_does_not_exist_yet() {
    let home = Home::new();
    let mut lines = Lines::spawn(&home, &["show", "--follow", "--json", "-n", "0"]);
    std::thread::sleep(Duration::from_millis(300));
    record(&home, "follow.first");
    let l = lines.wait_for("follow.first");
    let e: serde_json::Value = serde_json::from_str(&l).unwrap();
    assert_eq!(e["command"], "follow.first");
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_follow() {
    let home = Home::new();
    record(&home, "plan.init");
    let mut lines = Lines::spawn(&home, &["show", "--follow"]);
    lines.wait_for("plan.init");
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(
        unsafe { libc::kill(lines.child.id() as i32, libc::SIGINT) },
        0
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = lines.child.try_wait().unwrap() {
            assert!(!status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still following after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn no_colour_when_stdout_is_not_a_terminal() {
    let home = Home::new();
    mixed_log(&home);
    let mut c = opted_in(&home);
    c.env_remove("NO_COLOR").arg("show");
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(
        out.contains("repro.run") && !out.contains('\u{1b}'),
        "{out}"
    );
}

/// `show` on a pseudo-terminal (with `script`), with `NO_COLOR` as given.
#[cfg(target_os = "linux")]
fn show_on_a_terminal(home: &Home, no_color: Option<&str>) -> Option<String> {
    if StdCommand::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_specfact-telemetry");
    let mut c = StdCommand::new("script");
    c.args(["-qec", &format!("'{bin}' show"), "/dev/null"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let out = c.output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(target_os = "linux")]
#[test]
fn colour_on_a_terminal_unless_no_color_is_set() {
    let home = Home::new();
    mixed_log(&home);
    let Some(coloured) = show_on_a_terminal(&home, None) else {
        return;
    };
    assert!(coloured.contains("repro.run"), "{coloured}");
    assert!(
        coloured.contains('\u{1b}'),
        "no colour on a terminal: {coloured}"
    );
    let plain = show_on_a_terminal(&home, Some("1")).unwrap();
    assert!(plain.contains("repro.run"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain}"
    );
}

#[test]
fn escape_sequences_in_a_hand_edited_log_are_shown_not_interpreted() {
    let home = Home::new();
    home.write(
        "telemetry.log",
        "{\"command\":\"a\\u001b[31mred\",\"success\":false,\"error\":\"E\\u001b]0;title\\u0007\",\"duration_ms\":1,\"session_id\":\"x\",\"violations_detected\":9223372036854775807}\n{\"command\":\"b\",\"success\":true,\"duration_ms\":1,\"session_id\":\"y\",\"violations_detected\":9223372036854775807}\n",
    );
    for args in [&["show"][..], &["report"][..]] {
        let mut c = support::opted_in(&home);
        c.args(args);
        let (code, out, err) = common::run(c);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}'),
            "{args:?}: {out:?}"
        );
    }
}
