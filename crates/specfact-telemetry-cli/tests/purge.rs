//! `purge`: deletes the whole log, or only events older than an age; asks first on a
//! terminal, refuses without one unless `--yes`.

mod common;
mod support;

use std::fs;
use std::process::Command as StdCommand;

use common::{Home, run};
use support::{line, log_bytes, log_path, opted_in, python_log, write_log};

fn purge(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = opted_in(home);
    c.arg("purge").args(args);
    run(c)
}

fn record(home: &Home, command: &str) {
    let mut c = opted_in(home);
    c.args(["record", command, "--field", "checks_total=3"]);
    assert_eq!(run(c).0, 0);
}

#[test]
fn opt_in_record_show_purge_leaves_nothing_behind() {
    let home = Home::new();
    record(&home, "plan.init");
    record(&home, "repro.run");
    let (code, out, _) = {
        let mut c = opted_in(&home);
        c.arg("show");
        run(c)
    };
    assert_eq!(code, 0);
    assert!(
        out.contains("plan.init") && out.contains("repro.run"),
        "{out}"
    );

    let (code, out, err) = purge(&home, &["--yes"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.contains(&format!(
            "Deleted {} (2 events, ",
            log_path(&home).display()
        )),
        "{out}"
    );
    assert!(out.contains("Telemetry is still enabled"), "{out}");
    assert!(home.tree().is_empty(), "left behind: {:?}", home.tree());
}

#[test]
fn opting_in_with_the_file_keeps_the_file_but_not_the_data() {
    let home = Home::new();
    home.write("telemetry.opt-in", "true");
    let mut c = home.cmd();
    c.args(["record", "plan.init"]);
    assert_eq!(run(c).0, 0);
    assert!(log_path(&home).exists());
    let mut c = home.cmd();
    c.args(["purge", "--yes"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert!(out.contains("(1 event, "), "{out}");
    assert_eq!(home.tree(), [".specfact", ".specfact/telemetry.opt-in"]);
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_deleted() {
    let home = Home::new();
    record(&home, "plan.init");
    let before = log_bytes(&home);
    for args in [&[][..], &["--older-than", "1s"][..]] {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (code, out, err) = purge(&home, args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("pass --yes"), "{err}");
        assert_eq!(log_bytes(&home), before);
    }
}

#[test]
fn nothing_to_purge_is_not_an_error() {
    let home = Home::new();
    let (code, out, err) = purge(&home, &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("Nothing to purge"), "{out}");
    let (code, out, _) = purge(&home, &["--older-than", "30d"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Nothing to purge"), "{out}");
    assert!(home.tree().is_empty());
}

#[test]
fn older_than_deletes_only_old_events_and_keeps_what_it_cannot_date() {
    let home = Home::new();
    let python = python_log();
    let python_lines: Vec<&str> = python.lines().take(2).collect();
    let recent = line(3, "repro.run", &hours_ago(2), true, None, 1.0, "");
    write_log(
        &home,
        &[
            line(
                1,
                "old.one",
                "2020-01-01T00:00:00.000Z",
                true,
                None,
                1.0,
                "",
            ),
            python_lines[0].to_owned(),
            "not an event".to_owned(),
            line(
                2,
                "old.two",
                "2021-06-01T12:00:00.000Z",
                false,
                Some("Exit"),
                2.0,
                "",
            ),
            recent.clone(),
            python_lines[1].to_owned(),
        ],
    );
    let (code, out, err) = purge(&home, &["--older-than", "30d", "--yes"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("Deleted 2 events recorded before "), "{out}");
    assert!(out.contains("kept 3 events"), "{out}");
    assert!(
        out.contains("Kept 2 events without a timestamp (written by an older tool)"),
        "{out}"
    );
    assert!(out.contains("Kept 1 malformed line."), "{out}");
    let text = String::from_utf8(log_bytes(&home)).unwrap();
    assert_eq!(
        text,
        format!(
            "{}\nnot an event\n{recent}\n{}\n",
            python_lines[0], python_lines[1]
        )
    );

    // Nothing older than a year left: nothing to do, the file is untouched.
    let (code, out, _) = purge(&home, &["--older-than", "52w", "--yes"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Nothing to purge: none of the 3 events"),
        "{out}"
    );
    assert_eq!(String::from_utf8(log_bytes(&home)).unwrap(), text);

    // An hour: the recent event goes too.
    let (code, out, _) = purge(&home, &["--older-than", "1h", "-y"]);
    assert_eq!(code, 0);
    assert!(out.contains("Deleted 1 event recorded before "), "{out}");
    assert!(
        !String::from_utf8(log_bytes(&home))
            .unwrap()
            .contains("repro.run")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(log_path(&home)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// An RFC 3339 time `hours` before now, as the library writes it.
fn hours_ago(hours: u64) -> String {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    humantime::format_rfc3339_millis(t).to_string()
}

#[test]
fn a_bad_duration_is_a_usage_error() {
    let home = Home::new();
    record(&home, "plan.init");
    for bad in ["30", "soon", "-3d", "0d"] {
        let (code, _, err) = purge(&home, &["--older-than", bad, "--yes"]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("--older-than <DURATION>"), "{bad}: {err}");
    }
    assert!(log_path(&home).exists());
}

/// Runs `purge` on a pseudo-terminal (with `script`), answering `answer`.
#[cfg(target_os = "linux")]
fn purge_on_a_terminal(home: &Home, answer: &str) -> Option<(i32, String)> {
    use std::io::Write;
    use std::process::Stdio;
    if StdCommand::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_specfact-telemetry");
    let mut child = StdCommand::new("script")
        .args(["-qec", &format!("'{bin}' purge"), "/dev/null"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SPECFACT_TELEMETRY_OPT_IN", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_it_asks_first() {
    let home = Home::new();
    record(&home, "plan.init");
    let Some((code, out)) = purge_on_a_terminal(&home, "n\n") else {
        return;
    };
    assert!(out.contains("(1 event, ") && out.contains("[y/N]"), "{out}");
    assert!(out.contains("Nothing deleted."), "{out}");
    assert_eq!(code, 1);
    assert!(log_path(&home).exists());
    let (code, out) = purge_on_a_terminal(&home, "y\n").unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Deleted "), "{out}");
    assert!(!log_path(&home).exists());
}
