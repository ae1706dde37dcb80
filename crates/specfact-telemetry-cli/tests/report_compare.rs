//! `report --compare`: your figures beside the community's in every format, from a saved
//! file (offline) or a server, with a timeout and a clear message when it cannot be reached.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Home, run};
use serde_json::Value;

/// Your log: repro.run twice (2 and 4 violations, one failure), plan.compare once (1 drift),
/// all in 2026-W02.
const LOG: &str = r#"{"violations_detected":2,"session_id":"a1","success":true,"duration_ms":100,"command":"repro.run","timestamp":"2026-01-05T10:00:00.000Z"}
{"violations_detected":4,"session_id":"a1","success":false,"error":"Exit","duration_ms":300,"command":"repro.run","timestamp":"2026-01-06T10:00:00.000Z"}
{"violations_detected":1,"session_id":"a1","success":true,"duration_ms":20,"command":"plan.compare","timestamp":"2026-01-07T10:00:00.000Z"}
"#;

/// The community: repro.run published, plan.compare held back; W02 and W03 published.
const COMMUNITY: &str = r#"{
  "schema": "specfact-community/1",
  "generated_at": "2026-02-02T06:00:00.000Z",
  "data_until": "2026-02-02T00:00:00.000Z",
  "min_sessions": 10,
  "available": true,
  "events": 5000,
  "sessions": 420,
  "sessions_exact": true,
  "success_rate": 0.9,
  "regressions": {"total": 1000, "contract_violations": {"count": 710, "share": 0.71},
                  "plan_drift": {"count": 290, "share": 0.29}, "other": {"count": 0, "share": 0.0}},
  "most_used": {"command": "repro.run", "sessions": 400, "session_share": 0.95},
  "commands": [{"command": "repro.run", "runs": 4000, "sessions": 400, "session_share": 0.95,
                "success_rate": 0.8, "duration_ms": {"median": 1500.0, "p95": 9800.0}}],
  "other_commands": {"commands": 2, "runs": 1000, "sessions": 40, "success_rate": 0.99},
  "weeks": [{"week": "2026-W02", "start": "2026-01-05", "regressions": 612, "contract_violations": 500, "plan_drift": 112}],
  "weekly": {"first_week": "2026-W02", "last_week": "2026-W05", "weeks": 4, "average_regressions": 250.0},
  "checks": null,
  "discovery": null,
  "held_back": {"cells": 2, "commands": 2, "weeks": 0, "regression_categories": 0, "figures": 0},
  "a_field_from_a_later_server": true
}"#;

fn setup() -> (Home, String) {
    let home = Home::new();
    home.write("telemetry.log", LOG);
    let file = home.path().join("community.json");
    std::fs::write(&file, COMMUNITY).unwrap();
    (home, file.display().to_string())
}

fn report(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut c = home.cmd();
    c.arg("report").args(args).env("COLUMNS", "200");
    run(c)
}

#[test]
fn json_carries_both_sides() {
    let (home, file) = setup();
    let (code, out, err) = report(&home, &["--format", "json", "--compare", &file]);
    assert_eq!(code, 0, "{err}");
    let j: Value = serde_json::from_str(&out).unwrap();
    // The report itself is unchanged; the comparison is added beside it.
    assert_eq!(j["events"], 3);
    let c = &j["compare"];
    assert_eq!(c["schema"], "specfact-community/1");
    assert_eq!(c["community_sessions"], 420);
    assert_eq!(c["headlines"]["contract_share"]["mine"], 6.0 / 7.0);
    assert_eq!(c["headlines"]["contract_share"]["community"], 0.71);
    assert_eq!(c["headlines"]["regressions_per_week"]["mine"], 7.0);
    assert_eq!(c["headlines"]["regressions_per_week"]["community"], 250.0);
    let commands = c["commands"].as_array().unwrap();
    let repro = commands
        .iter()
        .find(|x| x["command"] == "repro.run")
        .unwrap();
    assert_eq!(repro["mine"]["success_rate"], 0.5);
    assert_eq!(repro["mine"]["median_ms"], 100.0);
    assert_eq!(repro["community"]["success_rate"], 0.8);
    assert_eq!(repro["community"]["p95_ms"], 9800.0);
    let plan = commands
        .iter()
        .find(|x| x["command"] == "plan.compare")
        .unwrap();
    assert_eq!(plan["community"], Value::Null, "held back there");
    assert_eq!(
        c["weeks"],
        serde_json::json!([{"week": "2026-W02", "mine": 7, "community": 612}])
    );
}

