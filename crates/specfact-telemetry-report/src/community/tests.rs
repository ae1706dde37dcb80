use super::*;
use std::time::{Duration, SystemTime};

/// An event of session `s` at `day` days after Monday 2026-03-02 (ISO week 2026-W10).
fn event(command: &str, s: u32, day: u64, extra: &str) -> Event {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_409_600 + day * 86_400 + 3_600);
    let line = format!(
        r#"{{"command":"{command}","success":true,"duration_ms":{},"session_id":"{s:032x}","timestamp":"{}"{extra}}}"#,
        100 + s,
        format_timestamp(t)
    );
    Event::from_json_line(line.as_bytes()).unwrap()
}

fn publish_of(events: &[Event], k: u64) -> Publication {
    let mut agg = CommunityAggregator::new(ReportOptions::default());
    for e in events {
        agg.push(e);
    }
    agg.publish(k, SystemTime::UNIX_EPOCH, None)
}

#[test]
fn week_of_the_fixture_is_w10() {
    assert_eq!(
        event("x", 0, 0, "")
            .timestamp
            .map(|t| IsoWeek::of(t).to_string()),
        Some("2026-W10".into())
    );
}

#[test]
fn figures_match_hand_computed_values() {
    let mut events = Vec::new();
    // 12 sessions run repro.run with 3 violations each; sessions 0..4 also fail one run.
    for s in 0..12 {
        events.push(event("repro.run", s, 0, r#","violations_detected":3"#));
    }
    for s in 0..4 {
        let mut e = event("repro.run", s, 1, "");
        e.success = false;
        events.push(e);
    }
    // 10 sessions run plan.compare, finding 1 drift each, in the next week.
    for s in 20..30 {
        events.push(event(
            "plan.compare",
            s,
            7,
            r#","violations_detected":1,"checks_total":4,"checks_failed":1"#,
        ));
    }
    let p = publish_of(&events, 10);
    assert!(p.available);
    assert_eq!(p.schema, "specfact-community/1");
    assert_eq!(p.events, Some(26));
    assert_eq!(p.sessions, Some(22));
    assert_eq!(p.success_rate, Some(22.0 / 26.0));
    let reg = p.regressions.clone().unwrap();
    assert_eq!(reg.total, 46);
    assert_eq!(reg.contract_violations.unwrap().count, 36);
    assert_eq!(reg.contract_violations.unwrap().share, Some(36.0 / 46.0));
    assert_eq!(reg.plan_drift.unwrap().count, 10);
    assert_eq!(reg.other.unwrap().count, 0);
    assert_eq!(p.commands.len(), 2);
    let repro = &p.commands[0];
    assert_eq!(
        (repro.command.as_str(), repro.runs, repro.sessions),
        ("repro.run", 16, 12)
    );
    assert_eq!(repro.session_share, Some(12.0 / 22.0));
    assert_eq!(repro.success_rate, Some(12.0 / 16.0));
    // Durations 100..111 and 100..103 again: 16 runs, nearest-rank median is the 8th
    // smallest (100,100,101,101,102,102,103,103 → 103), p95 the 16th (111 → 110 at two digits).
    assert_eq!(repro.duration_ms.median, Some(100.0));
    assert_eq!(repro.duration_ms.p95, Some(110.0));
    assert_eq!(p.most_used.as_ref().unwrap().command, "repro.run");
    let weeks: Vec<(&str, u64, u64, u64)> = p
        .weeks
        .iter()
        .map(|w| {
            (
                w.week.as_str(),
                w.regressions,
                w.contract_violations,
                w.plan_drift,
            )
        })
        .collect();
    assert_eq!(
        weeks,
        vec![("2026-W10", 36, 36, 0), ("2026-W11", 10, 0, 10)]
    );
    assert_eq!(p.weeks[0].start, "2026-03-02");
    let weekly = p.weekly.clone().unwrap();
    assert_eq!((weekly.weeks, weekly.average_regressions), (2, Some(23.0)));
    let checks = p.checks.unwrap();
    assert_eq!((checks.runs, checks.total, checks.failed), (10, 40, 10));
    assert_eq!(checks.failure_rate, Some(0.25));
    assert_eq!(p.discovery, None);
    assert_eq!(p.held_back, schema::HeldBack::default());
}

#[test]
fn two_significant_digits() {
    assert_eq!(two_significant(4152.34), 4200.0);
    assert_eq!(two_significant(12.98), 13.0);
    assert_eq!(two_significant(0.0345), 0.035);
    assert_eq!(two_significant(0.0), 0.0);
}

#[test]
fn doctor_checks_are_left_out() {
    let mut events: Vec<Event> = (0..10).map(|s| event("repro.run", s, 0, "")).collect();
    events.extend((0..10).map(|s| event("doctor.check", s, 0, r#","mode":"diagnostic""#)));
    let mut agg = CommunityAggregator::new(ReportOptions::default());
    for e in &events {
        agg.push(e);
    }
    assert_eq!(agg.diagnostics(), 10);
    let p = agg.publish(10, SystemTime::UNIX_EPOCH, None);
    assert_eq!(p.events, Some(10));
    assert_eq!(p.commands.len(), 1);
    assert!(!serde_json::to_string(&p).unwrap().contains("doctor"));
}

/// Only what the core calls a diagnostic (command `doctor.check` and mode `diagnostic`) is
/// left out; a host command that shares one of the two marks is a use like any other.
#[test]
fn only_the_cores_diagnostics_are_left_out() {
    let probe = event("doctor.check", 0, 0, r#","mode":"diagnostic""#);
    assert!(specfact_telemetry::event::is_diagnostic(&probe));
    let lookalikes = [
        event("doctor.check", 1, 0, r#","mode":"repro""#),
        event("doctor.check", 2, 0, ""),
        event("doctor.checks", 3, 0, r#","mode":"diagnostic""#),
    ];
    let mut agg = CommunityAggregator::new(ReportOptions::default());
    agg.push(&probe);
    for e in &lookalikes {
        assert!(!specfact_telemetry::event::is_diagnostic(e), "{e:?}");
        agg.push(e);
    }
    assert_eq!(agg.diagnostics(), 1);
    let p = agg.publish(1, SystemTime::UNIX_EPOCH, None);
    assert_eq!(p.events, Some(3));
    let mut commands: Vec<(&str, u64)> = p
        .commands
        .iter()
        .map(|c| (c.command.as_str(), c.runs))
        .collect();
    commands.sort_unstable();
    assert_eq!(commands, [("doctor.check", 2), ("doctor.checks", 1)]);
}

fn with_rare(k: u32, rare_sessions: u32) -> Vec<Event> {
    let mut events: Vec<Event> = (0..3 * k).map(|s| event("repro.run", s, 0, "")).collect();
    events.extend((0..2 * k).map(|s| event("plan.init", 1000 + s, 0, "")));
    events.extend((0..rare_sessions).map(|s| event("acme.internal-deploy", 2000 + s, 0, "")));
    events
}

#[test]
fn a_command_in_k_minus_1_sessions_is_nowhere_and_one_in_k_is_published() {
    for k in [2u32, 5, 10] {
        let hidden = publish_of(&with_rare(k, k - 1), u64::from(k));
        let json = serde_json::to_string(&hidden).unwrap();
        assert!(!json.contains("acme"), "k={k}: {json}");
        assert_eq!(
            hidden.held_back.commands, 2,
            "k={k}: the rare one and its partner"
        );
        // The pool is published only with k sessions, and then hides which commands it holds.
        let pool = hidden.other_commands.unwrap();
        assert!(pool.sessions >= u64::from(k));
        assert_eq!(pool.commands, 2);
        let shown = publish_of(&with_rare(k, k), u64::from(k));
        let json = serde_json::to_string(&shown).unwrap();
        assert!(json.contains("acme.internal-deploy"), "k={k}: {json}");
        assert_eq!(shown.held_back.cells, 0);
    }
}

#[test]
fn no_held_back_row_can_be_computed_from_the_totals() {
    // events - sum(published runs) equals the pool's runs, and the pool covers >= k sessions.
    let p = publish_of(&with_rare(10, 3), 10);
    let shown: u64 = p.commands.iter().map(|c| c.runs).sum();
    let pool = p.other_commands.unwrap();
    assert_eq!(p.events.unwrap() - shown, pool.runs);
    assert!(pool.sessions >= 10);
    assert_eq!(
        p.commands.len(),
        1,
        "plan.init (20 sessions) joins the 3-session pool"
    );
}

#[test]
fn fewer_than_k_sessions_publish_nothing() {
    let events: Vec<Event> = (0..9)
        .map(|s| event("repro.run", s, 0, r#","violations_detected":2"#))
        .collect();
    let p = publish_of(&events, 10);
    assert!(!p.available);
    assert_eq!(p.events, None);
    assert!(p.commands.is_empty() && p.weeks.is_empty() && p.regressions.is_none());
    assert!(!serde_json::to_string(&p).unwrap().contains("repro"));
    assert_eq!(p.held_back.figures, 1);
    assert!(p.held_back.cells >= 2);
}

#[test]
fn a_week_or_category_under_k_is_held_back_with_a_partner() {
    let mut events = Vec::new();
    // Week W10: 12 sessions prevent contract regressions; W11: 11 sessions; W12: 2 sessions.
    for s in 0..12 {
        events.push(event("repro.run", s, 0, r#","violations_detected":1"#));
    }
    for s in 100..111 {
        events.push(event("repro.run", s, 7, r#","violations_detected":1"#));
    }
    for s in 200..202 {
        events.push(event("drift.detect", s, 14, r#","violations_detected":5"#));
    }
    let p = publish_of(&events, 10);
    let reg = p.regressions.unwrap();
    assert_eq!(reg.total, 33);
    // Plan drift (2 sessions) is held back; contract (23 sessions) must then be too, or
    // total - contract would tell it. `other` (0) says nothing about anyone.
    assert_eq!(reg.plan_drift, None);
    assert_eq!(reg.contract_violations, None);
    assert_eq!(reg.other.map(|o| o.count), Some(0));
    assert_eq!(p.held_back.regression_categories, 2);
    // W12 is held back; W11 (the smallest) joins it.
    let weeks: Vec<&str> = p.weeks.iter().map(|w| w.week.as_str()).collect();
    assert_eq!(weeks, vec!["2026-W10"]);
    assert_eq!(p.held_back.weeks, 2);
    assert_eq!(p.weekly.unwrap().weeks, 3);
}

#[test]
fn checks_and_discovery_need_k_sessions() {
    let mut events: Vec<Event> = (0..10)
        .map(|s| event("repro.run", s, 0, r#","checks_total":3"#))
        .collect();
    events.extend((0..9).map(|s| {
        event(
            "import.from_code",
            s,
            0,
            r#","features_detected":4,"stories_detected":2"#,
        )
    }));
    let p = publish_of(&events, 10);
    assert_eq!(p.checks.map(|c| c.total), Some(30));
    assert_eq!(p.discovery, None);
    assert_eq!(p.held_back.figures, 1);
}

#[test]
fn publications_read_back_and_tolerate_new_fields() {
    let p = publish_of(&with_rare(10, 10), 10);
    let json = serde_json::to_value(&p).unwrap();
    let back: Publication = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, p);
    let mut extended = json;
    extended["a_later_field"] = serde_json::json!([1, 2]);
    let back: Publication = serde_json::from_value(extended).unwrap();
    assert_eq!(back.commands, p.commands);
    assert!(schema::is_supported(&back.schema));
}
