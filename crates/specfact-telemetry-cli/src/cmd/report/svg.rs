//! Inline SVG charts, drawn from a report with no script and no external resource.
//!
//! Every mark carries its number in `data-*` attributes and a `<title>` tooltip, so
//! a reader can hover for exact values and a test can check the picture against the
//! JSON report.

use std::fmt::Write;

use specfact_telemetry_report::{CommandReport, WeekReport};

use super::format;

/// Escapes text for HTML and SVG content and attribute values.
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

/// Weeks shown in the weekly charts (the most recent ones).
pub const CHART_WEEKS: usize = 52;
/// Commands shown in the command charts (those in the most sessions).
pub const CHART_COMMANDS: usize = 12;

const WIDTH: f64 = 640.0;

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_ceiling(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max {
                return step.saturating_mul(m).max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// One stacked series of a column chart.
pub struct Series<'a> {
    /// Machine name (`data-series`).
    pub name: &'a str,
    /// Words for tooltips and the legend.
    pub label: &'a str,
    /// CSS class that colours it.
    pub class: &'a str,
    /// One value per column.
    pub values: Vec<u64>,
}

/// Stacked columns, one per week.
pub fn columns(id: &str, aria: &str, weeks: &[WeekReport], series: &[Series<'_>]) -> String {
    let (left, right, top, bottom) = (48.0, 8.0, 12.0, 30.0);
    let height = 220.0;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let n = weeks.len().max(1);
    let totals: Vec<u64> = (0..weeks.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let ymax = nice_ceiling(totals.iter().copied().max().unwrap_or(0));
    let band = plot_w / n as f64;
    let bar_w = (band * 0.8).max(1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" role="img" aria-label="{}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria)
    );
    // Horizontal grid with three labels.
    for k in 0..=2u64 {
        let v = ymax * k / 2;
        let y = top + plot_h - plot_h * (v as f64 / ymax as f64);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - right,
            left - 6.0,
            y + 4.0,
            format::count(v)
        );
    }
    let label_every = weeks.len().div_ceil(8).max(1);
    for (i, w) in weeks.iter().enumerate() {
        let x = left + band * i as f64 + (band - bar_w) / 2.0;
        let mut base = top + plot_h;
        let week = w.week.to_string();
        for se in series {
            let v = se.values.get(i).copied().unwrap_or(0);
            let h = plot_h * v as f64 / ymax as f64;
            base -= h;
            let _ = write!(
                s,
                r#"<rect class="{}" x="{x:.1}" y="{base:.1}" width="{bar_w:.1}" height="{h:.1}" data-week="{week}" data-series="{}" data-value="{v}"><title>{week} (from {}): {} {}</title></rect>"#,
                se.class,
                se.name,
                w.start,
                format::count(v),
                esc(se.label)
            );
        }
        if i % label_every == 0 || i + 1 == weeks.len() && weeks.len() <= 8 {
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                height - bottom + 16.0,
                week
            );
        }
    }
    if weeks.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle">No timestamped events yet</text>"#,
            WIDTH / 2.0,
            height / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A legend for stacked series.
pub fn legend(series: &[Series<'_>]) -> String {
    let mut s = String::from(r#"<p class="legend">"#);
    for se in series {
        let _ = write!(
            s,
            r#"<span><i class="swatch {}"></i>{}</span>"#,
            se.class,
            esc(se.label)
        );
    }
    s.push_str("</p>");
    s
}

/// The split of regressions prevented as one bar of 100 %.
pub fn share_bar(id: &str, parts: &[(&str, &str, &str, u64, Option<f64>)]) -> String {
    let height = 28.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart share" role="img" aria-label="Regressions prevented by category" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let total: u64 = parts.iter().map(|p| p.3).sum();
    let mut x = 0.0;
    if total == 0 {
        let _ = write!(
            s,
            r#"<rect class="none" x="0" y="0" width="{WIDTH}" height="{height}"/><text class="empty" x="{}" y="19" text-anchor="middle">No regressions prevented yet</text>"#,
            WIDTH / 2.0
        );
    }
    for &(name, label, class, count, share) in parts {
        if total == 0 {
            break;
        }
        let w = WIDTH * count as f64 / total as f64;
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{x:.1}" y="0" width="{w:.1}" height="{height}" data-series="{name}" data-value="{count}" data-share="{}"><title>{}: {} ({})</title></rect>"#,
            share.unwrap_or(0.0),
            esc(label),
            format::count(count),
            format::percent(share)
        );
        if w > 60.0 {
            let _ = write!(
                s,
                r#"<text class="inbar" x="{:.1}" y="19">{}</text>"#,
                x + 8.0,
                format::percent(share)
            );
        }
        x += w;
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars: each command's share of sessions.
pub fn command_shares(id: &str, commands: &[CommandReport]) -> String {
    let rows: Vec<&CommandReport> = commands.iter().take(CHART_COMMANDS).collect();
    let (label_w, value_w, row_h, top) = (190.0, 56.0, 24.0, 4.0);
    let height = top * 2.0 + row_h * rows.len().max(1) as f64;
    let plot_w = WIDTH - label_w - value_w;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" role="img" aria-label="Share of sessions per command" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{:.1}" text-anchor="middle">No commands yet</text>"#,
            WIDTH / 2.0,
            height / 2.0 + 4.0
        );
    }
    for (i, c) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let share = c.session_share.unwrap_or(0.0);
        let w = plot_w * share;
        let name = esc(&c.command);
        let _ = write!(
            s,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{name}</text><rect class="share" x="{label_w}" y="{:.1}" width="{w:.1}" height="{:.1}" data-command="{name}" data-value="{share}" data-sessions="{}"><title>{name}: {} of sessions ({} sessions, {} runs)</title></rect><text class="value" x="{:.1}" y="{:.1}">{}</text>"#,
            label_w - 8.0,
            y + 16.0,
            y + 4.0,
            row_h - 8.0,
            c.sessions,
            format::percent(c.session_share),
            format::count(c.sessions),
            format::count(c.runs),
            label_w + w + 6.0,
            y + 16.0,
            format::percent(c.session_share)
        );
    }
    s.push_str("</svg>");
    s
}

/// A label for a power of ten of milliseconds: `0.1 ms`, `10 ms`, `1 s`, `100 s`.
fn tick(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", (ms * 100.0).round() / 100.0)
    } else {
        format!("{} s", (ms / 1000.0).round())
    }
}

