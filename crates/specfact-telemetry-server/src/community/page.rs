//! The public dashboard: one self-contained page drawn from a [`Publication`] alone, with
//! the look of the command-line tool's `view` (the same style sheet), inline SVG charts,
//! no script and nothing fetched. It can hold nothing the JSON does not hold.

use std::fmt::Write;

use specfact_telemetry_report::community::Publication;
use specfact_telemetry_report::format::{NONE, average, count, percent, plural};
use specfact_telemetry_report::html::{
    COMMAND_COLUMNS, STYLE_SHEET, card, command_row, esc, figure, number_attribute, table,
};
use specfact_telemetry_report::svg::{self, CHART_WEEKS, Column, CommandRow};

/// The Content-Security-Policy of the page, sent as a header: nothing may load, inline
/// styles only, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The same policy in the page's `<meta>`, for static copies (browsers ignore
/// `frame-ancestors` there: a static host sets that header itself).
const META_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

fn headline(p: &Publication) -> String {
    let mut s = String::from(r#"<div class="cards">"#);
    let reg = p.regressions.clone().unwrap_or_default();
    let held = "held back (fewer than k sessions)";
    match &p.regressions {
        Some(r) => card(
            &mut s,
            "regressions",
            "Regressions prevented",
            &r.total.to_string(),
            &count(r.total),
            "violations detected",
        ),
        None => card(
            &mut s,
            "regressions",
            "Regressions prevented",
            "",
            NONE,
            held,
        ),
    }
    for (metric, label, cell) in [
        (
            "contract_share",
            "Contract violations",
            reg.contract_violations,
        ),
        ("plan_drift_share", "Plan drift", reg.plan_drift),
    ] {
        match cell {
            Some(c) => card(
                &mut s,
                metric,
                label,
                &number_attribute(c.share),
                &percent(c.share),
                &format!("{} of the regressions prevented", count(c.count)),
            ),
            None => card(&mut s, metric, label, "", NONE, held),
        }
    }
    if let Some(w) = &p.weekly {
        card(
            &mut s,
            "per_week",
            "Prevented per week",
            &number_attribute(w.average_regressions),
            &average(w.average_regressions),
            &format!("on average over {}", plural(w.weeks, "week", "weeks")),
        );
    }
    if let Some(m) = &p.most_used {
        card(
            &mut s,
            "most_used",
            "Most-used command",
            &m.command,
            &m.command,
            &format!("{} of sessions", percent(m.session_share)),
        );
    }
    card(
        &mut s,
        "events",
        "Events",
        &p.events.unwrap_or(0).to_string(),
        &count(p.events.unwrap_or(0)),
        &plural(p.sessions.unwrap_or(0), "session", "sessions"),
    );
    card(
        &mut s,
        "success_rate",
        "Success rate",
        &number_attribute(p.success_rate),
        &percent(p.success_rate),
        "of all runs",
    );
    if let Some(c) = &p.checks {
        card(
            &mut s,
            "checks_failed",
            "Checks failed",
            &c.failed.to_string(),
            &count(c.failed),
            &format!("of {} run ({})", count(c.total), percent(c.failure_rate)),
        );
    }
    if let Some(d) = &p.discovery {
        card(
            &mut s,
            "features",
            "Features discovered",
            &d.features.to_string(),
            &count(d.features),
            &format!("and {}", plural(d.stories, "story", "stories")),
        );
    }
    s.push_str("</div>");
    // The split as one bar of 100 %, with its legend; a category held back is drawn
    // nowhere and said so.
    let parts = svg::regression_parts(
        [reg.contract_violations, reg.plan_drift, reg.other].map(|c| c.map(|c| (c.count, c.share))),
    );
    s.push_str(&svg::share_bar("chart-share", &parts, reg.total));
    s.push_str(&svg::share_legend(&parts));
    s
}

/// The weekly, command-share and duration charts, as the command-line tool draws them.
fn charts(p: &Publication) -> String {
    let weeks = &p.weeks[p.weeks.len().saturating_sub(CHART_WEEKS)..];
    let columns: Vec<Column> = weeks.iter().map(Column::from).collect();
    let series = svg::regression_series(
        &weeks
            .iter()
            .map(|w| (w.regressions, w.contract_violations, w.plan_drift))
            .collect::<Vec<_>>(),
    );
    let commands: Vec<CommandRow<'_>> = p.commands.iter().map(CommandRow::from).collect();
    let mut s = String::new();
    figure(
        &mut s,
        "Contract violations vs plan drift",
        &format!(
            "Regressions prevented per ISO week (UTC){}; {} on average.",
            if p.weeks.len() > CHART_WEEKS {
                ", the last 52 weeks shown"
            } else {
                ""
            },
            average(p.weekly.as_ref().and_then(|w| w.average_regressions))
        ),
        &(svg::columns(
            "chart-regressions",
            "Regressions prevented per week by category",
            &columns,
            &series,
            "No week to show yet",
        ) + &svg::legend(&series)),
    );
    svg::command_charts(&mut s, &commands, "No command to show yet");
    s
}

fn tables(p: &Publication) -> String {
    let mut rows: Vec<(String, Vec<String>)> = p
        .commands
        .iter()
        .map(|c| command_row(&CommandRow::from(c)))
        .collect();
    if let Some(o) = &p.other_commands {
        rows.push((
            r#" class="pooled""#.into(),
            vec![
                esc(&format!(
                    "{} held back together",
                    plural(o.commands, "command", "commands")
                )),
                count(o.runs),
                count(o.sessions),
                NONE.into(),
                percent(o.success_rate),
                NONE.into(),
                NONE.into(),
            ],
        ));
    }
    let mut s = String::from("<h2>Commands</h2>");
    s.push_str(&table("commands", &COMMAND_COLUMNS, &rows));
    let rows: Vec<(String, Vec<String>)> = p
        .weeks
        .iter()
        .rev()
        .map(|w| {
            (
                String::new(),
                vec![
                    esc(&w.week),
                    esc(&w.start),
                    count(w.regressions),
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
            ("Regressions prevented", true),
            ("Contract violations", true),
            ("Plan drift", true),
        ],
        &rows,
    ));
    s
}

fn notes(p: &Publication) -> String {
    let h = &p.held_back;
    let mut s = String::from("<ul>");
    let _ = write!(
        s,
        "<li>Every figure on this page covers at least {} distinct sessions. A command, week or figure used in fewer is not shown, nor named; when one is held back, the smallest shown one of its kind is held back with it, so that no hidden figure can be worked out from the totals.</li>",
        count(p.min_sessions)
    );
    let _ = write!(
        s,
        r#"<li id="held-back" data-cells="{}">Held back: {}, {}, {} and {}.</li>"#,
        h.cells,
        plural(h.commands, "command", "commands"),
        plural(h.weeks, "week", "weeks"),
        plural(
            h.regression_categories,
            "regression category",
            "regression categories"
        ),
        plural(h.figures, "other figure", "other figures"),
    );
    s.push_str("<li>Regressions prevented are the violations detected by commands of the contract families (repro, contract, enforce, analyze) and the plan-drift families (plan, drift), as in <code>specfact-telemetry report</code>. Durations are rounded to two significant digits. Weeks are ISO weeks, UTC. Test events of <code>specfact-telemetry doctor</code> are not counted.</li>");
    s.push_str("<li>Compare your own numbers: <code>specfact-telemetry report --compare URL</code> with this page's <code>/api/community.json</code>.</li></ul>");
    s
}

/// Renders the whole page for `p`.
pub fn render(p: &Publication) -> String {
    let mut s = String::with_capacity(32 * 1024);
    s.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#);
    let _ = write!(
        s,
        r#"<meta http-equiv="Content-Security-Policy" content="{META_CSP}">"#
    );
    s.push_str(r#"<meta name="referrer" content="no-referrer">"#);
    let _ = write!(
        s,
        "<title>SpecFact community numbers</title><style>{STYLE_SHEET}</style></head><body>"
    );
    let through = p
        .data_until
        .as_deref()
        .map(|u| format!(" · events before {}", u.split('T').next().unwrap_or(u)))
        .unwrap_or_default();
    let period = if p.available {
        format!(
            "{} · {}{through}",
            plural(p.events.unwrap_or(0), "event", "events"),
            plural(p.sessions.unwrap_or(0), "session", "sessions")
        )
    } else {
        format!("Not enough data yet{through}")
    };
    let _ = write!(
        s,
        r#"<header><h1>SpecFact community numbers</h1><p id="period">{}</p><p id="status" class="status">Computed {} · every figure covers at least {} sessions</p></header><main>"#,
        esc(&period),
        esc(&p
            .generated_at
            .replace('T', " ")
            .replace(".000Z", " UTC")
            .replace('Z', " UTC")),
        count(p.min_sessions)
    );
    if p.available {
        let _ = write!(
            s,
            r#"<section id="headline">{}</section><section id="charts" class="charts">"#,
            headline(p)
        );
        s.push_str(&charts(p));
        let _ = write!(
            s,
            r#"</section><section id="tables">{}</section>"#,
            tables(p)
        );
    } else {
        let _ = write!(
            s,
            r#"<div class="empty-state" id="not-enough"><h2>Not enough data yet</h2><p>Fewer than {} sessions have sent events, so no figure can be published without singling someone out. The figures appear here once there are enough.</p></div>"#,
            count(p.min_sessions)
        );
    }
    let _ = write!(
        s,
        r#"<section id="notes" class="notes">{}</section>"#,
        notes(p)
    );
    s.push_str("</main><footer>Community figures from SpecFact telemetry, opted in. The same numbers as JSON: <code>/api/community.json</code>. This page loads nothing from anywhere.</footer></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_publication_says_so_and_shows_no_figure() {
        let p = Publication {
            min_sessions: 10,
            ..Publication::default()
        };
        let html = render(&p);
        assert!(html.contains("Not enough data yet"));
        assert!(!html.contains("data-metric"));
        assert!(!html.contains("<script"));
    }
}
