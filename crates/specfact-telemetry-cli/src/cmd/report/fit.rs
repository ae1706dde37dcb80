//! Fitting tables and prose into a terminal's width without ever splitting a number.
//!
//! A table that is too wide first loses the columns marked optional (they repeat what
//! another column says), then is split into several narrower tables that each repeat
//! the first column. Only that first column (a name) may wrap; figures keep their width.
//! Prose wraps between words.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table};

/// The width to fit the terminal report into: `COLUMNS` when it holds a number (the
/// convention shells and scripts use), else the terminal's width when standard output
/// is a terminal, else none (no limit: output to a pipe or a file).
pub fn terminal_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS").ok();
    width_from(columns.as_deref(), || Table::new().width().map(usize::from))
}

/// [`terminal_width`] without the environment: `COLUMNS`, else what `terminal` says.
fn width_from(columns: Option<&str>, terminal: impl FnOnce() -> Option<usize>) -> Option<usize> {
    match columns.and_then(|c| c.trim().parse::<usize>().ok()) {
        Some(n) if n > 0 => Some(n),
        _ => terminal(),
    }
}

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// Figures: right-aligned and never wrapped.
    pub numeric: bool,
    /// May be left out when the table does not fit (it repeats another column).
    pub optional: bool,
}

impl Column {
    /// A column of names or dates, left-aligned.
    pub const fn text(header: &'static str) -> Self {
        Column {
            header,
            numeric: false,
            optional: false,
        }
    }

    /// A column of figures.
    pub const fn number(header: &'static str) -> Self {
        Column {
            header,
            numeric: true,
            optional: false,
        }
    }

