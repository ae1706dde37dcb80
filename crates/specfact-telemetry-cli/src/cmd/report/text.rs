//! The terminal report.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use specfact_telemetry_report::Report;

use super::format::{self, count, percent};

/// Weeks listed in the terminal report (the most recent ones).
const TEXT_WEEKS: usize = 12;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    for i in 1..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Renders the report for a terminal.
pub fn render(r: &Report, log: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Telemetry report: {}", format::period(r));
    let _ = writeln!(
        s,
        "{} events in {} sessions, {} succeeded · log: {log}",
        count(r.events),
        count(r.sessions.count),
        percent(r.success_rate)
    );
    if r.events == 0 {
        s.push_str("\nNo events to report yet.\n");
        for n in format::notes(r) {
            let _ = writeln!(s, "Note: {n}");
        }
        return s;
    }

    s.push_str("\nHeadlines\n");
    for (label, value) in format::headlines(r) {
        let _ = writeln!(s, "  {label}: {value}");
    }

    s.push_str("\nCommands\n");
    let mut t = table(&[
        "Command",
        "Runs",
        "Sessions",
        "Share",
        "Success",
        "Median",
        "p95",
        "Violations",
    ]);
    for c in &r.commands {
        let mut row = vec![crate::cmd::output::printable(&c.command).into_owned()];
        row.extend(format::command_figures(c));
        t.add_row(row);
    }
    let _ = writeln!(s, "{t}");

    if !r.weeks.is_empty() {
        let shown = r.weeks.len().min(TEXT_WEEKS);
        let _ = writeln!(s, "\nWeeks{}", format::last_of(shown, r.weeks.len()));
        let mut t = table(&[
            "Week",
            "From",
            "Events",
            "Prevented",
            "Contract",
            "Plan drift",
        ]);
        for w in &r.weeks[r.weeks.len() - shown..] {
            t.add_row(vec![
                w.week.to_string(),
                w.start.to_string(),
                count(w.events),
                count(w.violations),
                count(w.contract_violations),
                count(w.plan_drift),
            ]);
        }
        let _ = writeln!(s, "{t}");
    }
    let notes = format::notes(r);
    if !notes.is_empty() {
        s.push_str("\nNotes\n");
        for n in notes {
            let _ = writeln!(s, "  {n}");
        }
    }
    s
}
