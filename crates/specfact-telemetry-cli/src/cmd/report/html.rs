//! The HTML report: one self-contained page (inline CSS and SVG, no external request),
//! shared by `report --format html` and the `view` dashboard.
//!
//! The page is made of [`Sections`]; the dashboard serves them again as JSON so that its
//! small script can swap them in place when new events arrive.
//!
//! The same page reads on a phone and a desktop (charts scale with their box and keep
//! their text at a readable size, tables turn into lists on narrow screens), prints
//! whole, and says how to start when nothing has been recorded yet.

use std::fmt::Write;

use serde::Serialize;
use specfact_telemetry::event::format_timestamp;
use specfact_telemetry_report::Report;
use specfact_telemetry_report::html::{
    COMMAND_COLUMNS, STYLE_SHEET, card, command_row, esc, figure, number_attribute, table,
};
use specfact_telemetry_report::svg::{self, CHART_WEEKS, Column, CommandRow, Series};

use super::format::{self, count, percent, plural};

const SCRIPT: &str = include_str!("../../../assets/dashboard.js");

/// The parts of the page that change with the data.
#[derive(Debug, Clone, Serialize)]
pub struct Sections {
    /// The period covered and the totals, in one line.
    pub period: String,
    /// Headline cards and the share bar; before anything is recorded, how to start.
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

/// Text with `code spans` in backquotes, as HTML.
fn with_code(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

/// What the page shows instead of zeros when nothing has been recorded yet.
fn nothing_yet(live: bool) -> String {
    format!(
        r#"<div class="empty-state" id="nothing-recorded"><h2>Nothing recorded yet</h2><p>Your telemetry log holds no events, so there is nothing to show.</p><p>{}</p>{}</div>"#,
        with_code(format::HOW_TO_START),
        if live {
            "<p>This page fills in by itself as soon as the first event is recorded.</p>"
        } else {
            ""
        }
    )
}

/// Renders every section of the page.
pub fn sections(r: &Report, live: bool) -> Sections {
    if format::nothing_recorded(r) {
        return Sections {
            period: "No events recorded yet".to_owned(),
            headline: nothing_yet(live),
            charts: String::new(),
            tables: String::new(),
            notes: String::new(),
            recent: live.then(String::new),
        };
    }
    Sections {
        period: esc(&format!(
            "{} · {} · {}",
            format::period(r),
            plural(r.events, "event", "events"),
            plural(r.sessions.count, "session", "sessions")
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
        &number_attribute(g.contract_violations.share),
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
        &number_attribute(g.plan_drift.share),
        &percent(g.plan_drift.share),
        &format!("{} of the regressions prevented", count(g.plan_drift.count)),
    );
    card(
        &mut s,
        "per_week",
        "Prevented per week",
        &number_attribute(r.weekly.average_violations),
        &format::average(r.weekly.average_violations),
        &format!(
            "on average over {}",
            plural(r.weekly.weeks, "week", "weeks")
        ),
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
        &plural(r.sessions.count, "session", "sessions"),
    );
    card(
        &mut s,
        "success_rate",
        "Success rate",
        &number_attribute(r.success_rate),
        &percent(r.success_rate),
        &format!(
            "{} of {}",
            count(r.successes),
            plural(r.events, "run", "runs")
        ),
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
        &format!("and {}", plural(r.discovery.stories, "story", "stories")),
    );
    s.push_str("</div>");
    let parts = svg::regression_parts(
        [g.contract_violations, g.plan_drift, g.other].map(|c| Some((c.count, c.share))),
    );
    s.push_str(&svg::share_bar("chart-share", &parts, g.total));
    s.push_str(&svg::share_legend(&parts));
    s
}

fn charts(r: &Report) -> String {
    let weeks = &r.weeks[r.weeks.len().saturating_sub(CHART_WEEKS)..];
    let shown = if weeks.len() < r.weeks.len() {
        format!("the last {} of {} weeks", weeks.len(), r.weeks.len())
    } else {
        plural(weeks.len() as u64, "week", "weeks")
    };
    let columns: Vec<Column> = weeks.iter().map(Column::from).collect();
    let mut s = String::new();
    let events = [Series {
        name: "events",
        label: "Events",
        class: "events",
        values: weeks.iter().map(|w| w.events).collect(),
    }];
    figure(
        &mut s,
        "Events over time",
        &format!("Events per ISO week (UTC), {shown}."),
        &svg::columns(
            "chart-events",
            "Events per week",
            &columns,
            &events,
            "No timestamped events yet",
        ),
    );
    let series = svg::regression_series(
        &weeks
            .iter()
            .map(|w| (w.violations, w.contract_violations, w.plan_drift))
            .collect::<Vec<_>>(),
    );
    let body = svg::columns(
        "chart-regressions",
        "Regressions prevented per week by category",
        &columns,
        &series,
        "No timestamped events yet",
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
    let commands: Vec<CommandRow<'_>> = r.commands.iter().map(CommandRow::from).collect();
    svg::command_charts(&mut s, &commands, "No commands yet");
    s
}

fn tables(r: &Report) -> String {
    let rows: Vec<(String, Vec<String>)> = r
        .commands
        .iter()
        .map(|c| {
            let (attributes, mut cells) = command_row(&CommandRow::from(c));
            cells.push(count(c.violations));
            (attributes, cells)
        })
        .collect();
    let mut s = String::from("<h2>Commands</h2>");
    s.push_str(&table(
        "commands",
        &[COMMAND_COLUMNS.as_slice(), &[("Violations", true)]].concat(),
        &rows,
    ));
    // Every week, newest first, always open: the page is also for printing.
    let rows: Vec<(String, Vec<String>)> = r
        .weeks
        .iter()
        .rev()
        .map(|w| {
            (
                String::new(),
                vec![
                    w.week.to_string(),
                    w.start.to_string(),
                    count(w.events),
                    count(w.violations),
                    count(w.contract_violations),
                    count(w.plan_drift),
                ],
            )
        })
        .collect();
    s.push_str("<h2>Weeks</h2>");
    s.push_str(&table(
        "weeks",
        &[
            ("Week", false),
            ("From", false),
            ("Events", true),
            ("Regressions prevented", true),
            ("Contract violations", true),
            ("Plan drift", true),
        ],
        &rows,
    ));
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

/// A time for people (`2026-12-02 04:35:12 UTC`, or just the clock with `clock`) in a
/// `<time>` element that keeps the exact instant for machines and tooltips.
fn time(t: std::time::SystemTime, clock: bool) -> String {
    let iso = format_timestamp(t);
    let (day, rest) = iso.split_once('T').unwrap_or((&iso, ""));
    let seconds = rest.split('.').next().unwrap_or(rest).trim_end_matches('Z');
    let shown = if clock {
        format!("{seconds} UTC")
    } else {
        format!("{day} {seconds} UTC")
    };
    format!(
        r#"<time datetime="{}" title="{}">{}</time>"#,
        esc(&iso),
        esc(&iso),
        esc(&shown)
    )
}

fn recent(r: &Report) -> String {
    let rows: Vec<(String, Vec<String>)> = r
        .recent
        .iter()
        .map(|e| {
            let when = e
                .timestamp
                .map_or_else(|| "–".to_owned(), |t| time(t, false));
            let result = match (&e.error, e.success) {
                (_, true) => "ok".to_owned(),
                (Some(err), false) => format!("failed ({err})"),
                (None, false) => "failed".to_owned(),
            };
            let session: String = e.session_id.chars().take(8).collect();
            (
                format!(r#" class="{}""#, if e.success { "ok" } else { "failed" }),
                vec![
                    when,
                    esc(&e.command),
                    esc(&result),
                    esc(&format::duration(e.duration_ms)),
                    e.count("violations_detected")
                        .map_or_else(|| "–".to_owned(), |v| format::decimal(v as f64, 0)),
                    format!("<code>{}</code>", esc(&session)),
                ],
            )
        })
        .collect();
    let mut s = String::from("<h2>Recent events</h2>");
    s.push_str(&table(
        "recent-events",
        &[
            ("Time", false),
            ("Command", false),
            ("Result", false),
            ("Duration", true),
            ("Violations", true),
            ("Session", false),
        ],
        &rows,
    ));
    s
}

/// The whole page. `live` adds the recent events and the script that keeps the page
/// current by polling `api/report`.
pub fn page(r: &Report, live: bool) -> String {
    let sec = sections(r, live);
    let now = std::time::SystemTime::now();
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    if !live {
        // Nothing in a shared file may fetch anything; the dashboard's server sends its own policy.
        s.push_str(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">"#);
    }
    let _ = write!(
        s,
        "<title>SpecFact telemetry{}</title><style>{STYLE_SHEET}</style></head><body>",
        if live { " dashboard" } else { " report" }
    );
    let _ = write!(
        s,
        r#"<header><h1>SpecFact telemetry</h1><p id="period">{}</p><p id="status" class="status">{}</p></header><main>"#,
        sec.period,
        if live {
            format!("Live: updated {}", time(now, true))
        } else {
            format!("Generated {}", time(now, false))
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