    /// This column, droppable when space is short.
    pub const fn optional(self) -> Self {
        Column {
            optional: true,
            ..self
        }
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The width each column's content needs.
fn natural_widths(columns: &[Column], rows: &[Vec<String>]) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|s| chars(s))
                .chain([chars(c.header)])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The printed width of a table with columns of these content widths: one space of
/// padding on each side of every cell and a border between and around them.
fn table_width(widths: impl IntoIterator<Item = usize>) -> usize {
    let mut n = 0;
    let mut total = 1;
    for w in widths {
        n += 1;
        total += w + 3;
    }
    if n == 0 { 0 } else { total }
}

/// Renders `rows` under `columns` within `width` characters (no limit when `None`).
/// The result ends without a newline.
pub fn table(columns: &[Column], rows: &[Vec<String>], width: Option<usize>) -> String {
    let natural = natural_widths(columns, rows);
    let all: Vec<usize> = (0..columns.len()).collect();
    let Some(width) = width else {
        return render(columns, rows, &all, None);
    };
    if table_width(natural.iter().copied()) <= width {
        return render(columns, rows, &all, Some(width));
    }
    let kept: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| i == 0 || !columns[i].optional)
        .collect();
    if table_width(kept.iter().map(|&i| natural[i])) <= width {
        return render(columns, rows, &kept, Some(width));
    }
    // Split: every group repeats the first column and takes as many of the others,
    // in order, as fit; a group always takes at least one.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current = vec![0];
    for &i in kept.iter().skip(1) {
        let mut with = current.clone();
        with.push(i);
        if current.len() > 1 && table_width(with.iter().map(|&j| natural[j])) > width {
            groups.push(std::mem::replace(&mut current, vec![0, i]));
        } else {
            current = with;
        }
    }
    groups.push(current);
    groups
        .iter()
        .map(|g| render(columns, rows, g, Some(width)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One comfy-table of the columns `pick`.
fn render(
    columns: &[Column],
    rows: &[Vec<String>],
    pick: &[usize],
    width: Option<usize>,
) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(pick.iter().map(|&i| columns[i].header).collect::<Vec<_>>());
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(w).unwrap_or(u16::MAX));
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for row in rows {
        t.add_row(
            pick.iter()
                .map(|&i| row.get(i).cloned().unwrap_or_default())
                .collect::<Vec<_>>(),
        );
    }
    for (k, &i) in pick.iter().enumerate() {
        if let Some(c) = t.column_mut(k) {
            if columns[i].numeric {
                c.set_cell_alignment(CellAlignment::Right);
            }
            // Only the first column (a name) may wrap; figures and dates never do.
            if k > 0 {
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    t.to_string()
}

/// Wraps `text` between words to `width` (no limit when `None`): the first line starts
/// with `first`, the others with `rest`. A word longer than a line stays whole.
pub fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> String {
    let Some(width) = width else {
        return format!("{first}{text}");
    };
    let mut out = String::from(first);
    let mut line = chars(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = chars(word);
        if !empty && line + 1 + w > width {
            out.push('\n');
            out.push_str(rest);
            line = chars(rest);
            empty = true;
        }
        if !empty {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += w;
        empty = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column::text("Name"),
            Column::text("Since").optional(),
            Column::number("Alpha"),
            Column::number("Beta"),
            Column::number("Gamma"),
        ]
    }

    fn rows() -> Vec<Vec<String>> {
        vec![
            vec![
                "generate.test-prompt".into(),
                "2026-01-05".into(),
                "23,961".into(),
                "1,234,567".into(),
                "12.98 ms".into(),
            ],
            vec![
                "plan.init".into(),
                "2026-01-12".into(),
                "7".into(),
                "0".into(),
                "1.5 h".into(),
            ],
        ]
    }

    fn widest(s: &str) -> usize {
        s.lines().map(chars).max().unwrap_or(0)
    }

    /// Every figure of every row appears whole on one line.
    fn figures_whole(s: &str) {
        for r in rows() {
            for f in &r[2..] {
                assert!(
                    s.lines().any(|l| l.contains(f.as_str())),
                    "{f} split in\n{s}"
                );
            }
        }
    }

    #[test]
    fn a_table_that_fits_is_left_alone() {
        let s = table(&cols(), &rows(), Some(200));
        assert_eq!(s, table(&cols(), &rows(), None));
        assert_eq!(
            s.lines().next().map(chars),
            Some(table_width(natural_widths(&cols(), &rows())))
        );
        assert!(s.contains("Since"));
    }

    #[test]
    fn optional_columns_go_first() {
        let full = table_width(natural_widths(&cols(), &rows()));
        let s = table(&cols(), &rows(), Some(full - 1));
        assert!(!s.contains("Since"), "{s}");
        assert!(widest(&s) < full);
        figures_whole(&s);
    }

    #[test]
    fn narrow_tables_split_and_never_break_figures() {
        for width in [20, 30, 40, 50, 60] {
            let s = table(&cols(), &rows(), Some(width));
            if width < 60 {
                // Split: every table repeats the names.
                assert!(s.matches("│ Name").count() >= 2, "width {width}:\n{s}");
            }
            figures_whole(&s);
            if width >= 40 {
                assert!(widest(&s) <= width, "width {width}:\n{s}");
                // Names stay whole while there is room.
                assert!(s.contains("plan.init"), "{s}");
            } else {
                // Only names give way.
                assert!(s.contains("plan.in"), "{s}");
            }
        }
    }

    #[test]
    fn columns_from_the_environment_win() {
        assert_eq!(width_from(Some("60"), || Some(200)), Some(60));
        assert_eq!(width_from(Some(" 80 "), || None), Some(80));
        assert_eq!(width_from(Some("wide"), || Some(100)), Some(100));
        assert_eq!(width_from(Some("0"), || None), None);
        assert_eq!(width_from(None, || None), None);
    }

    #[test]
    fn prose_wraps_between_words() {
        let text = "2,406 — 67% contract violations, 33% plan drift";
        assert_eq!(wrap(text, None, "  ", "    "), format!("  {text}"));
        let s = wrap(text, Some(20), "  ", "    ");
        assert_eq!(
            s,
            "  2,406 — 67%\n    contract\n    violations, 33%\n    plan drift"
        );
        assert!(s.lines().all(|l| chars(l) <= 20));
        // A word longer than the line stays whole.
        assert_eq!(
            wrap("a /very/long/path b", Some(6), "", ""),
            "a\n/very/long/path\nb"
        );
    }
}
