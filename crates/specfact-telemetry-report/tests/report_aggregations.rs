//! Every aggregation of `report`, on small logs whose answers are worked out by hand.

use std::collections::BTreeMap;
use std::path::Path;

use specfact_telemetry::LocalLog;
use specfact_telemetry::event::parse_timestamp;
use specfact_telemetry::settings::RegressionCategory;
use specfact_telemetry_report::{LiveReport, Report, ReportOptions, build};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../specfact-telemetry/tests/fixtures/python-specfact-0.20.5/telemetry.log"
);

fn line(ts: Option<&str>, command: &str, session: &str, ok: bool, ms: f64, extra: &str) -> String {
    let ts = ts
        .map(|t| format!(r#","timestamp":"{t}""#))
        .unwrap_or_default();
    format!(
        r#"{{{extra}"session_id":"{session}","success":{ok},"duration_ms":{ms},"command":"{command}"{ts}}}"#
    )
}

/// Nine lines: seven events over ISO weeks 2026-W02..W05 (W04 empty), one without a
/// timestamp, and two malformed lines.
fn hand_made() -> String {
    [
        line(
            Some("2026-01-05T10:00:00Z"),
            "repro.run",
            "s1",
            false,
            100.0,
            r#""violations_detected":3,"checks_total":5,"checks_failed":2,"#,
        ),
        line(
            Some("2026-01-05T10:01:00Z"),
            "plan.compare",
            "s1",
            true,
            20.0,
            r#""violations_detected":1,"#,
        ),
        "not json at all".to_owned(),
        line(
            Some("2026-01-07T08:00:00Z"),
            "drift.detect",
            "s2",
            true,
            40.0,
            r#""violations_detected":2,"#,
        ),
        r#"{"success":true,"duration_ms":1}"#.to_owned(),
        line(
            Some("2026-01-14T12:00:00Z"),
            "import.from_code",
            "s3",
            true,
            8000.0,
            r#""features_detected":4,"stories_detected":10,"#,
        ),
        line(
            Some("2026-01-26T09:00:00Z"),
            "repro.run",
            "s4",
            true,
            300.0,
            r#""violations_detected":4,"#,
        ),
        line(
            None,
            "contract.test",
            "s5",
            true,
            50.0,
            r#""violations_detected":5,"#,
        ),
        line(
            Some("2026-01-26T09:05:00Z"),
            "sync.bridge",
            "s5",
            true,
            10.0,
            r#""violations_detected":1,"#,
        ),
    ]
    .join("\n")
        + "\n"
}

fn write(dir: &Path, content: &str) -> LocalLog {
    let path = dir.join("telemetry.log");
    std::fs::write(&path, content).unwrap();
    LocalLog::new(path)
}

fn report_of(content: &str, opts: &ReportOptions) -> Report {
    let dir = tempfile::tempdir().unwrap();
    build(&write(dir.path(), content), opts).unwrap()
}

fn command<'a>(r: &'a Report, name: &str) -> &'a specfact_telemetry_report::CommandReport {
    r.commands.iter().find(|c| c.command == name).unwrap()
}

#[test]
fn python_fixture() {
    let r = build(&LocalLog::new(FIXTURE), &ReportOptions::default()).unwrap();
    assert_eq!(
        (r.events, r.malformed_lines, r.without_timestamp),
        (6, 0, 6)
    );
    assert_eq!((r.sessions.count, r.sessions.exact), (6, true));
    assert_eq!(r.successes, 5); // plan.compare failed with Exit
    assert_eq!(r.commands.len(), 5);
    // repro.run ran in two of the six sessions; every other command in one.
    let top = r.most_used.as_ref().unwrap();
    assert_eq!(
        (top.command.as_str(), top.sessions, top.runs),
        ("repro.run", 2, 2)
    );
    assert_eq!(top.session_share, Some(2.0 / 6.0));
    let repro = command(&r, "repro.run");
    assert_eq!(repro.duration_ms.median, Some(12.98));
    assert_eq!(repro.duration_ms.p95, Some(14.79));
    assert_eq!(repro.success_rate, Some(1.0));
    assert_eq!(command(&r, "plan.compare").success_rate, Some(0.0));
    // Both repro runs reported 0 violations: nothing prevented, no shares.
    assert_eq!(r.regressions.total, 0);
    assert_eq!(r.regressions.contract_violations.share, None);
    assert_eq!((r.checks.runs, r.checks.total, r.checks.failed), (2, 6, 0));
    assert_eq!(r.checks.failure_rate, Some(0.0));
    assert_eq!(
        (r.discovery.runs, r.discovery.features, r.discovery.stories),
        (1, 1, 1)
    );
    // No timestamps: no period and no weekly figures.
    assert!(r.period.first.is_none() && r.weeks.is_empty());
    assert_eq!(r.weekly.average_violations, None);
}