#[test]
fn table_markdown_and_html_show_both_sides() {
    let (home, file) = setup();
    let (code, table, err) = report(&home, &["--compare", &file]);
    assert_eq!(code, 0, "{err}");
    assert!(table.contains("Compared with the community"), "{table}");
    let line = table
        .lines()
        .find(|l| l.contains("Contract violations (share"))
        .unwrap();
    assert!(line.contains("86%") && line.contains("71%"), "{line}");
    let line = table
        .lines()
        .find(|l| l.contains("2026-W02") && l.contains("612"))
        .unwrap();
    assert!(line.contains(" 7 "), "{line}");
    let line = table
        .lines()
        .find(|l| l.contains("plan.compare") && l.contains("–"));
    assert!(line.is_some(), "{table}");

    let (code, md, err) = report(&home, &["--format", "markdown", "--compare", &file]);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("### Compared with the community"), "{md}");
    assert!(
        md.contains("| repro.run | 50% | 80% | 100 ms | 1.5 s | 300 ms | 9.8 s |"),
        "{md}"
    );

    let (code, html, err) = report(&home, &["--format", "html", "--compare", &file]);
    assert_eq!(code, 0, "{err}");
    let compare = html.split(r#"<section id="compare">"#).nth(1).unwrap();
    assert!(compare.contains(r#"data-metric="compare_success_rate" data-mine="0.6666666666666666" data-community="0.9""#), "{compare}");
    assert!(compare.contains(r#"id="chart-compare""#));
    assert!(html.find(r#"<section id="compare">"#) < html.find("</main>"));
}

#[test]
fn an_unreachable_server_says_so_and_suggests_a_saved_file() {
    let (home, _) = setup();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let (code, out, err) = report(&home, &["--compare", &url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.is_empty(), "no half report: {out}");
    assert!(err.contains(&format!("{url}/api/community.json")), "{err}");
    assert!(
        err.contains("offline") && err.contains("--compare community.json"),
        "{err}"
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (home, _) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and reads, never answers; stops with the test.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let mut s = s;
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = s.read(&mut buf);
            held.push(s);
        }
    });
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/api/community.json");
    let (code, _, err) = report(&home, &["--compare", &url, "--compare-timeout", "1"]);
    assert_eq!(code, 1);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("cannot fetch the community figures"), "{err}");
}

#[test]
fn a_file_of_another_kind_is_refused_clearly() {
    let (home, _) = setup();
    let other = home.path().join("other.json");
    std::fs::write(&other, r#"{"schema":"something-else/3"}"#).unwrap();
    let (code, _, err) = report(&home, &["--compare", other.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("something-else/3") && err.contains("specfact-community/1"),
        "{err}"
    );
}

/// `GET path` on 127.0.0.1:`port`; the body (the view answers without chunking).
fn get(port: u16, path: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    raw.split_once("\r\n\r\n").unwrap().1.to_owned()
}

#[test]
fn view_shows_the_comparison_and_keeps_it_current() {
    use std::io::BufRead;
    let (home, file) = setup();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("specfact-telemetry"))
        .args([
            "view",
            "--no-open",
            "--stop-after",
            "60",
            "--compare",
            &file,
        ])
        .env_clear()
        .env("HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first
        .trim()
        .strip_prefix("Dashboard: http://127.0.0.1:")
        .and_then(|r| r.strip_suffix('/'))
        .unwrap()
        .parse()
        .unwrap();
    let page = get(port, "/");
    let api: Value = serde_json::from_str(&get(port, "/api/report")).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains(r#"<section id="compare">"#), "{page}");
    assert!(page.contains(r#"data-community="0.71""#), "{page}");
    let section = api["html"]["compare"].as_str().unwrap();
    assert!(section.contains("Compared with the community"), "{section}");
}
