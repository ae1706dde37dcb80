//! HTML pieces shared by the command-line tool's report and dashboard and the server's
//! community page: escaping, the one style sheet of both ([`STYLE_SHEET`]), and the
//! headline cards, figures and tables it lays out.
//!
//! ```
//! use specfact_telemetry_report::html::{esc, table};
//!
//! assert_eq!(esc("<b>&"), "&lt;b&gt;&amp;");
//! let t = table("weeks", &[("Week", false), ("Events", true)], &[(String::new(), vec!["2026-W10".into(), "12".into()])]);
//! assert!(t.contains(r#"<td class="num" data-label="Events">12</td>"#));
//! ```

use std::fmt::Write;

use crate::format;
use crate::svg::CommandRow;

/// The style sheet of every page of figures (inline in a `<style>` element): one look
/// for the report, the dashboard and the community page, on phones, desktops and paper.
pub const STYLE_SHEET: &str = include_str!("../assets/report.css");

/// Escapes text for HTML and SVG, in content and in attribute values (single- or
/// double-quoted): `&`, `<`, `>`, `"` and `'` become character references.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for a `data-*` attribute, as Rust prints it (exact, for tests and scripts);
/// empty when there is none.
pub fn number_attribute(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

/// Appends a headline card: `label` above the `shown` figure, `sub` under it. The figure
/// carries `data-metric` and its exact `value`. Every text is escaped here.
pub fn card(out: &mut String, metric: &str, label: &str, value: &str, shown: &str, sub: &str) {
    let _ = write!(
        out,
        r#"<div class="card"><div class="label">{}</div><div class="value" data-metric="{}" data-value="{}">{}</div><div class="sub">{}</div></div>"#,
        esc(label),
        esc(metric),
        esc(value),
        esc(shown),
        esc(sub)
    );
}

/// Appends a figure: a titled, captioned `body` (already HTML, e.g. a chart).
pub fn figure(out: &mut String, title: &str, caption: &str, body: &str) {
    let _ = write!(
        out,
        r#"<figure><figcaption><h2>{}</h2><p>{}</p></figcaption>{body}</figure>"#,
        esc(title),
        esc(caption)
    );
}

/// A table: `columns` are (header, numeric); each row is its `<tr>` attributes (already
/// HTML, with a leading space, or empty) and its cells (already HTML). Numeric cells are
/// right-aligned in tabular figures, and every cell carries its header so that narrow
/// screens can show a row as a list of "header: value".
pub fn table(id: &str, columns: &[(&str, bool)], rows: &[(String, Vec<String>)]) -> String {
    let class = |numeric: bool| if numeric { r#" class="num""# } else { "" };
    let mut s = format!(r#"<table id="{}"><thead><tr>"#, esc(id));
    for &(header, numeric) in columns {
        let _ = write!(s, "<th{}>{}</th>", class(numeric), esc(header));
    }
    s.push_str("</tr></thead><tbody>");
    for (attributes, cells) in rows {
        let _ = write!(s, "<tr{attributes}>");
        for (cell, &(header, numeric)) in cells.iter().zip(columns) {
            let _ = write!(
                s,
                r#"<td{} data-label="{}">{cell}</td>"#,
                class(numeric),
                esc(header)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// The columns of a commands table: the command, then the figures of [`command_row`].
pub const COMMAND_COLUMNS: [(&str, bool); 7] = [
    ("Command", false),
    ("Runs", true),
    ("Sessions", true),
    ("Share of sessions", true),
    ("Success", true),
    ("Median", true),
    ("p95", true),
];

/// A command's row of a commands [`table`] under [`COMMAND_COLUMNS`]: its `data-command`
/// attribute, and its name, runs, sessions, share of sessions, success rate, median and
/// 95th-percentile duration, escaped.
pub fn command_row(c: &CommandRow<'_>) -> (String, Vec<String>) {
    let name = esc(c.command);
    (
        format!(r#" data-command="{name}""#),
        vec![
            name,
            format::count(c.runs),
            format::count(c.sessions),
            format::percent(c.session_share),
            format::percent(c.success_rate),
            esc(&format::duration(c.median_ms)),
            esc(&format::duration(c.p95_ms)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(esc("<a&'\">"), "&lt;a&amp;&#39;&quot;&gt;");
        assert_eq!(esc("plan.init · 7 %"), "plan.init · 7 %");
    }

    #[test]
    fn cards_escape_every_text_and_keep_the_exact_value() {
        let mut s = String::new();
        card(&mut s, "most_used", "Most <used>", "a\"b", "a\"b", "1 & 2");
        assert_eq!(
            s,
            r#"<div class="card"><div class="label">Most &lt;used&gt;</div><div class="value" data-metric="most_used" data-value="a&quot;b">a&quot;b</div><div class="sub">1 &amp; 2</div></div>"#
        );
        assert_eq!(number_attribute(Some(0.25)), "0.25");
        assert_eq!(number_attribute(None), "");
    }

    #[test]
    fn tables_label_every_cell_with_its_header() {
        let t = table(
            "commands",
            &[("Command", false), ("Runs", true)],
            &[(
                r#" data-command="x""#.to_owned(),
                vec!["x".into(), "1,000".into()],
            )],
        );
        assert_eq!(
            t,
            r#"<table id="commands"><thead><tr><th>Command</th><th class="num">Runs</th></tr></thead><tbody><tr data-command="x"><td data-label="Command">x</td><td class="num" data-label="Runs">1,000</td></tr></tbody></table>"#
        );
        let mut f = String::new();
        figure(&mut f, "A & B", "<why>", "<svg/>");
        assert_eq!(
            f,
            "<figure><figcaption><h2>A &amp; B</h2><p>&lt;why&gt;</p></figcaption><svg/></figure>"
        );
    }

    #[test]
    fn a_command_row_fills_the_command_columns() {
        let (attributes, cells) = command_row(&CommandRow {
            command: "a&b",
            runs: 1_234,
            sessions: 12,
            session_share: Some(0.071),
            success_rate: Some(1.0),
            median_ms: Some(13.5),
            p95_ms: None,
        });
        assert_eq!(attributes, r#" data-command="a&amp;b""#);
        assert_eq!(
            cells,
            ["a&amp;b", "1,234", "12", "7.1%", "100%", "13.50 ms", "–"]
        );
        assert_eq!(cells.len(), COMMAND_COLUMNS.len());
    }

    /// Reads character references back (only those `esc` writes).
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup_and_reads_back(s in any::<String>()) {
            let e = esc(&s);
            prop_assert!(!e.contains(['<', '>', '"', '\'']), "{}", e);
            // Every `&` starts one of the references `esc` writes.
            for (i, _) in e.match_indices('&') {
                let rest = &e[i..];
                prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|r| rest.starts_with(r)),
                    "{}", e
                );
            }
            prop_assert_eq!(unescape(&e), s);
        }

        #[test]
        fn markup_heavy_text_is_escaped_too(s in "[<>&\"'a ]{0,40}") {
            let e = esc(&s);
            prop_assert!(!e.contains(['<', '>', '"', '\'']), "{}", e);
            prop_assert_eq!(unescape(&e), s);
        }
    }
}
