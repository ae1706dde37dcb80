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

/// Width of a chart in its own units. Charts scale to their box; this is about the
/// width of a box on a phone and of a half-page column on a desktop, so text drawn at
/// 12 units reads at 11 to 16 pixels on either.
const WIDTH: f64 = 400.0;
/// Font sizes, in chart units (the style sheet sets the same).
const AXIS_FONT: f64 = 12.0;
const LABEL_FONT: f64 = 13.0;

/// A generous estimate of the width of `text` in a font of `size` units (digits and
/// lowercase letters of system sans-serif fonts are narrower than 0.62 em).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

/// Where to centre a label of `width` at `x` so that it stays inside the chart.
fn inside(x: f64, width: f64) -> f64 {
    x.clamp(width / 2.0 + 1.0, WIDTH - width / 2.0 - 1.0)
}

/// `text` cut to fit `width` units at `size`, with an ellipsis when cut.
fn fit_text(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * 0.62)).floor().max(1.0) as usize;
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

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

fn open_svg(s: &mut String, id: &str, class: &str, aria: &str, width: f64, height: f64) {
    let _ = write!(
        s,
        r#"<svg id="{id}" class="{class}" role="img" aria-label="{}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria)
    );
}

/// Stacked columns, one per week.
pub fn columns(id: &str, aria: &str, weeks: &[WeekReport], series: &[Series<'_>]) -> String {
    let (right, top, bottom) = (4.0, 10.0, 24.0);
    let height = 200.0;
    let totals: Vec<u64> = (0..weeks.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let ymax = nice_ceiling(totals.iter().copied().max().unwrap_or(0));
    // Room on the left for the longest value label.
    let left = text_width(&format::count(ymax), AXIS_FONT) + 8.0;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let n = weeks.len().max(1);
    let band = plot_w / n as f64;
    let bar_w = (band * 0.8).max(1.0);
    let mut s = String::new();
    open_svg(&mut s, id, "chart", aria, WIDTH, height);
    // Horizontal grid with three labels (two when the middle one would not be whole).
    let steps = if ymax >= 2 { 2 } else { 1 };
    for k in 0..=steps {
        let v = ymax * k / steps;
        let y = top + plot_h - plot_h * (v as f64 / ymax as f64);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left:.1}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - right,
            left - 5.0,
            y + 4.0,
            format::count(v)
        );
    }
    // As many week labels as fit side by side; the year only where it changes.
    let label_room = text_width("2026-W52", AXIS_FONT) + 10.0;
    let label_every = ((label_room / band).ceil() as usize).max(1);
    let mut last_year = None;
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
                r#"<rect class="{}" x="{x:.1}" y="{base:.1}" width="{bar_w:.1}" height="{h:.1}" data-week="{week}" data-series="{}" data-value="{v}"><title>{week} (from {}) · {}: {}</title></rect>"#,
                se.class,
                se.name,
                w.start,
                esc(se.label),
                format::count(v)
            );
        }
        if i % label_every == 0 {
            let (year, short) = week.split_once('-').unwrap_or((&week, &week));
            let label = if last_year == Some(year.to_owned()) {
                short.to_owned()
            } else {
                week.clone()
            };
            last_year = Some(year.to_owned());
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                inside(x + bar_w / 2.0, text_width(&label, AXIS_FONT)),
                height - bottom + 17.0,
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

/// A legend for stacked series; a series that is zero throughout is left out.
pub fn legend(series: &[Series<'_>]) -> String {
    let mut s = String::from(r#"<p class="legend">"#);
    for se in series.iter().filter(|se| se.values.iter().any(|&v| v > 0)) {
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

/// One part of a [`share_bar`]: machine name, words, CSS class, count and share.
pub type Part<'a> = (&'a str, &'a str, &'a str, u64, Option<f64>);

/// The split of regressions prevented as one bar of 100 %, stretched to the width of
/// the page. It carries no text (stretched text would be distorted): the legend from
/// [`share_legend`] says the shares.
pub fn share_bar(id: &str, parts: &[Part<'_>]) -> String {
    let (width, height) = (1000.0, 24.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart share" role="img" aria-label="Regressions prevented by category" viewBox="0 0 {width} {height}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#
    );
    let total: u64 = parts.iter().map(|p| p.3).sum();
    if total == 0 {
        let _ = write!(
            s,
            r#"<rect class="none" x="0" y="0" width="{width}" height="{height}"/>"#
        );
    }
    let mut x = 0.0;
    for &(name, label, class, count, share) in parts {
        if total == 0 {
            break;
        }
        let w = width * count as f64 / total as f64;
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{x:.1}" y="0" width="{w:.1}" height="{height}" data-series="{name}" data-value="{count}" data-share="{}"><title>{}: {} ({})</title></rect>"#,
            share.unwrap_or(0.0),
            esc(label),
            format::count(count),
            format::percent(share)
        );
        x += w;
    }
    s.push_str("</svg>");
    s
}

/// The legend of a [`share_bar`]: each part with a count above zero, and its share.
pub fn share_legend(parts: &[Part<'_>]) -> String {
    let mut s = String::from(r#"<p class="legend">"#);
    if parts.iter().all(|p| p.3 == 0) {
        s.push_str("No regressions prevented yet");
    }
    for &(name, label, class, _, share) in parts.iter().filter(|p| p.3 > 0) {
        let _ = write!(
            s,
            r#"<span data-series="{name}"><i class="swatch {class}"></i>{} <b class="num">{}</b></span>"#,
            esc(label),
            format::percent(share)
        );
    }
    s.push_str("</p>");
    s
}

/// One row per command: its name and figure on a line, and a bar under them that can
/// use the whole width of the chart.
const ROW_H: f64 = 36.0;

/// The name and figure line of a command row.
fn row_text(s: &mut String, y: f64, name: &str, figure: &str) {
    let figure_w = text_width(figure, AXIS_FONT) + 8.0;
    let _ = write!(
        s,
        r#"<text class="label" x="0" y="{:.1}">{}</text><text class="value" x="{WIDTH}" y="{:.1}" text-anchor="end">{}</text>"#,
        y + 13.0,
        esc(&fit_text(name, WIDTH - figure_w, LABEL_FONT)),
        y + 13.0,
        esc(figure)
    );
}

/// Horizontal bars: each command's share of sessions. The longest bar spans the chart.
pub fn command_shares(id: &str, commands: &[CommandReport]) -> String {
    let rows: Vec<&CommandReport> = commands.iter().take(CHART_COMMANDS).collect();
    let height = ROW_H * rows.len().max(1) as f64;
    let most = rows
        .iter()
        .filter_map(|c| c.session_share)
        .fold(0.0f64, f64::max);
    let mut s = String::new();
    open_svg(
        &mut s,
        id,
        "chart",
        "Share of sessions per command",
        WIDTH,
        height,
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
        let y = ROW_H * i as f64;
        let share = c.session_share.unwrap_or(0.0);
        let w = if most > 0.0 {
            WIDTH * share / most
        } else {
            0.0
        };
        let name = esc(&c.command);
        row_text(&mut s, y, &c.command, &format::percent(c.session_share));
        let _ = write!(
            s,
            r#"<rect class="share" x="0" y="{:.1}" width="{w:.1}" height="10" rx="2" data-command="{name}" data-value="{share}" data-sessions="{}"><title>{name}: {} of sessions ({}, {})</title></rect>"#,
            y + 19.0,
            c.sessions,
            format::percent(c.session_share),
            format::plural(c.sessions, "session", "sessions"),
            format::plural(c.runs, "run", "runs"),
        );
    }
    s.push_str("</svg>");
    s
}

/// A label for a power of ten of milliseconds: `0.1 ms`, `10 ms`, `1 s`, `1,000 s`.
fn tick(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", (ms * 100.0).round() / 100.0)
    } else {
        format!("{} s", format::decimal(ms / 1000.0, 0))
    }
}

/// Median to 95th percentile per command, on a logarithmic time axis.
pub fn durations(id: &str, commands: &[CommandReport]) -> String {
    let rows: Vec<&CommandReport> = commands
        .iter()
        .filter(|c| c.duration_ms.median.is_some())
        .take(CHART_COMMANDS)
        .collect();
    let (pad, axis_h) = (6.0, 24.0);
    let height = axis_h + ROW_H * rows.len().max(1) as f64;
    let plot_w = WIDTH - 2.0 * pad;
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
    let x_of = |v: f64| pad + plot_w * (v.max(floor).log10() - lo) / (hi - lo);
    let mut s = String::new();
    open_svg(
        &mut s,
        id,
        "chart",
        "Median and 95th-percentile duration per command",
        WIDTH,
        height,
    );
    let bottom = height - axis_h;
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{:.1}" text-anchor="middle">No durations yet</text>"#,
            WIDTH / 2.0,
            height / 2.0
        );
    } else {
        // Label as many decades as fit; draw a line at each.
        let decades = (hi - lo).round() as usize;
        let room = text_width("0.01 ms", AXIS_FONT) + 8.0;
        let every = ((room * decades as f64 / plot_w).ceil() as usize).max(1);
        for k in 0..=decades {
            let v = 10f64.powf(lo + k as f64);
            let x = x_of(v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="0" y2="{bottom:.1}"/>"#
            );
            if k % every == 0 {
                let label = tick(v);
                let _ = write!(
                    s,
                    r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                    inside(x, text_width(&label, AXIS_FONT)),
                    bottom + 17.0,
                );
            }
        }
    }
    for (i, c) in rows.iter().enumerate() {
        let y = ROW_H * i as f64;
        let (median, p95) = (c.duration_ms.median, c.duration_ms.p95);
        let (x1, x2) = (x_of(median.unwrap_or(floor)), x_of(p95.unwrap_or(floor)));
        let name = esc(&c.command);
        row_text(
            &mut s,
            y,
            &c.command,
            &format!("{} – {}", format::duration(median), format::duration(p95)),
        );
        let _ = write!(
            s,
            r#"<g data-command="{name}" data-median="{}" data-p95="{}"><title>{name}: median {}, 95th percentile {}</title><rect class="range" x="{x1:.1}" y="{:.1}" width="{:.1}" height="8" rx="2"/><circle class="median" cx="{x1:.1}" cy="{:.1}" r="5"/></g>"#,
            median.unwrap_or(0.0),
            p95.unwrap_or(0.0),
            format::duration(median),
            format::duration(p95),
            y + 20.0,
            (x2 - x1).max(2.0),
            y + 24.0,
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
        assert_eq!(tick(1_000_000.0), "1,000 s");
    }

    #[test]
    fn labels_stay_inside_the_chart() {
        assert_eq!(inside(0.0, 40.0), 21.0);
        assert_eq!(inside(WIDTH, 40.0), WIDTH - 21.0);
        assert_eq!(inside(200.0, 40.0), 200.0);
        assert_eq!(fit_text("plan.init", 200.0, 13.0), "plan.init");
        let cut = fit_text(&"x".repeat(100), 100.0, 10.0);
        assert!(cut.ends_with('…') && cut.chars().count() == 16, "{cut}");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
