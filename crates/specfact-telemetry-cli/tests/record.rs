//! `record`: one event per call, typed by the schema, silent, and never failing the
//! caller except for a wrong use of the command.

mod common;
mod support;

use std::ffi::OsString;
use std::fs;

use common::{Home, run};
use support::{contains, debug, events, log_bytes, only_event, opted_in};

#[test]
fn records_one_event_with_fields_typed_by_the_schema() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.args([
        "record",
        "import.from_code",
        "--field",
        "files_analyzed=143",
        "--field",
        "shadow_mode=true",
        "--field",
        "mode=repro",
        "--field",
        "features_detected=27",
        "--duration-ms",
        "4280.5",
        "--cli-version",
        "0.21.0",
    ]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let e = only_event(&home);
    assert_eq!(e["command"], "import.from_code");
    assert_eq!(
        e["files_analyzed"], 140,
        "rounded to two significant digits"
    );
    assert_eq!(e["features_detected"], 27);
    assert_eq!(e["shadow_mode"], true);
    assert_eq!(e["mode"], "repro");
    assert_eq!(e["success"], true);
    assert_eq!(e["duration_ms"], 4280.5);
    assert_eq!(e["cli_version"], "0.21.0");
    assert_eq!(e["opt_in_source"], "env");
    assert!(e.get("error").is_none());
    assert!(e["timestamp"].is_string() && e["event_id"].is_string());
}

#[test]
fn failures_carry_an_error_type() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.args([
        "record",
        "repro.run",
        "--failure",
        "--error",
        "TimeoutError",
    ]);
    assert_eq!(run(c).0, 0);
    let mut c = opted_in(&home);
    c.args(["record", "plan.compare", "--failure"]);
    assert_eq!(run(c).0, 0);
    let mut c = opted_in(&home);
    c.args(["record", "plan.init", "--success"]);
    assert_eq!(run(c).0, 0);
    let all = events(&home);
    assert_eq!(all.len(), 3);
    assert_eq!(
        (&all[0]["success"], &all[0]["error"]),
        (&false.into(), &"TimeoutError".into())
    );
    assert_eq!(
        (&all[1]["success"], &all[1]["error"]),
        (&false.into(), &"Exit".into())
    );
    assert_eq!(all[2]["success"], true);
}

