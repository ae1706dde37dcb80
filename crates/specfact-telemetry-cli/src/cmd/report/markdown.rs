//! The Markdown report, to paste into a pull request or an issue.

use std::fmt::Write;

use specfact_telemetry_report::Report;

use super::format::{self, count, percent, plural};

/// Weeks listed (the most recent ones).
const MARKDOWN_WEEKS: usize = 12;

/// Escapes what would break a table cell or start markup.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Renders the report as GitHub-flavoured Markdown.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    if format::nothing_recorded(r) {
        s.push_str("## Telemetry report\n\nNothing has been recorded yet.\n\n");
        let _ = writeln!(s, "{}", format::HOW_TO_START);
        return s;
    }
    let _ = writeln!(s, "## Telemetry report: {}\n", format::period(r));
    let _ = writeln!(
        s,
        "{} in {}; {} succeeded.\n",
        plural(r.events, "event", "events"),
        plural(r.sessions.count, "session", "sessions"),
        percent(r.success_rate)
    );
    s.push_str("| Headline | |\n| --- | --- |\n");
    for (i, (label, value)) in format::headlines(r).into_iter().enumerate() {
        // The first headline is the one the report exists for.
        let value = if i == 0 {
            format!("**{}**", cell(&value))
        } else {
            cell(&value)
        };
        let _ = writeln!(s, "| {label} | {value} |");
    }

    if !r.commands.is_empty() {
        s.push_str("\n### Commands\n\n| Command | Runs | Sessions | Share of sessions | Success | Median | p95 | Violations |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for c in &r.commands {
            let _ = writeln!(
                s,
                "| {} | {} |",
                cell(&c.command),
                format::command_figures(c).join(" | ")
            );
        }
    }
    if !r.weeks.is_empty() {
        let shown = r.weeks.len().min(MARKDOWN_WEEKS);
        let _ = writeln!(
            s,
            "\n### Regressions prevented per week{}\n",
            format::last_of(shown, r.weeks.len())
        );
        s.push_str("| Week | From | Events | Prevented | Contract violations | Plan drift |\n| --- | --- | ---: | ---: | ---: | ---: |\n");
        for w in &r.weeks[r.weeks.len() - shown..] {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                w.week,
                w.start,
                count(w.events),
                count(w.violations),
                count(w.contract_violations),
                count(w.plan_drift)
            );
        }
    }
    let notes = format::notes(r);
    if !notes.is_empty() {
        s.push('\n');
        for n in notes {
            let _ = writeln!(s, "> {}", cell(&n));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("import.from_code"), "import.from\\_code");
        assert_eq!(cell("x\ny"), "x y");
    }
}
