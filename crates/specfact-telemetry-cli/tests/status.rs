//! `status` explains itself: every precedence case, the reasons telemetry is off,
//! configuration problems with line and column, and never a secret.

mod common;

use common::{Home, run, status_json};

#[test]
fn nothing_configured_is_off_and_says_how_to_opt_in() {
    let home = Home::new();
    let j = status_json(home.cmd());
    assert_eq!(j["enabled"], false);
    assert_eq!(j["opt_in_source"], "disabled");
    assert_eq!(j["disabled_reason"]["code"], "not_opted_in");
    for key in ["settings", "diagnostics", "log", "delivery"] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    assert_eq!(j["settings"]["service_name"]["value"], "specfact-cli");
    assert_eq!(j["settings"]["service_name"]["source"], "default");
    let (code, out, _) = run({
        let mut c = home.cmd();
        c.arg("status");
        c
    });
    assert_eq!(code, 0);
    assert!(out.contains("DISABLED: not opted in"), "{out}");
    assert!(out.contains("specfact-telemetry enable"), "{out}");
    assert!(home.tree().is_empty(), "status created {:?}", home.tree());
}

#[test]
fn each_precedence_case_is_explained() {
    struct Case {
        name: &'static str,
        env: &'static [(&'static str, &'static str)],
        yaml: Option<&'static str>,
        opt_in: Option<&'static str>,
        enabled: bool,
        source: &'static str,
        reason: Option<&'static str>,
        enabled_from: &'static str,
    }
    let cases = [
        Case {
            name: "opt-in file",
            env: &[],
            yaml: None,
            opt_in: Some("true\n"),
            enabled: true,
            source: "file",
            reason: None,
            enabled_from: "file",
        },
        Case {
            name: "yaml over opt-in file",
            env: &[],
            yaml: Some("enabled: true\n"),
            opt_in: Some("false"),
            enabled: true,
            source: "config",
            reason: None,
            enabled_from: "config",
        },
        Case {
            name: "env over yaml",
            env: &[("SPECFACT_TELEMETRY_OPT_IN", "yes")],
            yaml: Some("enabled: false\n"),
            opt_in: None,
            enabled: true,
            source: "env",
            reason: None,
            enabled_from: "env:SPECFACT_TELEMETRY_OPT_IN",
        },
        Case {
            name: "env false beats the opt-in file",
            env: &[("SPECFACT_TELEMETRY_OPT_IN", "false")],
            yaml: None,
            opt_in: Some("true"),
            enabled: false,
            source: "disabled",
            reason: Some("opted_out"),
            enabled_from: "env:SPECFACT_TELEMETRY_OPT_IN",
        },
        Case {
            name: "yaml false, opt-in file true",
            env: &[],
            yaml: Some("enabled: false\n"),
            opt_in: Some("true"),
            enabled: true,
            source: "file",
            reason: None,
            enabled_from: "file",
        },
        Case {
            name: "TEST_MODE",
            env: &[("SPECFACT_TELEMETRY_OPT_IN", "true"), ("TEST_MODE", "true")],
            yaml: None,
            opt_in: None,
            enabled: false,
            source: "disabled",
            reason: Some("test_environment"),
            enabled_from: "",
        },
        Case {
            name: "pytest",
            env: &[("PYTEST_CURRENT_TEST", "tests/x.py::t (call)")],
            yaml: Some("enabled: true\n"),
            opt_in: None,
            enabled: false,
            source: "disabled",
            reason: Some("test_environment"),
            enabled_from: "",
        },
        Case {
            name: "DO_NOT_TRACK",
            env: &[("DO_NOT_TRACK", "1")],
            yaml: None,
            opt_in: Some("true"),
            enabled: false,
            source: "disabled",
            reason: Some("do_not_track"),
            enabled_from: "",
        },
    ];
    for case in cases {
        let home = Home::new();
        if let Some(y) = case.yaml {
            home.write("telemetry.yaml", y);
        }
        if let Some(o) = case.opt_in {
            home.write("telemetry.opt-in", o);
        }
        let mut c = home.cmd();
        for (k, v) in case.env {
            c.env(k, v);
        }
        let j = status_json(c);
        assert_eq!(j["enabled"], case.enabled, "{}: {j:#}", case.name);
        assert_eq!(j["opt_in_source"], case.source, "{}", case.name);
        assert_eq!(
            j["disabled_reason"]["code"].as_str(),
            case.reason,
            "{}",
            case.name
        );
        if !case.enabled_from.is_empty() {
            assert_eq!(
                j["settings"]["enabled"]["source"], case.enabled_from,
                "{}",
                case.name
            );
        }
        let mut c = home.cmd();
        for (k, v) in case.env {
            c.env(k, v);
        }
        c.arg("status");
        let (_, text, _) = run(c);
        match case.reason {
            Some("test_environment") => assert!(text.contains("test environment"), "{text}"),
            Some("do_not_track") => assert!(text.contains("DO_NOT_TRACK"), "{text}"),
            Some(_) => assert!(text.contains("opted out"), "{text}"),
            None => assert!(text.contains("ENABLED"), "{text}"),
        }
    }
}

