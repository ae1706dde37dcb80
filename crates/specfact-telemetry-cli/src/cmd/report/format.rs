//! How numbers, shares, durations and dates read in every output format.

use std::time::SystemTime;

use specfact_telemetry_report::Date;
use specfact_telemetry_report::Report;

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// Puts a comma between each group of three digits of a run of digits.
fn group(digits: &str) -> String {
    let len = digits.chars().count();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with `places` decimals and thousands separators: `4152.34` → `4,152.3`.
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{:.places$}", x.abs());
    let (whole, fraction) = s.split_once('.').unwrap_or((&s, ""));
    let sign = if x < 0.0 && s.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{}", group(whole));
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A count and its noun, singular for one: `1 event`, `2,000 events`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// Whether the log holds nothing at all yet: no event, in the period or outside it, and
/// no line that failed to read. (A log that does not exist holds nothing either.)
pub fn nothing_recorded(r: &Report) -> bool {
    r.events == 0 && r.outside_period == 0 && r.malformed_lines == 0
}

/// What to do when [`nothing_recorded`]: how to start.
pub const HOW_TO_START: &str = "To start, turn telemetry on with `specfact-telemetry enable` (`specfact-telemetry status` says whether it is on), then run a SpecFact command: its events show up here.";

/// A share as a percentage: `0.667` → `67%`, `0.071` → `7.1%`, none → `–`.
pub fn percent(share: Option<f64>) -> String {
    match share {
        None => "–".to_owned(),
        Some(s) => {
            let p = s * 100.0;
            if p == 0.0 || p >= 10.0 || (p - p.round()).abs() < 0.05 {
                format!("{p:.0}%")
            } else {
                format!("{p:.1}%")
            }
        }
    }
}

/// A duration in milliseconds: `12.98 ms`, `8.5 s`, `3.2 min`, `1.5 h`; none → `–`.
pub fn duration(ms: Option<f64>) -> String {
    match ms {
        None => "–".to_owned(),
        Some(ms) if ms < 1000.0 => format!("{ms:.2} ms").replace(".00 ms", " ms"),
        Some(ms) if ms < 60_000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) if ms < 3_600_000.0 => format!("{:.1} min", ms / 60_000.0),
        Some(ms) => format!("{} h", decimal(ms / 3_600_000.0, 1)),
    }
}

/// An average with one decimal: `2.75` → `2.8`; none → `–`.
pub fn average(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| decimal(x, 1))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(Some(2.0 / 3.0)), "67%");
        assert_eq!(percent(Some(0.071)), "7.1%");
        assert_eq!(percent(Some(0.05)), "5%");
        assert_eq!(percent(Some(0.0)), "0%");
        assert_eq!(percent(None), "–");
        assert_eq!(duration(Some(12.98)), "12.98 ms");
        assert_eq!(duration(Some(14.0)), "14 ms");
        assert_eq!(duration(Some(8511.68)), "8.5 s");
        assert_eq!(duration(Some(192_000.0)), "3.2 min");
        assert_eq!(duration(Some(5_400_000.0)), "1.5 h");
        assert_eq!(average(Some(2.75)), "2.8");
        assert_eq!(average(Some(4152.34)), "4,152.3");
        assert_eq!(duration(Some(4152.3 * 3_600_000.0)), "4,152.3 h");
        assert_eq!(decimal(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(decimal(-1234.5, 1), "-1,234.5");
        assert_eq!(decimal(-0.01, 1), "0.0");
        assert_eq!(decimal(999.96, 1), "1,000.0");
        assert_eq!(decimal(12.0, 0), "12");
        assert_eq!(plural(1, "event", "events"), "1 event");
        assert_eq!(plural(0, "event", "events"), "0 events");
        assert_eq!(plural(1_000, "week", "weeks"), "1,000 weeks");
    }
}
