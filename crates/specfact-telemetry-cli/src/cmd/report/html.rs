//! The HTML report: one self-contained page (inline CSS and SVG, no external request),
//! shared by `report --format html` and the `view` dashboard.
//!
//! The page is made of [`Sections`]; the dashboard serves them again as JSON so that its
//! small script can swap them in place when new events arrive.

use std::fmt::Write;

use serde::Serialize;
use specfact_telemetry::event::format_timestamp;
use specfact_telemetry_report::Report;

use super::format::{self, count, percent};
use super::svg::{self, CHART_WEEKS, Series, esc};

const CSS: &str = include_str!("../../../assets/report.css");
const SCRIPT: &str = include_str!("../../../assets/dashboard.js");

/// The parts of the page that change with the data.
#[derive(Debug, Clone, Serialize)]
pub struct Sections {
    /// The period covered and the totals, in one line.
    pub period: String,
    /// Headline cards and the share bar.
    pub headline: String,
    /// The charts.
    pub charts: String,
    /// The commands and weeks tables.
    pub tables: String,
    /// Remarks on how to read the figures.
    pub notes: String,
    /// The most recent events (dashboard only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent: Option<String>,
}

fn card(out: &mut String, metric: &str, label: &str, value: &str, shown: &str, sub: &str) {
    let _ = write!(
        out,
        r#"<div class="card"><div class="label">{}</div><div class="value" data-metric="{metric}" data-value="{}">{}</div><div class="sub">{}</div></div>"#,
        esc(label),
        esc(value),
        esc(shown),
        esc(sub)
    );
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

/// Renders every section of the page.
pub fn sections(r: &Report, live: bool) -> Sections {
    Sections {
        period: esc(&format!(
            "{} · {} events · {} sessions",
            format::period(r),
            count(r.events),
            count(r.sessions.count)
        )),
        headline: headline(r),
        charts: charts(r),
        tables: tables(r),
        notes: notes(r),
        recent: live.then(|| recent(r)),
    }
}

fn headline(r: &Report) -> String {
    let g = &r.regressions;
    let mut s = String::from(r#"<div class="cards">"#);
    card(
        &mut s,
        "regressions",
        "Regressions prevented",
        &g.total.to_string(),
        &count(g.total),
        "violations detected",
    );
    card(
        &mut s,
        "contract_share",
        "Contract violations",
        &opt(g.contract_violations.share),
        &percent(g.contract_violations.share),
        &format!(
            "{} of the regressions prevented",
            count(g.contract_violations.count)
        ),
    );
    card(
        &mut s,
        "plan_drift_share",
        "Plan drift",
        &opt(g.plan_drift.share),
        &percent(g.plan_drift.share),
        &format!("{} of the regressions prevented", count(g.plan_drift.count)),
    );
    card(
        &mut s,
        "per_week",
        "Prevented per week",
        &opt(r.weekly.average_violations),
        &format::average(r.weekly.average_violations),
        &format!("on average over {} weeks", count(r.weekly.weeks)),
    );
    match &r.most_used {
        Some(m) => card(
            &mut s,
            "most_used",
            "Most-used command",
            &m.command,
            &m.command,
            &format!("{} of sessions", percent(m.session_share)),
        ),
        None => card(
            &mut s,
            "most_used",
            "Most-used command",
            "",
            "–",
            "no events yet",
        ),
    }
    card(
        &mut s,
        "events",
        "Events",
        &r.events.to_string(),
        &count(r.events),
        &format!("{} sessions", count(r.sessions.count)),
    );
    card(
        &mut s,
        "success_rate",
        "Success rate",
        &opt(r.success_rate),
        &percent(r.success_rate),
        &format!("{} of {} runs", count(r.successes), count(r.events)),
    );
    card(
        &mut s,
        "checks_failed",
        "Checks failed",
        &r.checks.failed.to_string(),
        &count(r.checks.failed),
        &format!(
            "of {} run ({})",
            count(r.checks.total),
            percent(r.checks.failure_rate)
        ),
    );
    card(
        &mut s,
        "features",
        "Features discovered",
        &r.discovery.features.to_string(),
        &count(r.discovery.features),
        &format!("and {} stories", count(r.discovery.stories)),
    );
    s.push_str("</div>");
    s.push_str(&svg::share_bar(
        "chart-share",
        &[
            (
                "contract_violations",
                "Contract violations",
                "contract",
                g.contract_violations.count,
                g.contract_violations.share,
            ),
            (
                "plan_drift",
                "Plan drift",
                "drift",
                g.plan_drift.count,
                g.plan_drift.share,
            ),
            ("other", "Other", "other", g.other.count, g.other.share),
        ],
    ));
    s.push_str(&svg::legend(&regression_series(&[])));
    s
}

fn regression_series(weeks: &[specfact_telemetry_report::WeekReport]) -> Vec<Series<'static>> {
    vec![
        Series {
            name: "contract_violations",
            label: "Contract violations",
            class: "contract",
            values: weeks.iter().map(|w| w.contract_violations).collect(),
        },
        Series {
            name: "plan_drift",
            label: "Plan drift",
            class: "drift",
            values: weeks.iter().map(|w| w.plan_drift).collect(),
        },
        Series {
            name: "other",
            label: "Other",
            class: "other",
            values: weeks
                .iter()
                .map(|w| w.violations - w.contract_violations - w.plan_drift)
                .collect(),
        },
    ]
}

fn figure(out: &mut String, title: &str, caption: &str, body: &str) {
    let _ = write!(
        out,
        r#"<figure><figcaption><h2>{}</h2><p>{}</p></figcaption>{body}</figure>"#,
        esc(title),
        esc(caption)
    );
}

fn charts(r: &Report) -> String {
    let weeks = &r.weeks[r.weeks.len().saturating_sub(CHART_WEEKS)..];
    let shown = if weeks.len() < r.weeks.len() {
        format!("the last {} of {} weeks", weeks.len(), r.weeks.len())
    } else {
        format!("{} weeks", weeks.len())
    };
    let mut s = String::new();
    let events = [Series {
        name: "events",
        label: "events",
        class: "events",
        values: weeks.iter().map(|w| w.events).collect(),
    }];
    figure(
        &mut s,
        "Events over time",
        &format!("Events per ISO week (UTC), {shown}."),
        &svg::columns("chart-events", "Events per week", weeks, &events),
    );
    let series = regression_series(weeks);
    let body = svg::columns(
        "chart-regressions",
        "Regressions prevented per week by category",
        weeks,
        &series,
    ) + &svg::legend(&series);
    figure(
        &mut s,
        "Contract violations vs plan drift",
        &format!(
            "Regressions prevented per week, {shown}; {} on average.",
            format::average(r.weekly.average_violations)
        ),
        &body,
    );
    figure(
        &mut s,
        "Command shares",
        "Share of sessions in which each command ran.",
        &svg::command_shares("chart-commands", &r.commands),
    );
    figure(
        &mut s,
        "Durations",
        "Median (dot) to 95th percentile (bar end) per command, logarithmic scale.",
        &svg::durations("chart-durations", &r.commands),
    );
    s
}

fn tables(r: &Report) -> String {
    let mut s = String::from(
        r#"<h2>Commands</h2><table id="commands"><thead><tr><th>Command</th><th>Runs</th><th>Sessions</th><th>Share of sessions</th><th>Success</th><th>Median</th><th>p95</th><th>Violations</th></tr></thead><tbody>"#,
    );
    for c in &r.commands {
        let _ = write!(
            s,
            r#"<tr data-command="{}"><td>{}</td>{}</tr>"#,
            esc(&c.command),
            esc(&c.command),
            format::command_figures(c)
                .iter()
                .map(|f| format!("<td>{}</td>", esc(f)))
                .collect::<String>()
        );
    }
    s.push_str("</tbody></table>");
    s.push_str(
        r#"<details><summary>Weeks</summary><table id="weeks"><thead><tr><th>Week</th><th>From</th><th>Events</th><th>Regressions prevented</th><th>Contract violations</th><th>Plan drift</th></tr></thead><tbody>"#,
    );
    for w in r.weeks.iter().rev() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.week,
            w.start,
            count(w.events),
            count(w.violations),
            count(w.contract_violations),
            count(w.plan_drift)
        );
    }
    s.push_str("</tbody></table></details>");
    s
}

