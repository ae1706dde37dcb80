//! `export` and `doctor` against collectors the tests start on 127.0.0.1, and the
//! automatic delivery of events recorded through the CLI.

mod common;
#[path = "../../specfact-telemetry/tests/delivery_support/mod.rs"]
mod delivery_support;

use std::fs;
use std::time::Duration;

use common::{Home, run};
use delivery_support::{Collector, Mode, closed_port};

const SECRET: &str = "Bearer tok-e2e-93c1f";

fn line(n: u32, command: &str, ts: &str) -> String {
    format!(
        "{{\"mode\":\"x\",\"session_id\":\"{n:032x}\",\"success\":true,\"duration_ms\":12.5,\"command\":\"{command}\",\"telemetry_version\":\"1.0\",\"opt_in_source\":\"file\",\"timestamp\":\"{ts}\",\"event_id\":\"01900000-0000-7000-8000-{n:012x}\"}}\n"
    )
}

/// A home opted in through telemetry.yaml with `endpoint` and an Authorization header.
fn configured(endpoint: &str) -> Home {
    let home = Home::new();
    let yaml = home.write(
        "telemetry.yaml",
        format!(
            "enabled: true\nendpoint: \"{endpoint}\"\nheaders:\n  Authorization: \"{SECRET}\"\n"
        ),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&yaml, fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(
            home.path().join(".specfact"),
            fs::Permissions::from_mode(0o700),
        )
        .unwrap();
    }
    home
}

fn cli(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = home.cmd();
    c.args(args);
    let (code, out, err) = run(c);
    assert!(
        !out.contains("tok-e2e") && !err.contains("tok-e2e"),
        "secret leaked: {out}{err}"
    );
    (code, out, err)
}

#[test]
fn events_recorded_through_the_cli_reach_the_collector_on_their_own() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    for cmd in ["plan.init", "import.from_code", "repro.run"] {
        let (code, out, err) = cli(&home, &["record", cmd, "--field", "files_analyzed=143"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    }
    assert!(
        collector.wait_for_spans(3, Duration::from_secs(20)),
        "spans: {}",
        collector.span_count()
    );
    let mut names: Vec<_> = collector.spans().into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "specfact.import.from_code",
            "specfact.plan.init",
            "specfact.repro.run"
        ]
    );
    assert!(
        collector
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(SECRET))
    );
    let (_, status, _) = cli(&home, &["status", "--json"]);
    let j: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(j["delivery"]["pending"], 0, "{j:#}");
}