#[test]
fn malformed_yaml_is_reported_with_line_and_column() {
    let home = Home::new();
    let path = home.write("telemetry.yaml", "enabled: true\nendpoint: [unclosed\n");
    let j = status_json(home.cmd());
    let d = &j["diagnostics"][0];
    assert_eq!(d["file"], path.display().to_string());
    assert_eq!(d["line"], 2, "{d:#}");
    assert!(d["column"].as_u64().is_some(), "{d:#}");
    let (_, text, _) = run({
        let mut c = home.cmd();
        c.arg("status");
        c
    });
    assert!(text.contains(&format!("{}:2:", path.display())), "{text}");
}

#[test]
fn header_values_never_appear() {
    let home = Home::new();
    home.write(
        "telemetry.yaml",
        "enabled: true\nendpoint: https://collector.example/v1/traces\nheaders:\n  Authorization: Bearer yaml-s3cret-42\n  X-Api-Key: key-from-yaml-77\n",
    );
    let mut c = home.cmd();
    c.env(
        "SPECFACT_TELEMETRY_HEADERS",
        "X-Env: env-s3cret-99, broken-entry-s3cret",
    );
    let j = status_json(c);
    let text = j.to_string();
    for secret in [
        "yaml-s3cret-42",
        "key-from-yaml-77",
        "env-s3cret-99",
        "broken-entry-s3cret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(
        j["settings"]["headers"]["value"]["Authorization"],
        "Bearer ****"
    );
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_HEADERS", "X-Env: env-s3cret-99");
    c.arg("status");
    let (_, out, err) = run(c);
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}{err}"
    );
    assert!(out.contains("Authorization: Bearer ****"), "{out}");
}

#[test]
fn the_log_is_summarised_including_python_logs() {
    let home = Home::new();
    let fixture = include_str!(
        "../../specfact-telemetry/tests/fixtures/python-specfact-0.20.5/telemetry.log"
    );
    home.write("telemetry.log", format!("{fixture}not json\n"));
    home.write("telemetry.opt-in", "true");
    let j = status_json(home.cmd());
    assert_eq!(j["log"]["events"], 6);
    assert_eq!(j["log"]["malformed_lines"], 1);
    assert_eq!(j["log"]["events_without_timestamp"], 6);
}

#[test]
fn human_status_snapshot() {
    let home = Home::new();
    home.write(
        "telemetry.yaml",
        "enabled: true\nendpoint: http://127.0.0.1:4318/v1/traces\nheaders:\n  Authorization: Bearer abc\nbatch_size: lots\nservice_nme: typo\n",
    );
    home.write(
        "telemetry.log",
        "{\"command\":\"plan.init\",\"success\":true,\"duration_ms\":1.5,\"session_id\":\"0123456789abcdef0123456789abcdef\",\"timestamp\":\"2026-11-20T10:00:00.000Z\"}\n",
    );
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_SERVICE_NAME", "acme-cli")
        .arg("status");
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let home_pattern = common::home_pattern(&home);
    insta::with_settings!({filters => vec![(home_pattern.as_str(), "[HOME]")]}, {
        insta::assert_snapshot!(out);
    });
}

/// A problem with one entry of a mapping points at that entry, not at the mapping.
#[test]
fn configuration_problems_point_at_the_bad_entry() {
    let home = Home::new();
    let path = home.write(
        "telemetry.yaml",
        "enabled: true\nheaders:\n  Good: yes\n  Bad Name: x\n  Empty:\nregression_categories:\n  sync: drift\n  Plan: drift\n  deploy: nonsense\n",
    );
    let j = status_json(home.cmd());
    let at: Vec<(u64, u64)> = j["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, [(4, 3), (5, 3), (8, 3), (9, 3)], "{j:#}");
    let mut c = home.cmd();
    c.arg("status");
    let (_, out, _) = run(c);
    assert!(
        out.contains(&format!("{}:4:3: a header", path.display())),
        "{out}"
    );
}

/// A long value (an endpoint with a long path, many categories) does not push the
/// other rows out of line: every value starts in the same column.
#[test]
fn status_rows_stay_aligned_with_long_values() {
    let home = Home::new();
    home.write(
        "telemetry.yaml",
        format!(
            "enabled: true\nendpoint: http://127.0.0.1:4318/{}/v1/traces\n",
            "very-long-path-segment/".repeat(4)
        ),
    );
    let mut c = home.cmd();
    c.arg("status");
    let (_, out, _) = run(c);
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "Settings")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(rows.len() > 10, "{out}");
    let value_column = |row: &str| {
        // name, source, then the value: the third field's start.
        let mut fields = 0;
        let mut in_field = false;
        let mut gap = 0;
        for (i, ch) in row.char_indices() {
            if ch == ' ' {
                gap += 1;
                in_field = false;
                continue;
            }
            if !in_field && (fields == 0 || gap >= 2) {
                fields += 1;
                if fields == 3 {
                    return i;
                }
            }
            in_field = true;
            gap = 0;
        }
        usize::MAX
    };
    let first = value_column(rows[0]);
    for row in &rows {
        assert_eq!(value_column(row), first, "misaligned: {row:?}\n{out}");
    }
}