#[test]
fn hand_made_log_with_malformed_lines() {
    let r = report_of(&hand_made(), &ReportOptions::default());
    assert_eq!(
        (r.events, r.malformed_lines, r.without_timestamp),
        (7, 2, 1)
    );
    assert_eq!(r.sessions.count, 5);
    assert_eq!(r.period.first, parse_timestamp("2026-01-05T10:00:00Z"));
    assert_eq!(r.period.last, parse_timestamp("2026-01-26T09:05:00Z"));

    // contract: repro 3 + repro 4 + contract 5 = 12; drift: plan 1 + drift 2 = 3; sync 1.
    let g = &r.regressions;
    assert_eq!(g.total, 16);
    assert_eq!(
        (g.contract_violations.count, g.contract_violations.share),
        (12, Some(0.75))
    );
    assert_eq!((g.plan_drift.count, g.plan_drift.share), (3, Some(0.1875)));
    assert_eq!((g.other.count, g.other.share), (1, Some(0.0625)));
    assert_eq!(g.categories.get("drift"), Some(&"plan_drift"));

    let weeks: Vec<_> = r
        .weeks
        .iter()
        .map(|w| {
            (
                w.week.to_string(),
                w.start.to_string(),
                w.events,
                w.violations,
                w.contract_violations,
                w.plan_drift,
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("2026-W02".to_owned(), "2026-01-05".to_owned(), 3, 6, 3, 3),
            ("2026-W03".to_owned(), "2026-01-12".to_owned(), 1, 0, 0, 0),
            ("2026-W04".to_owned(), "2026-01-19".to_owned(), 0, 0, 0, 0),
            ("2026-W05".to_owned(), "2026-01-26".to_owned(), 2, 5, 4, 0),
        ]
    );
    // The event without a timestamp (5 violations) is left out of the weekly figures.
    assert_eq!(
        (r.weekly.weeks, r.weekly.events, r.weekly.violations),
        (4, 6, 11)
    );
    assert_eq!(r.weekly.average_violations, Some(2.75));
    assert_eq!(r.weekly.average_events, Some(1.5));

    let repro = command(&r, "repro.run");
    assert_eq!(
        (
            repro.runs,
            repro.sessions,
            repro.successes,
            repro.violations
        ),
        (2, 2, 1, 7)
    );
    assert_eq!(repro.session_share, Some(0.4));
    assert_eq!(repro.success_rate, Some(0.5));
    assert_eq!(
        (repro.duration_ms.median, repro.duration_ms.p95),
        (Some(100.0), Some(300.0))
    );
    assert_eq!(r.commands[0].command, "repro.run");
    assert_eq!(r.most_used.as_ref().unwrap().command, "repro.run");
    assert_eq!((r.checks.runs, r.checks.total, r.checks.failed), (1, 5, 2));
    assert_eq!(r.checks.failure_rate, Some(0.4));
    assert_eq!((r.discovery.features, r.discovery.stories), (4, 10));
    assert!(r.recent.is_empty());
}

#[test]
fn a_period_leaves_out_events_outside_it_and_those_without_a_timestamp() {
    let opts = ReportOptions {
        since: parse_timestamp("2026-01-07T00:00:00Z"),
        until: parse_timestamp("2026-01-26T09:00:00Z"),
        ..ReportOptions::default()
    };
    let r = report_of(&hand_made(), &opts);
    // In: drift.detect (01-07) and import.from_code (01-14). Out: the two of 01-05, the
    // two of 01-26 (the bound is exclusive), and the one without a timestamp.
    assert_eq!((r.events, r.outside_period, r.without_timestamp), (2, 5, 0));
    assert_eq!(r.regressions.total, 2);
    assert_eq!(r.regressions.plan_drift.share, Some(1.0));
    assert_eq!(r.weeks.len(), 2);
    assert_eq!(r.malformed_lines, 2);
    assert_eq!(r.period.since, opts.since);
}

#[test]
fn the_category_map_is_configurable() {
    let opts = ReportOptions {
        categories: BTreeMap::from([
            ("sync".to_owned(), RegressionCategory::PlanDrift),
            ("contract".to_owned(), RegressionCategory::ContractViolation),
        ]),
        ..ReportOptions::default()
    };
    let r = report_of(&hand_made(), &opts);
    let g = &r.regressions;
    assert_eq!(
        (
            g.contract_violations.count,
            g.plan_drift.count,
            g.other.count
        ),
        (5, 1, 10)
    );
    assert_eq!(r.weeks[0].contract_violations + r.weeks[0].plan_drift, 0);
}

#[test]
fn recent_events_are_newest_first() {
    let opts = ReportOptions {
        recent_events: 3,
        ..ReportOptions::default()
    };
    let r = report_of(&hand_made(), &opts);
    let names: Vec<_> = r.recent.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(names, ["sync.bridge", "contract.test", "repro.run"]);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["recent"][0]["session_id"], "s5");
}