#[test]
fn export_sends_older_events_only_when_asked_for_all() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    // Recorded before the endpoint existed (written directly, as a local-only run would).
    home.write(
        "telemetry.log",
        [
            line(1, "plan.init", "2026-11-01T10:00:00.000Z"),
            line(2, "repro.run", "2026-11-20T10:00:00.000Z"),
        ]
        .concat(),
    );
    let (code, out, err) = cli(&home, &["export"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Nothing pending") && out.contains("--all"),
        "{out}"
    );
    assert_eq!(collector.span_count(), 0);

    let (code, out, err) = cli(&home, &["export", "--all", "--json"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (j["selected"].as_u64(), j["sent"].as_u64()),
        (Some(2), Some(2)),
        "{j:#}"
    );
    assert!(collector.wait_for_spans(2, Duration::from_secs(5)));
    let spans = collector.spans();
    let plan = spans
        .iter()
        .find(|s| s.name == "specfact.plan.init")
        .unwrap();
    assert_eq!(
        plan.end - plan.start,
        12_500_000,
        "the span lasts duration_ms"
    );
}

#[test]
fn export_since_selects_by_timestamp() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    home.write(
        "telemetry.log",
        [
            line(1, "plan.init", "2026-11-01T10:00:00.000Z"),
            line(2, "repro.run", "2026-11-20T10:00:00.000Z"),
        ]
        .concat(),
    );
    let (code, out, err) = cli(&home, &["export", "--since", "2026-11-10"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 of 1 event sent"), "{out}");
    assert!(collector.wait_for_spans(1, Duration::from_secs(5)));
    assert_eq!(collector.spans()[0].name, "specfact.repro.run");
}

#[test]
fn dry_run_prints_the_exact_payload_and_sends_nothing() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    home.write(
        "telemetry.log",
        line(7, "repro.run", "2026-11-20T10:00:00.000Z"),
    );
    let (code, out, err) = cli(&home, &["export", "--all", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing sent"), "{err}");
    let payload: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let span = &payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], "specfact.repro.run");
    assert_eq!(
        payload["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"],
        "specfact_cli.telemetry"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(collector.requests().len(), 0);
}

#[test]
fn a_rejecting_collector_makes_export_fail_and_keeps_the_events() {
    let collector = Collector::start(Mode::Status(400, None, "bad request"));
    let home = configured(&collector.endpoint());
    home.write(
        "telemetry.log",
        line(1, "plan.init", "2026-11-20T10:00:00.000Z"),
    );
    let (code, out, _) = cli(&home, &["export", "--all"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rejected"), "{out}");
    assert_eq!(
        fs::read_to_string(home.specfact("telemetry.log"))
            .unwrap()
            .lines()
            .count(),
        1
    );
}

#[test]
fn export_explains_what_is_missing() {
    let home = Home::new();
    home.write("telemetry.opt-in", "true");
    let (code, _, err) = cli(&home, &["export"]);
    assert_eq!(code, 1);
    assert!(err.contains("no OTLP endpoint is configured"), "{err}");

    let home = configured("http://127.0.0.1:9/v1/traces");
    let mut c = home.cmd();
    c.env("DO_NOT_TRACK", "1").arg("export");
    let (code, _, err) = run(c);
    assert_eq!(code, 1);
    assert!(
        err.contains("telemetry is disabled (DO_NOT_TRACK is set)"),
        "{err}"
    );
}

#[test]
fn doctor_sends_one_test_span_to_a_healthy_collector() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    let (code, out, err) = cli(&home, &["doctor"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No problems found."), "{out}");
    assert!(collector.wait_for_spans(1, Duration::from_secs(5)));
    assert_eq!(collector.spans()[0].name, "specfact.doctor.check");
    assert!(
        !home.specfact("telemetry.log").exists(),
        "doctor must not write the user's log"
    );

    let (code, out, _) = cli(&home, &["doctor", "--no-send", "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let collector_check = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "collector")
        .unwrap();
    assert_eq!(collector_check["status"], "skip");
    assert_eq!(collector.span_count(), 1, "--no-send sent something");
}

#[test]
fn doctors_test_span_is_marked_as_a_diagnostic() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    let (code, out, err) = cli(&home, &["doctor"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(collector.wait_for_spans(1, Duration::from_secs(5)));
    let span = &collector.spans()[0];
    let attr = |key: &str| {
        span.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(span.name, "specfact.doctor.check");
    assert!(
        attr("specfact.mode").is_some_and(|v| v.contains("diagnostic")),
        "{:?}",
        span.attributes
    );
    assert_eq!(
        attr("specfact.duration_ms"),
        None,
        "no duration is invented"
    );
}

#[test]
fn doctor_fails_when_the_collector_is_unreachable() {
    let home = configured(&format!("http://127.0.0.1:{}/v1/traces", closed_port()));
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_EXPORT_TIMEOUT", "2")
        .args(["doctor", "--json"]);
    let (code, out, _) = run(c);
    assert_eq!(code, 1, "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["healthy"], false);
    let check = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "collector")
        .unwrap();
    assert_eq!(check["status"], "fail");
    assert!(
        check["detail"].as_str().unwrap().contains("did not accept"),
        "{check}"
    );
}

#[test]
fn doctor_flags_credentials_over_plain_http_and_readable_secrets() {
    let home = configured("http://collector.example.com:4318/v1/traces");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            home.specfact("telemetry.yaml"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let (code, out, _) = cli(&home, &["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[fail] credentials"), "{out}");
    assert!(
        out.contains("refusing to send credentials over plain http"),
        "{out}"
    );
    #[cfg(unix)]
    assert!(
        out.contains("[fail] permissions") && out.contains("chmod 600"),
        "{out}"
    );
    assert!(out.contains("[skip] collector"), "{out}");
}

#[test]
fn doctor_reports_configuration_problems() {
    let home = Home::new();
    home.write("telemetry.yaml", "enabled: true\nbatch_size: many\n");
    let (code, out, _) = cli(&home, &["doctor", "--no-send"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[fail] configuration") && out.contains("telemetry.yaml:2:"),
        "{out}"
    );
}

#[test]
fn doctor_snapshot() {
    let home = configured("http://127.0.0.1:4318/v1/traces");
    let (code, out, _) = cli(&home, &["doctor", "--no-send"]);
    assert_eq!(code, 0, "{out}");
    let home_pattern = common::home_pattern(&home);
    insta::with_settings!({filters => vec![(home_pattern.as_str(), "[HOME]")]}, {
        insta::assert_snapshot!(out);
    });
}

#[test]
fn doctor_does_not_contact_the_collector_while_telemetry_is_off() {
    let collector = Collector::start(Mode::Healthy);
    let home = configured(&collector.endpoint());
    let mut c = home.cmd();
    c.env("DO_NOT_TRACK", "1").arg("doctor");
    let (code, out, _) = run(c);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("not contacted: telemetry is disabled (DO_NOT_TRACK is set)"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(collector.requests().len(), 0);
}

/// With events pending and a collector that asked to wait, `doctor --no-send` does not
/// say "No problems found": it shows the backlog, the last error and the next retry, and
/// so does `status`.
#[test]
fn doctor_and_status_show_the_backlog_of_a_failing_collector() {
    let collector = Collector::start(Mode::Status(503, Some(3600), "overloaded"));
    let home = configured(&collector.endpoint());
    // Recorded through the CLI: the detached uploader tries, and is told to wait an hour.
    for command in ["plan.init", "plan.compare"] {
        assert_eq!(cli(&home, &["record", command]).0, 0);
    }
    let mut failed = false;
    for _ in 0..200 {
        let j = common::status_json(home.cmd());
        let d = &j["delivery"];
        if !d["last_error"].is_null() && d["pending"] == 2 && d["uploader_running"] == false {
            failed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(failed, "the uploader never recorded the failure");
    let (code, out, _) = cli(&home, &["doctor", "--no-send"]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("No problems found"), "{out}");
    assert!(
        out.contains("[fail] delivery      2 events pending"),
        "{out}"
    );
    assert!(out.contains("503"), "{out}");
    assert!(out.contains("next retry not before"), "{out}");
    let (_, out, _) = cli(&home, &["status"]);
    assert!(out.contains("pending       2 events"), "{out}");
    assert!(out.contains("last error"), "{out}");
    assert!(out.contains("next retry"), "{out}");
}
