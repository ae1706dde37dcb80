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

/// The cells of a terminal table, trimmed, and the words of the other lines.
fn cells(out: &str) -> Vec<String> {
    out.lines()
        .flat_map(|l| l.split(['│', '┆']))
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// A log with figures wide enough to crowd a narrow terminal: thousands of runs, tens
/// of thousands of violations, long command names and durations in hours.
fn busy_log() -> String {
    let mut log = String::new();
    for i in 0..1_234u64 {
        let (command, violations, duration) = match i % 3 {
            0 => ("generate.test-prompt", 60, 14_948_280_000.0),
            1 => ("repro.run", 7, 1234.5),
            _ => ("import.from_code", 0, 8.25),
        };
        log.push_str(&format!(
            r#"{{"violations_detected":{violations},"session_id":"s{}","success":{},"duration_ms":{duration},"command":"{command}","timestamp":"2026-01-{:02}T10:00:00.000Z"}}"#,
            i % 700,
            i % 7 != 0,
            5 + i % 20
        ));
        log.push('\n');
    }
    log
}

#[test]
fn the_table_fits_60_columns_and_never_breaks_a_figure() {
    let home = Home::new();
    home.write("telemetry.log", busy_log());
    let j = json(&home, &[]);
    let mut c = home.cmd();
    c.env("COLUMNS", "60").arg("report");
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    for line in out.lines() {
        assert!(line.chars().count() <= 60, "wider than 60: {line:?}\n{out}");
    }
    let cells = cells(&out);
    let count = |v: &Value| {
        let n = v.as_u64().unwrap().to_string();
        let mut s = String::new();
        for (i, ch) in n.chars().enumerate() {
            if i > 0 && (n.len() - i).is_multiple_of(3) {
                s.push(',');
            }
            s.push(ch);
        }
        s
    };
    for cmd in j["commands"].as_array().unwrap() {
        for key in ["runs", "sessions", "violations"] {
            let figure = count(&cmd[key]);
            assert!(
                cells.contains(&figure),
                "{key} of {} ({figure}) is not whole in\n{out}",
                cmd["command"]
            );
        }
        assert!(cells.contains(&cmd["command"].as_str().unwrap().to_owned()));
    }
    assert!(cells.iter().any(|c| c == "4,152.3 h"), "{out}");
    for week in j["weeks"].as_array().unwrap() {
        assert!(cells.contains(&count(&week["violations"])), "{out}");
    }
    // Every column is still there, split over two tables rather than squeezed.
    for header in [
        "Runs",
        "Sessions",
        "Share",
        "Success",
        "Median",
        "p95",
        "Violations",
    ] {
        assert!(
            cells.iter().any(|c| c == header),
            "{header} missing:\n{out}"
        );
    }
    // Without a width (a pipe), the table is one piece.
    let (_, wide, _) = report(&home, &[]);
    assert_eq!(wide.matches("│ Command").count(), 1, "{wide}");
    assert!(wide.lines().any(|l| l.chars().count() > 60));
}

#[test]
fn the_table_at_60_columns_reads_well() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let mut c = home.cmd();
    c.env("COLUMNS", "60").arg("report");
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{err}");
    let home_pattern = common::home_pattern(&home);
    insta::with_settings!({filters => vec![(home_pattern.as_str(), "[HOME]")]}, {
        insta::assert_snapshot!(out);
    });
}

/// One event in one session over one week: every count reads in the singular.
const ONE: &str = r#"{"violations_detected":1,"checks_total":1,"checks_failed":1,"features_detected":1,"stories_detected":1,"session_id":"a1","success":true,"duration_ms":20,"command":"import.from_code","timestamp":"2026-01-05T10:00:01.000Z"}
"#;