#[test]
fn an_empty_or_missing_log_gives_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let r = build(
        &LocalLog::new(dir.path().join("none.log")),
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!((r.events, r.sessions.count), (0, 0));
    assert!(r.most_used.is_none() && r.commands.is_empty() && r.weeks.is_empty());
    assert_eq!(r.success_rate, None);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["most_used"].is_null());
    assert!(json.get("recent").is_none());
}

#[test]
fn a_torn_last_line_is_not_counted() {
    let content = hand_made() + r#"{"command":"repro.run","succ"#;
    let r = report_of(&content, &ReportOptions::default());
    assert_eq!((r.events, r.malformed_lines), (7, 2));
    // A whole event that only lacks its newline counts.
    let content = hand_made() + &line(None, "plan.init", "s9", true, 1.0, "");
    assert_eq!(report_of(&content, &ReportOptions::default()).events, 8);
}

#[test]
fn events_without_a_session_are_in_no_session_count() {
    let content = format!(
        "{}\n{}\n",
        r#"{"command":"plan.init","success":true}"#,
        line(None, "plan.init", "s1", true, 1.0, "")
    );
    let r = report_of(&content, &ReportOptions::default());
    assert_eq!((r.events, r.without_session, r.sessions.count), (2, 1, 1));
    assert_eq!(r.commands[0].runs, 2);
    assert_eq!(r.commands[0].session_share, Some(1.0));
}

#[test]
fn live_report_follows_appends_torn_lines_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), &hand_made());
    let mut live = LiveReport::new(log.clone(), ReportOptions::default());
    assert!(live.refresh().unwrap());
    assert_eq!(live.report().events, 7);
    assert!(!live.refresh().unwrap());

    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap();
    let next = line(
        Some("2026-02-02T10:00:00Z"),
        "plan.compare",
        "s6",
        true,
        5.0,
        r#""violations_detected":2,"#,
    );
    let (head, tail) = next.split_at(30);
    f.write_all(head.as_bytes()).unwrap();
    live.refresh().unwrap();
    let r = live.report();
    assert_eq!(
        (r.events, r.malformed_lines),
        (7, 2),
        "a line being written is not counted yet"
    );
    f.write_all(tail.as_bytes()).unwrap();
    f.write_all(b"\n").unwrap();
    assert!(live.refresh().unwrap());
    let r = live.report();
    assert_eq!(
        (r.events, r.malformed_lines, r.regressions.plan_drift.count),
        (8, 2, 5)
    );
    assert_eq!(r.weeks.last().unwrap().week.to_string(), "2026-W06");

    // Rotated: a shorter file starts the count over.
    std::fs::write(
        log.path(),
        line(None, "plan.init", "z", true, 1.0, "") + "\n",
    )
    .unwrap();
    assert!(live.refresh().unwrap());
    assert_eq!(live.report().events, 1);
    std::fs::remove_file(log.path()).unwrap();
    assert!(live.refresh().unwrap());
    assert_eq!(live.report().events, 0);
}