/// Median to 95th percentile per command, on a logarithmic time axis.
pub fn durations(id: &str, commands: &[CommandReport]) -> String {
    let rows: Vec<&CommandReport> = commands
        .iter()
        .filter(|c| c.duration_ms.median.is_some())
        .take(CHART_COMMANDS)
        .collect();
    let (label_w, right, row_h, top, bottom) = (190.0, 16.0, 24.0, 4.0, 24.0);
    let height = top + bottom + row_h * rows.len().max(1) as f64;
    let plot_w = WIDTH - label_w - right;
    let floor = 0.01f64;
    let lo_v = rows
        .iter()
        .filter_map(|c| c.duration_ms.median)
        .fold(f64::INFINITY, f64::min)
        .max(floor);
    let hi_v = rows
        .iter()
        .filter_map(|c| c.duration_ms.p95)
        .fold(floor, f64::max);
    let lo = lo_v.log10().floor();
    let hi = hi_v.log10().ceil().max(lo + 1.0);
    let x_of = |v: f64| label_w + plot_w * (v.max(floor).log10() - lo) / (hi - lo);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" role="img" aria-label="Median and 95th-percentile duration per command" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{:.1}" text-anchor="middle">No durations yet</text>"#,
            WIDTH / 2.0,
            height / 2.0
        );
    } else {
        let mut decade = lo;
        while decade <= hi {
            let v = 10f64.powf(decade);
            let x = x_of(v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{:.1}"/><text class="axis" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                height - bottom,
                height - bottom + 16.0,
                tick(v)
            );
            decade += 1.0;
        }
    }
    for (i, c) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let (median, p95) = (c.duration_ms.median, c.duration_ms.p95);
        let (x1, x2) = (x_of(median.unwrap_or(floor)), x_of(p95.unwrap_or(floor)));
        let name = esc(&c.command);
        let _ = write!(
            s,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{name}</text><g data-command="{name}" data-median="{}" data-p95="{}"><title>{name}: median {}, 95th percentile {}</title><rect class="range" x="{x1:.1}" y="{:.1}" width="{:.1}" height="8"/><circle class="median" cx="{x1:.1}" cy="{:.1}" r="5"/></g>"#,
            label_w - 8.0,
            y + 16.0,
            median.unwrap_or(0.0),
            p95.unwrap_or(0.0),
            format::duration(median),
            format::duration(p95),
            y + 8.0,
            (x2 - x1).max(2.0),
            y + 12.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(500), 500);
        assert_eq!(nice_ceiling(501), 1000);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.01), "0.01 ms");
        assert_eq!(tick(10.0), "10 ms");
        assert_eq!(tick(1000.0), "1 s");
        assert_eq!(tick(100_000.0), "100 s");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