#[test]
fn an_error_message_instead_of_a_type_is_dropped_but_the_failure_kept() {
    let home = Home::new();
    let mut c = debug(&home);
    c.args([
        "record",
        "repro.run",
        "--failure",
        "--error",
        "cannot open /home/ada/secret.txt",
    ]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    let e = only_event(&home);
    assert_eq!(e["success"], false);
    assert!(e.get("error").is_none(), "{e}");
    assert!(err.contains("dropped field \"error\""), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn opting_in_with_the_file_records_with_source_file() {
    let home = Home::new();
    home.write("telemetry.opt-in", "true\n");
    let mut c = home.cmd();
    c.args(["record", "plan.init"]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(only_event(&home)["opt_in_source"], "file");
}

#[test]
fn disabled_records_nothing_prints_nothing_creates_nothing() {
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("SPECFACT_TELEMETRY_OPT_IN", "false")],
        &[("SPECFACT_TELEMETRY_OPT_IN", "true"), ("DO_NOT_TRACK", "1")],
        &[("SPECFACT_TELEMETRY_OPT_IN", "true"), ("TEST_MODE", "true")],
    ];
    for env in cases {
        let home = Home::new();
        let metadata = home.path().join("m.json");
        fs::write(&metadata, r#"{"checks_total": 3}"#).unwrap();
        let mut c = home.cmd();
        c.envs(env.iter().copied()).args([
            "record",
            "repro.run",
            "--field",
            "files_analyzed=3",
            "--failure",
            "--error",
            "Exit",
            "--duration-ms",
            "12",
            "--metadata",
        ]);
        c.arg(&metadata);
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "{env:?}");
        assert_eq!(home.tree(), ["m.json"], "{env:?}");
    }
}

#[test]
fn metadata_from_a_file_or_stdin_is_merged_under_the_fields() {
    let home = Home::new();
    let file = home.path().join("metrics.json");
    fs::write(
        &file,
        r#"{"checks_total": 6, "checks_failed": 2, "mode": "cicd", "violations_detected": 2}"#,
    )
    .unwrap();
    let mut c = opted_in(&home);
    c.args(["record", "repro.run", "--field", "mode=repro", "--metadata"])
        .arg(&file);
    assert_eq!(run(c).0, 0);
    let mut c = opted_in(&home);
    c.args(["record", "plan.init", "--metadata", "-"])
        .write_stdin(r#"{"features_detected": 4, "shadow_mode": false}"#);
    assert_eq!(run(c).0, 0);
    let all = events(&home);
    assert_eq!(all[0]["mode"], "repro", "--field wins over --metadata");
    assert_eq!(all[0]["checks_total"], 6);
    assert_eq!(all[0]["checks_failed"], 2);
    assert_eq!(all[0]["violations_detected"], 2);
    assert_eq!(all[1]["features_detected"], 4);
    assert_eq!(all[1]["shadow_mode"], false);
}

#[test]
fn unknown_and_invalid_fields_are_dropped_with_a_reason_in_debug_mode() {
    let home = Home::new();
    let mut c = debug(&home);
    c.args([
        "record",
        "repro.run",
        "--field",
        "repository=acme",
        "--field",
        "checks_total=many",
        "--field",
        "session_id=0123",
        "--field",
        "checks_failed=1",
    ]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str()), (0, ""));
    for key in ["repository", "checks_total", "session_id"] {
        assert!(
            err.contains(&format!("dropped field \"{key}\"")),
            "{key}: {err}"
        );
    }
    assert!(!err.contains("acme"), "{err}");
    let e = only_event(&home);
    assert_eq!(e["checks_failed"], 1);
    assert!(e.get("repository").is_none() && e.get("checks_total").is_none());
    assert_ne!(e["session_id"], "0123");
}

#[test]
fn without_debug_dropped_fields_are_silent() {
    let home = Home::new();
    let mut c = opted_in(&home);
    c.args(["record", "repro.run", "--field", "repository=acme"]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(only_event(&home).get("repository").is_none());
}

#[test]
fn hostile_values_never_reach_the_log_or_the_debug_output() {
    let home = Home::new();
    let huge = "A".repeat(100_000);
    let hostile: Vec<String> = vec![
        "/home/ada/projects/secret-repo".into(),
        "C:\\Users\\ada\\secret".into(),
        "ada.lovelace@example.com".into(),
        "https://user:pass@internal.example.com/x".into(),
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a".into(),
        "AKIAIOSFODNN7EXAMPLE".into(),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl".into(),
        "10.20.30.40".into(),
        "db01.corp.example.net".into(),
        "repro\u{1b}[31mRED".into(),
        "line\nbreak".into(),
        huge.clone(),
    ];
    let keys = ["mode", "execution_mode", "files_analyzed", "shadow_mode"];
    let mut c = debug(&home);
    c.args(["record", "repro.run", "--failure", "--error"])
        .arg("Error: /home/ada/secret");
    for (i, v) in hostile.iter().enumerate() {
        c.arg("--field")
            .arg(format!("{}={v}", keys[i % keys.len()]));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let mut bad = b"mode=".to_vec();
        bad.extend_from_slice(b"\xff\xfeinvalid-utf8-secret");
        c.arg("--field").arg(OsString::from_vec(bad));
        c.arg("--field")
            .arg(OsString::from_vec(b"ke\xffy=plain".to_vec()));
    }
    // A 1 MB string through the metadata file (arguments are limited to 128 KiB each).
    let big = home.path().join("big.json");
    let megabyte = "B".repeat(1_000_000);
    fs::write(&big, format!(r#"{{"mode": "{megabyte}"}}"#)).unwrap();
    c.arg("--metadata").arg(&big);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");

    // Compared without case, so a value that was only lowercased counts as leaked.
    let log = log_bytes(&home).to_ascii_lowercase();
    let err = err.to_ascii_lowercase();
    assert!(!log.is_empty(), "the event itself must be recorded");
    let e = only_event(&home);
    assert_eq!(e["command"], "repro.run");
    for v in &hostile {
        let lower = v.to_ascii_lowercase();
        let probe = &lower.as_bytes()[..lower.len().min(24)];
        assert!(!contains(&log, probe), "log contains {v:.40}");
        assert!(
            !contains(err.as_bytes(), probe),
            "debug output contains {v:.40}"
        );
    }
    for probe in [
        "secret",
        "invalid-utf8",
        "bbbbbbbbbb",
        "aaaaaaaaaa",
        "\u{1b}",
    ] {
        assert!(!contains(&log, probe.as_bytes()), "log contains {probe:?}");
        assert!(!err.contains(probe), "debug output contains {probe:?}");
    }
    assert!(err.contains("not valid utf-8"), "{err}");
}

#[test]
fn hostile_command_names_are_warnings_and_never_logged() {
    let home = Home::new();
    for command in [
        "/usr/bin/secret",
        "ada@example.com",
        "import.from_code; rm -rf /",
        "",
        &"x".repeat(65),
    ] {
        let mut c = opted_in(&home);
        c.args(["record", command]);
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str()), (0, ""), "{command}: {err}");
        assert!(err.starts_with("warning: the command name"), "{err}");
        assert!(err.contains("nothing recorded"), "{err}");
        if !command.is_empty() {
            assert!(!err.contains(command), "echoed {command}: {err}");
        }
    }
    assert!(home.tree().is_empty(), "{:?}", home.tree());
}

/// Off means nothing printed and exit 0, whatever the input: a `set -e` script of
/// someone who never opted in must not break over telemetry.
#[test]
fn disabled_record_exits_0_silently_whatever_its_input() {
    let home = Home::new();
    let missing = home.path().join("missing.json");
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["Bad Name".into()],
        vec!["x".into(), "--metadata".into(), missing.clone().into()],
        vec!["repro.run".into(), "--field".into(), "oops".into()],
        vec!["repro.run".into(), "--duration-ms".into(), "-5".into()],
        vec!["repro.run".into(), "--duration-ms".into(), "soon".into()],
        vec!["/home/ada/x".into()],
    ];
    for args in cases {
        let mut c = home.cmd();
        c.arg("record").args(&args);
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "{args:?}");
    }
    let mut c = home.cmd();
    c.args(["record", "x", "--metadata", "-"])
        .write_stdin("not json at all");
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert!(home.tree().is_empty(), "{:?}", home.tree());
}

/// On, a value telemetry cannot use is a warning on stderr, exit 0, and the rest of the
/// event is still recorded. Only a misuse of the command line exits 2.
#[test]
fn unusable_values_are_warnings_and_only_command_line_misuse_exits_2() {
    let home = Home::new();
    let not_object = home.path().join("list.json");
    fs::write(&not_object, "[1, 2]").unwrap();
    let not_json = home.path().join("bad.json");
    fs::write(&not_json, "{\"checks_total\": ").unwrap();
    let too_big = home.path().join("big.json");
    fs::write(&too_big, vec![b' '; (1 << 20) + 1]).unwrap();
    let missing = home.path().join("missing.json");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--field".into(), "files_analyzed".into()],
            "expected KEY=VALUE",
        ),
        (
            vec!["--field".into(), "=3".into()],
            "key before '=' is empty",
        ),
        (
            vec!["--duration-ms".into(), "-5".into()],
            "must not be negative",
        ),
        (
            vec!["--duration-ms".into(), "soon".into()],
            "non-negative number of milliseconds",
        ),
        (
            vec!["--metadata".into(), path(&not_object)],
            "expected a JSON object",
        ),
        (vec!["--metadata".into(), path(&not_json)], "not valid JSON"),
        (
            vec!["--metadata".into(), path(&too_big)],
            "larger than 1048576 bytes",
        ),
        (
            vec!["--metadata".into(), path(&missing)],
            "cannot read --metadata file",
        ),
    ];
    let mut recorded = 0;
    for (args, message) in cases {
        let mut c = opted_in(&home);
        c.args(["record", "repro.run"]).args(&args);
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str()), (0, ""), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(err.starts_with("warning: "), "{err}");
        recorded += 1;
        assert_eq!(events(&home).len(), recorded, "{args:?}");
    }
    let mut c = opted_in(&home);
    c.args(["record", "repro.run", "--metadata", "-"])
        .write_stdin("\"just a string\"");
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("found a string"), "{err}");
    let mut c = opted_in(&home);
    c.args(["record", "Not A Command"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("a dotted identifier such as"), "{err}");
    assert_eq!(events(&home).len(), recorded + 1);

    for (args, message) in [
        (vec!["--success", "--failure"], "cannot be used with"),
        (vec!["--error", "Exit"], "--failure"),
        (vec!["--no-such-option"], "unexpected argument"),
    ] {
        for on in [true, false] {
            let mut c = if on { opted_in(&home) } else { home.cmd() };
            c.args(["record", "repro.run"]).args(&args);
            let (code, out, err) = run(c);
            assert_eq!((code, out.as_str()), (2, ""), "{args:?}: {err}");
            assert!(err.contains(message), "{args:?}: {err}");
        }
    }
}

