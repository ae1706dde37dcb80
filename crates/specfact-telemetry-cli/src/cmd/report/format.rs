//! How the figures of a report read in every output format: the numbers, shares and
//! durations as everywhere ([`specfact_telemetry_report::format`], which the server's
//! community page uses too), and the sentences and rows made of them.

use std::time::SystemTime;

use specfact_telemetry_report::Date;
use specfact_telemetry_report::Report;
pub use specfact_telemetry_report::format::{average, count, decimal, duration, percent, plural};

/// Whether the log holds nothing at all yet: no event, in the period or outside it, and
/// no line that failed to read. (A log that does not exist holds nothing either.)
pub fn nothing_recorded(r: &Report) -> bool {
    r.events == 0 && r.outside_period == 0 && r.malformed_lines == 0
}

/// What to do when [`nothing_recorded`]: how to start.
pub const HOW_TO_START: &str = "To start, turn telemetry on with `specfact-telemetry enable` (`specfact-telemetry status` says whether it is on), then run a SpecFact command: its events show up here.";

/// The UTC date of a time.
pub fn date(t: SystemTime) -> String {
    Date::of(t).to_string()
}

/// The period a report covers, in words: `2026-01-05 to 2026-03-29 (UTC)`.
pub fn period(r: &Report) -> String {
    match (r.period.first, r.period.last) {
        (Some(a), Some(b)) => format!("{} to {} (UTC)", date(a), date(b)),
        _ => "no timestamped events".to_owned(),
    }
}

/// The headline about regressions prevented.
pub fn regressions_sentence(r: &Report) -> String {
    let g = &r.regressions;
    if g.total == 0 {
        return "none detected".to_owned();
    }
    let mut s = format!(
        "{} — {} contract violations, {} plan drift",
        count(g.total),
        percent(g.contract_violations.share),
        percent(g.plan_drift.share)
    );
    if g.other.count > 0 {
        s.push_str(&format!(", {} other", percent(g.other.share)));
    }
    s
}

/// Remarks a reader needs to read the figures right, in plain words.
pub fn notes(r: &Report) -> Vec<String> {
    let mut n = Vec::new();
    if r.without_timestamp > 0 {
        let one = r.without_timestamp == 1;
        n.push(format!(
            "{} no timestamp (written by the Python tool): {} in the totals and {} left out of the weekly figures.",
            were(r.without_timestamp, "event has", "events have"),
            if one { "it counts" } else { "they count" },
            if one { "is" } else { "are" },
        ));
    }
    if r.outside_period > 0 {
        n.push(format!(
            "{} outside the period asked for (events without a timestamp cannot be placed in a period and are among them).",
            were(r.outside_period, "event is", "events are")
        ));
    }
    if r.malformed_lines > 0 {
        n.push(format!(
            "{} of the log {} skipped.",
            plural(r.malformed_lines, "line", "lines"),
            if r.malformed_lines == 1 {
                "is not a valid event and was"
            } else {
                "are not valid events and were"
            },
        ));
    }
    if r.without_session > 0 {
        n.push(format!(
            "{} no session id and {} in no session count.",
            were(r.without_session, "event has", "events have"),
            if r.without_session == 1 { "is" } else { "are" },
        ));
    }
    if !r.sessions.exact {
        n.push(format!(
            "Session counts this large are estimates, typically within {} of the exact number.",
            percent(Some(r.sessions.standard_error))
        ));
    }
    if r.commands.iter().any(|c| !c.duration_ms.exact) {
        n.push(
            "For commands with more than 256 runs, the median and 95th-percentile durations are estimates within 1%.".to_owned(),
        );
    }
    n
}

/// `1 event has`, `3 events have`: a count with its noun and verb.
fn were(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The headline facts, as (label, plain-text value), in the order every format shows
/// them. The regressions sentence comes first: it is what the report exists for.
pub fn headlines(r: &Report) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Regressions prevented", regressions_sentence(r))];
    if let Some(m) = &r.most_used {
        rows.push((
            "Most-used command",
            format!(
                "{} ({} of sessions)",
                crate::cmd::output::printable(&m.command),
                percent(m.session_share)
            ),
        ));
    }
    if r.weekly.weeks > 0 {
        rows.push((
            "Prevented per week",
            format!(
                "{} on average over {}",
                average(r.weekly.average_violations),
                plural(r.weekly.weeks, "week", "weeks")
            ),
        ));
    }
    rows.push((
        "Checks",
        format!(
            "{} run, {} failed ({})",
            count(r.checks.total),
            count(r.checks.failed),
            percent(r.checks.failure_rate)
        ),
    ));
    rows.push((
        "Discovered",
        format!(
            "{} and {} in {}",
            plural(r.discovery.features, "feature", "features"),
            plural(r.discovery.stories, "story", "stories"),
            plural(r.discovery.runs, "import", "imports")
        ),
    ));
    rows
}

/// The figures of one command's row, after its name: runs, sessions, share of
/// sessions, success rate, median and p95 duration, violations.
pub fn command_figures(c: &specfact_telemetry_report::CommandReport) -> [String; 7] {
    [
        count(c.runs),
        count(c.sessions),
        percent(c.session_share),
        percent(c.success_rate),
        duration(c.duration_ms.median),
        duration(c.duration_ms.p95),
        count(c.violations),
    ]
}

/// ` (the last 12 of 40)` when only the last `shown` of `total` rows are listed.
pub fn last_of(shown: usize, total: usize) -> String {
    if shown < total {
        format!(" (the last {shown} of {total})")
    } else {
        String::new()
    }
}
