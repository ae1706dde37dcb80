//! The terminal report.
//!
//! It fits the width it is given (see [`fit`](super::fit)): tables drop or split
//! columns and prose wraps between words, so no figure is ever broken over two lines.

use std::fmt::Write;

use specfact_telemetry_report::Report;

use super::fit::{self, Column};
use super::format::{self, count, percent, plural};

/// Weeks listed in the terminal report (the most recent ones).
const TEXT_WEEKS: usize = 12;

/// Renders the report for a terminal `width` characters wide (no limit when `None`).
pub fn render(r: &Report, log: &str, width: Option<usize>) -> String {
    let mut s = String::new();
    let line = |s: &mut String, text: &str, first: &str, rest: &str| {
        let _ = writeln!(s, "{}", fit::wrap(text, width, first, rest));
    };
    if format::nothing_recorded(r) {
        line(&mut s, "Telemetry report", "", "");
        line(
            &mut s,
            &format!("No events to report yet: nothing has been recorded in {log}."),
            "",
            "",
        );
        line(&mut s, format::HOW_TO_START, "", "");
        return s;
    }
    line(
        &mut s,
        &format!("Telemetry report: {}", format::period(r)),
        "",
        "",
    );
    line(
        &mut s,
        &format!(
            "{} in {}, {} succeeded · log: {log}",
            plural(r.events, "event", "events"),
            plural(r.sessions.count, "session", "sessions"),
            percent(r.success_rate)
        ),
        "",
        "",
    );
    if r.events == 0 {
        s.push_str("\nNo events to report yet.\n");
        for n in format::notes(r) {
            line(&mut s, &format!("Note: {n}"), "", "  ");
        }
        return s;
    }

    s.push_str("\nHeadlines\n");
    for (label, value) in format::headlines(r) {
        line(&mut s, &format!("{label}: {value}"), "  ", "    ");
    }

    s.push_str("\nCommands\n");
    let columns = [
        Column::text("Command"),
        Column::number("Runs"),
        Column::number("Sessions"),
        Column::number("Share"),
        Column::number("Success"),
        Column::number("Median"),
        Column::number("p95"),
        Column::number("Violations"),
    ];
    let rows: Vec<Vec<String>> = r
        .commands
        .iter()
        .map(|c| {
            let mut row = vec![crate::cmd::output::printable(&c.command).into_owned()];
            row.extend(format::command_figures(c));
            row
        })
        .collect();
    let _ = writeln!(s, "{}", fit::table(&columns, &rows, width));

    if !r.weeks.is_empty() {
        let shown = r.weeks.len().min(TEXT_WEEKS);
        let _ = writeln!(s, "\nWeeks{}", format::last_of(shown, r.weeks.len()));
        let columns = [
            Column::text("Week"),
            // The week names its days already.
            Column::text("From").optional(),
            Column::number("Events"),
            Column::number("Prevented"),
            Column::number("Contract"),
            Column::number("Plan drift"),
        ];
        let rows: Vec<Vec<String>> = r.weeks[r.weeks.len() - shown..]
            .iter()
            .map(|w| {
                vec![
                    w.week.to_string(),
                    w.start.to_string(),
                    count(w.events),
                    count(w.violations),
                    count(w.contract_violations),
                    count(w.plan_drift),
                ]
            })
            .collect();
        let _ = writeln!(s, "{}", fit::table(&columns, &rows, width));
    }
    let notes = format::notes(r);
    if !notes.is_empty() {
        s.push_str("\nNotes\n");
        for n in notes {
            line(&mut s, &n, "  - ", "    ");
        }
    }
    s
}
