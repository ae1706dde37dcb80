//! How numbers, shares, durations and dates read in every output format.

use std::time::SystemTime;

use specfact_telemetry_report::Date;
use specfact_telemetry_report::Report;

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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
        Some(ms) => format!("{:.1} h", ms / 3_600_000.0),
    }
}

/// An average with one decimal: `2.75` → `2.8`; none → `–`.
pub fn average(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))
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

/// Remarks a reader needs to read the figures right.
pub fn notes(r: &Report) -> Vec<String> {
    let mut n = Vec::new();
    if r.without_timestamp > 0 {
        n.push(format!(
            "{} events have no timestamp (written by the Python tool): they count in the totals and are left out of the weekly figures.",
            count(r.without_timestamp)
        ));
    }
    if r.outside_period > 0 {
        n.push(format!(
            "{} events are outside the period asked for (events without a timestamp cannot be placed in a period and are among them).",
            count(r.outside_period)
        ));
    }
    if r.malformed_lines > 0 {
        n.push(format!(
            "{} lines of the log are not valid events and were skipped.",
            count(r.malformed_lines)
        ));
    }
    if r.without_session > 0 {
        n.push(format!(
            "{} events have no session id and are in no session count.",
            count(r.without_session)
        ));
    }
    if !r.sessions.exact {
        n.push(format!(
            "Session counts are estimates (HyperLogLog, standard error {:.1}%).",
            r.sessions.standard_error * 100.0
        ));
    }
    if r.commands.iter().any(|c| !c.duration_ms.exact) {
        n.push(
            "Medians and 95th percentiles of commands with more than 256 runs are within 1% (log-scale histogram).".to_owned(),
        );
    }
    n
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
                "{} on average over {} weeks",
                average(r.weekly.average_violations),
                count(r.weekly.weeks)
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
            "{} features and {} stories in {} imports",
            count(r.discovery.features),
            count(r.discovery.stories),
            count(r.discovery.runs)
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
    }
}