#[test]
fn one_of_everything_reads_in_the_singular() {
    let home = Home::new();
    home.write("telemetry.log", ONE);
    let (code, table, err) = report(&home, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(table.contains("1 event in 1 session,"), "{table}");
    assert!(table.contains("over 1 week\n"), "{table}");
    assert!(
        table.contains("1 feature and 1 story in 1 import"),
        "{table}"
    );
    let (_, markdown, _) = report(&home, &["--format", "markdown"]);
    let (_, html, _) = report(&home, &["--format", "html"]);
    for out in [&table, &markdown, &html] {
        for wrong in [
            "1 events",
            "1 sessions",
            "1 weeks",
            "1 features",
            "1 imports",
        ] {
            assert!(!out.contains(wrong), "{wrong} in\n{out}");
        }
    }
    insta::assert_snapshot!(markdown);
}

#[test]
fn notes_speak_plain_words() {
    let home = Home::new();
    // More than a thousand sessions: their count is an estimate, and the note says so.
    let mut log = String::new();
    for i in 0..1_500 {
        log.push_str(&format!(
            r#"{{"session_id":"sess{i}","success":true,"duration_ms":1,"command":"plan.init"}}"#
        ));
        log.push('\n');
    }
    home.write("telemetry.log", log);
    for format in ["table", "markdown", "html"] {
        let (_, out, _) = report(&home, &["--format", format]);
        assert!(
            out.contains("Session counts this large are estimates"),
            "{out}"
        );
        for jargon in ["HyperLogLog", "histogram", "standard error"] {
            assert!(!out.contains(jargon), "{jargon} in {format}:\n{out}");
        }
    }
}

#[test]
fn nothing_recorded_says_how_to_start() {
    let home = Home::new();
    for log in [None, Some("")] {
        if let Some(contents) = log {
            home.write("telemetry.log", contents);
        }
        let (code, out, _) = report(&home, &[]);
        assert_eq!(code, 0);
        assert!(out.contains("nothing has been recorded in"), "{out}");
        assert!(out.contains("specfact-telemetry enable"), "{out}");
        assert!(!out.contains("0 events"), "{out}");
        let (_, md, _) = report(&home, &["--format", "markdown"]);
        assert!(md.contains("specfact-telemetry enable"), "{md}");
        assert!(!md.contains("0 events"), "{md}");
    }
    // A period with no events is not "nothing recorded".
    home.write("telemetry.log", LOG);
    let (_, out, _) = report(&home, &["--since", "2027-01-01"]);
    assert!(!out.contains("specfact-telemetry enable"), "{out}");
    assert!(out.contains("outside the period"), "{out}");
}

#[test]
fn the_html_report_prints_every_week_and_reads_like_prose() {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let (code, html, err) = report(&home, &["--format", "html"]);
    assert_eq!(code, 0, "{err}");
    // Weeks are a plain table, not folded away (a folded table vanishes on paper).
    assert!(!html.contains("<details"), "weeks are folded");
    assert!(html.contains(r#"<table id="weeks">"#));
    assert!(html.contains("@media print"));
    // The time is for people; the exact instant stays in the markup.
    let generated = html.split("Generated ").nth(1).unwrap();
    assert!(generated.starts_with("<time datetime=\""), "{generated}");
    let shown = generated.split('>').nth(1).unwrap();
    // `2026-12-02 06:07:23 UTC`, not `2026-12-02T06:07:23.713Z`.
    assert!(shown.ends_with(" UTC</time"), "{shown}");
    assert_eq!(shown.find(' '), Some(10), "{shown}");
    assert!(!shown.contains('Z'), "{shown}");
    // Figures are right-aligned cells.
    assert!(html.contains(r#"<td class="num" data-label="Runs">1</td>"#));
    // No legend entry for a category with nothing in it.
    home.write("telemetry.yaml", "regression_categories:\n  sync: drift\n");
    let (_, html, _) = report(&home, &["--format", "html"]);
    assert!(!html.contains("swatch other"), "a 0% Other in the legend");
}

#[test]
fn the_html_report_of_an_empty_log_says_how_to_start() {
    let home = Home::new();
    let (code, html, err) = report(&home, &["--format", "html"]);
    assert_eq!(code, 0, "{err}");
    assert!(html.contains(r#"id="nothing-recorded""#), "{html}");
    assert!(
        html.contains("<code>specfact-telemetry enable</code>"),
        "{html}"
    );
    // No wall of zeros.
    assert!(!html.contains("data-metric"), "{html}");
    assert!(!html.contains("<svg"), "{html}");
}
