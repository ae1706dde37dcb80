//! `report` end to end: every format, the period options and their errors, the log
//! from the settings and the category map from telemetry.yaml.

mod common;

use common::{Home, run};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../specfact-telemetry/tests/fixtures/python-specfact-0.20.5/telemetry.log"
);

/// Four events in ISO weeks 2026-W02 and W03, one without a timestamp, one malformed line.
const LOG: &str = r#"{"violations_detected":3,"checks_total":4,"checks_failed":1,"session_id":"a1","success":false,"error":"Exit","duration_ms":120.5,"command":"repro.run","timestamp":"2026-01-05T10:00:00.000Z"}
{"violations_detected":1,"session_id":"a1","success":true,"duration_ms":20,"command":"plan.compare","timestamp":"2026-01-05T10:00:01.000Z"}
this line is not an event
{"violations_detected":2,"session_id":"b2","success":true,"duration_ms":700,"command":"sync.bridge","timestamp":"2026-01-13T09:00:00.000Z"}
{"features_detected":5,"stories_detected":9,"session_id":"c3","success":true,"duration_ms":8000,"command":"import.from_code"}
"#;

fn report(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = home.cmd();
    c.arg("report").args(args);
    run(c)
}

fn json(home: &Home, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = report(home, &all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn json_answers_the_headline_questions_from_the_configured_log() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let j = json(&home, &[]);
    assert_eq!(j["events"], 4);
    assert_eq!(j["malformed_lines"], 1);
    assert_eq!(j["without_timestamp"], 1);
    assert_eq!(j["sessions"]["count"], 3);
    // 3 (repro) + 1 (plan) + 2 (sync, no category by default) = 6.
    assert_eq!(j["regressions"]["total"], 6);
    assert_eq!(j["regressions"]["contract_violations"]["share"], 0.5);
    assert_eq!(j["regressions"]["plan_drift"]["count"], 1);
    assert_eq!(j["regressions"]["other"]["count"], 2);
    // Every command ran once in one session: the tie goes to the first name.
    assert_eq!(j["most_used"]["command"], "import.from_code");
    assert_eq!(j["most_used"]["session_share"], 1.0 / 3.0);
    assert_eq!(j["weeks"].as_array().unwrap().len(), 2);
    assert_eq!(j["weeks"][0]["week"], "2026-W02");
    assert_eq!(j["weekly"]["average_violations"], 3.0);
    assert_eq!(j["checks"]["failed"], 1);
    assert_eq!(j["discovery"]["stories"], 9);
}

#[test]
fn the_category_map_comes_from_telemetry_yaml() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    home.write("telemetry.yaml", "regression_categories:\n  sync: drift\n");
    let j = json(&home, &[]);
    assert_eq!(j["regressions"]["plan_drift"]["count"], 3);
    assert_eq!(j["regressions"]["other"]["count"], 0);
    assert_eq!(j["regressions"]["categories"]["sync"], "plan_drift");
}

#[test]
fn since_and_until_take_days_and_rfc3339_times() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    // The whole of 2026-01-05, by day and by instant.
    for args in [
        ["--since", "2026-01-05", "--until", "2026-01-05"],
        [
            "--since",
            "2026-01-05T00:00:00Z",
            "--until",
            "2026-01-05T12:00:01+02:00",
        ],
    ] {
        let j = json(&home, &args);
        assert_eq!(j["events"], 2, "{args:?}");
        assert_eq!(j["outside_period"], 2, "{args:?}");
        assert_eq!(j["period"]["since"], "2026-01-05T00:00:00.000Z");
    }
    // An instant bound includes an event at exactly that time.
    let j = json(&home, &["--until", "2026-01-05T10:00:00Z"]);
    assert_eq!(j["events"], 1);
}

#[test]
fn since_and_until_take_ages_like_every_other_command() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    // Every event is older than a day: none since, all until (the one without a
    // timestamp cannot be placed in time and is left out).
    let j = json(&home, &["--since", "1d"]);
    assert_eq!(j["events"], 0);
    let j = json(&home, &["--until", "1d"]);
    assert_eq!(j["events"], 3);
    assert_eq!(j["outside_period"], 1);
}