fn notes(r: &Report) -> String {
    let n = format::notes(r);
    if n.is_empty() {
        return String::new();
    }
    let mut s = String::from("<ul>");
    for line in n {
        let _ = write!(s, "<li>{}</li>", esc(&line));
    }
    s.push_str("</ul>");
    s
}

fn recent(r: &Report) -> String {
    let mut s = String::from(
        r#"<h2>Recent events</h2><table id="recent-events"><thead><tr><th>Time (UTC)</th><th>Command</th><th>Result</th><th>Duration</th><th>Violations</th><th>Session</th></tr></thead><tbody>"#,
    );
    if r.recent.is_empty() {
        s.push_str(r#"<tr><td colspan="6">No events yet.</td></tr>"#);
    }
    for e in &r.recent {
        let time = e.timestamp.map_or_else(|| "–".to_owned(), format_timestamp);
        let result = match (&e.error, e.success) {
            (_, true) => "ok".to_owned(),
            (Some(err), false) => format!("failed ({err})"),
            (None, false) => "failed".to_owned(),
        };
        let session: String = e.session_id.chars().take(8).collect();
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td class="{}">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>"#,
            esc(&time),
            esc(&e.command),
            if e.success { "ok" } else { "failed" },
            esc(&result),
            format::duration(e.duration_ms),
            e.count("violations_detected")
                .map_or_else(|| "–".to_owned(), |v| v.to_string()),
            esc(&session)
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The whole page. `live` adds the recent events and the script that keeps the page
/// current by polling `api/report`.
pub fn page(r: &Report, live: bool) -> String {
    let sec = sections(r, live);
    let generated = format_timestamp(std::time::SystemTime::now());
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    if !live {
        // Nothing in a shared file may fetch anything; the dashboard's server sends its own policy.
        s.push_str(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">"#);
    }
    let _ = write!(
        s,
        "<title>SpecFact telemetry{}</title><style>{CSS}</style></head><body>",
        if live { " dashboard" } else { " report" }
    );
    let _ = write!(
        s,
        r#"<header><h1>SpecFact telemetry</h1><p id="period">{}</p><p id="status" class="status">{}</p></header><main>"#,
        sec.period,
        if live {
            format!("Live: updated {}", esc(&generated))
        } else {
            format!("Generated {}", esc(&generated))
        }
    );
    let _ = write!(
        s,
        r#"<section id="headline">{}</section><section id="charts" class="charts">{}</section><section id="tables">{}</section><section id="notes" class="notes">{}</section>"#,
        sec.headline, sec.charts, sec.tables, sec.notes
    );
    if let Some(recent) = &sec.recent {
        let _ = write!(s, r#"<section id="recent">{recent}</section>"#);
    }
    s.push_str(
        "</main><footer>Computed from your own local telemetry log; nothing on this page was fetched from elsewhere.</footer>",
    );
    if live {
        let _ = write!(s, "<script>{SCRIPT}</script>");
    }
    s.push_str("</body></html>\n");
    s
}