/// A command name is the host's constant: common words never lose an event over the
/// user's name or a home-directory component; a whole segment naming the user does.
#[test]
fn common_words_in_a_command_name_are_kept_for_any_user() {
    let home = Home::new();
    let plan_home = home.path().join("plan");
    fs::create_dir_all(&plan_home).unwrap();
    let mut c = opted_in(&home);
    c.env("USER", "test")
        .args(["record", "generate.test-prompt"]);
    let (code, _, err) = run(c);
    assert_eq!((code, err.as_str()), (0, ""));
    let mut c = opted_in(&home);
    c.env("HOME", &plan_home)
        .env("SPECFACT_TELEMETRY_LOCAL_PATH", support::log_path(&home))
        .args(["record", "plan.init"]);
    let (code, _, err) = run(c);
    assert_eq!((code, err.as_str()), (0, ""));
    let commands: Vec<String> = events(&home)
        .iter()
        .map(|e| e["command"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(commands, ["generate.test-prompt", "plan.init"]);
    let mut c = opted_in(&home);
    c.env("USER", "test").args(["record", "test.run"]);
    let (code, _, err) = run(c);
    assert_eq!(code, 0);
    assert!(err.contains("this machine's user"), "{err}");
    assert_eq!(events(&home).len(), 2);
}

#[test]
fn a_log_that_cannot_be_written_still_exits_0() {
    let home = Home::new();
    // `~/.specfact` is a file, so the log's directory cannot be created.
    fs::write(home.path().join(".specfact"), "").unwrap();
    let mut c = opted_in(&home);
    c.args(["record", "plan.init"]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let mut c = debug(&home);
    c.args(["record", "plan.init"]);
    let (code, out, err) = run(c);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(err.contains("not recorded"), "{err}");
}

#[test]
fn a_custom_local_path_is_used() {
    let home = Home::new();
    let custom = home.path().join("logs/events.jsonl");
    let mut c = opted_in(&home);
    c.env("SPECFACT_TELEMETRY_LOCAL_PATH", &custom)
        .args(["record", "plan.init"]);
    assert_eq!(run(c).0, 0);
    let text = fs::read_to_string(&custom).unwrap();
    assert!(text.contains("\"command\":\"plan.init\""), "{text}");
    assert!(!support::log_path(&home).exists());
}

/// Arguments that are not UTF-8 are values telemetry cannot use, not command-line
/// misuse: off, nothing printed and exit 0; on, the event without them.
#[cfg(unix)]
#[test]
fn arguments_that_are_not_utf8_never_fail_the_caller() {
    use std::os::unix::ffi::OsStringExt;
    let home = Home::new();
    let bad = || OsString::from_vec(b"\xff\xfe".to_vec());
    for on in [false, true] {
        let mut c = if on { opted_in(&home) } else { home.cmd() };
        c.arg("record")
            .arg("repro.run")
            .arg("--failure")
            .arg("--error")
            .arg(bad())
            .arg("--cli-version")
            .arg(bad());
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "on: {on}");
        let mut c = if on { opted_in(&home) } else { home.cmd() };
        c.arg("record").arg(bad());
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str()), (0, ""), "on: {on}: {err}");
        assert_eq!(err.is_empty(), !on, "on: {on}: {err}");
    }
    let e = only_event(&home);
    assert_eq!(
        (&e["command"], &e["success"]),
        (&"repro.run".into(), &false.into())
    );
    assert!(
        e.get("error").is_none() && e.get("cli_version").is_none(),
        "{e}"
    );
}