#[test]
fn doctors_test_event_is_left_out_of_every_figure() {
    let home = Home::new();
    let doctor = r#"{"mode":"diagnostic","session_id":"d9","success":true,"command":"doctor.check","timestamp":"2026-01-05T11:00:00.000Z"}"#;
    home.write("telemetry.log", format!("{LOG}{doctor}\n"));
    let j = json(&home, &[]);
    assert_eq!(j["events"], 4);
    assert_eq!(j["diagnostic_events"], 1);
    assert_eq!(j["sessions"]["count"], 3);
    assert_eq!(j["period"]["last"], "2026-01-13T09:00:00.000Z");
    let commands: Vec<&str> = j["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert!(!commands.contains(&"doctor.check"), "{commands:?}");
    // A host command that shares only one of the two marks is counted.
    let lookalike =
        r#"{"mode":"diagnostic","session_id":"d9","success":true,"command":"repro.run"}"#;
    home.write("telemetry.log", format!("{LOG}{lookalike}\n"));
    let j = json(&home, &[]);
    assert_eq!(
        (j["events"].as_u64(), j["diagnostic_events"].as_u64()),
        (Some(5), Some(0))
    );
}

#[test]
fn bad_dates_are_usage_errors() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    for (args, needle) in [
        (vec!["--since", "2026-02-30"], "--since"),
        (vec!["--until", "last tuesday"], "RFC 3339"),
        (vec!["--since", "2026-01-05T10:00:00"], "offset"),
        (
            vec!["--since", "2026-02-01", "--until", "2026-01-01"],
            "before --until",
        ),
    ] {
        let (code, out, err) = report(&home, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn table_is_the_default_and_explains_missing_timestamps() {
    let home = Home::new();
    let mut c = home.cmd();
    c.args(["report", "--log", FIXTURE]);
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("6 events in 6 sessions"), "{out}");
    assert!(
        out.contains("Most-used command: repro.run (33% of sessions)"),
        "{out}"
    );
    assert!(out.contains("repro.run"));
    assert!(out.contains("12.98 ms"), "{out}");
    assert!(out.contains("6 events have no timestamp"), "{out}");
}

#[test]
fn an_empty_log_says_so() {
    let home = Home::new();
    let (code, out, _) = report(&home, &[]);
    assert_eq!(code, 0);
    assert!(out.contains("No events to report yet"), "{out}");
}

#[test]
fn markdown_is_a_table_to_paste() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let (code, out, _) = report(&home, &["--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("## Telemetry report: 2026-01-05 to 2026-01-13 (UTC)"),
        "{out}"
    );
    assert!(
        out.contains(
            "| Regressions prevented | **6 — 50% contract violations, 17% plan drift, 33% other** |"
        ),
        "{out}"
    );
    assert!(out.contains("| import.from\\_code | 1 |"), "{out}");
    assert!(
        out.contains("| 2026-W03 | 2026-01-12 | 1 | 2 | 0 | 0 |"),
        "{out}"
    );
}

#[test]
fn html_is_one_self_contained_file() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let file = home.path().join("report.html");
    let (code, out, err) = report(
        &home,
        &["--format", "html", "--output", file.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("default-src 'none'"));
    // Nothing to fetch: no scripts, links, images or URLs besides the SVG namespace.
    for banned in [
        "<script", "<link", "<img", "src=", "url(", "@import", "https://",
    ] {
        assert!(!html.contains(banned), "found {banned}");
    }
    assert_eq!(
        html.matches("http://").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(html.contains(r#"data-metric="regressions" data-value="6""#));
    assert_eq!(html.matches(r#"data-series="events""#).count(), 2);
    assert!(
        html.contains(r#"data-week="2026-W02" data-series="contract_violations" data-value="3""#)
    );
}

#[test]
fn command_names_cannot_inject_markup() {
    let home = Home::new();
    home.write(
        "telemetry.log",
        r#"{"session_id":"s","success":true,"duration_ms":1,"command":"x<script>alert(1)</script>"}"#,
    );
    let (_, out, _) = report(&home, &["--format", "html"]);
    assert!(!out.contains("<script>alert"), "{out}");
    assert!(out.contains("x&lt;script&gt;alert(1)&lt;/script&gt;"));
}