#[test]
fn without_duration_ms_no_duration_is_recorded_and_report_leaves_it_out() {
    let home = Home::new();
    let record = |args: &[&str]| {
        let mut c = opted_in(&home);
        c.arg("record").args(args);
        let (code, out, err) = run(c);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    };
    record(&["repro.run"]);
    let e = only_event(&home);
    assert!(e.get("duration_ms").is_none(), "{e}");
    assert!(e["timestamp"].is_string());

    // Three timed runs and one untimed: the untimed one counts as a run, not as 0 ms.
    record(&["repro.run", "--duration-ms", "100"]);
    record(&["repro.run", "--duration-ms", "300"]);
    record(&["repro.run", "--duration-ms", "500"]);
    let mut c = opted_in(&home);
    c.args(["report", "--format", "json"]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let repro = &j["commands"][0];
    assert_eq!(repro["command"], "repro.run");
    assert_eq!(repro["runs"], 4);
    assert_eq!(repro["duration_ms"]["min"], 100.0);
    assert_eq!(repro["duration_ms"]["median"], 300.0);
    assert_eq!(repro["duration_ms"]["mean"], 300.0);

    // `show` says the duration is unknown.
    let mut c = opted_in(&home);
    c.args(["show", "-n", "4"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    let untimed = out.lines().nth(1).unwrap();
    assert!(
        untimed.contains("repro.run") && untimed.contains('–'),
        "{out}"
    );
}
