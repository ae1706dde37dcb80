//! Inline SVG charts of the figures, with no script and no external resource: the ones
//! of the command-line tool's report and dashboard, and of the server's community page.
//!
//! Every mark carries its number in `data-*` attributes and a `<title>` tooltip, so a
//! reader can hover for exact values and a test can check the picture against the JSON.
//! The charts take plain rows ([`Column`], [`CommandRow`], [`Part`]), made from a
//! [`Report`](crate::Report) or a community [`Publication`](crate::community::Publication)
//! alike with `From`.
//!
//! ```
//! use specfact_telemetry_report::svg::{CommandRow, durations};
//!
//! let rows = [CommandRow {
//!     command: "repro.run",
//!     runs: 20,
//!     sessions: 12,
//!     session_share: Some(0.5),
//!     success_rate: Some(0.9),
//!     median_ms: Some(120.5),
//!     p95_ms: Some(4200.0),
//! }];
//! let chart = durations("chart-durations", &rows);
//! assert!(chart.contains(r#"data-command="repro.run" data-median="120.5" data-p95="4200""#));
//! assert!(chart.contains("median 120.50 ms, 95th percentile 4.2 s"));
//! ```

use std::fmt::Write;

use crate::community::schema;
use crate::format;
use crate::html::{esc, figure};
use crate::{CommandReport, WeekReport};

/// Weeks shown in the weekly charts (the most recent ones).
pub const CHART_WEEKS: usize = 52;
/// Commands shown in the command charts (the first ones: those in the most sessions).
pub const CHART_COMMANDS: usize = 12;

/// Width of a chart in its own units. Charts scale to their box; this is about the
/// width of a box on a phone and of a half-page column on a desktop, so text drawn at
/// 12 units reads at 11 to 16 pixels on either.
const WIDTH: f64 = 400.0;
/// Font sizes, in chart units (the style sheet sets the same).
const AXIS_FONT: f64 = 12.0;
const LABEL_FONT: f64 = 13.0;
/// One row per command: its name and figure on a line, and a bar under them that can
/// use the whole width of the chart.
const ROW_H: f64 = 36.0;

/// A generous estimate of the width of `text` in a font of `size` units: the sum of
/// [`em`] over its characters.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(em).sum::<f64>() * size
}

/// A generous estimate of the width of a character, in em. Lowercase letters and most
/// punctuation of system sans-serif fonts are narrower than 0.62 em; digits, capitals
/// and the widest letters are given their width in DejaVu Sans (the widest of the usual
/// ones), so that a label such as `W48` at the edge of a chart stays inside it.
fn em(c: char) -> f64 {
    match c {
        'm' | 'w' | 'M' | 'W' | '%' | '—' | '@' => 1.0,
        'A'..='Z' => 0.8,
        '0'..='9' => 0.64,
        _ => 0.62,
    }
}

/// Where to centre a label of `width` at `x` so that it stays inside the chart.
fn inside(x: f64, width: f64) -> f64 {
    x.clamp(width / 2.0 + 1.0, WIDTH - width / 2.0 - 1.0)
}

/// `text` cut to fit `width` units at `size`, with an ellipsis when cut.
fn fit_text(text: &str, width: f64, size: f64) -> String {
    if text_width(text, size) <= width {
        return text.to_owned();
    }
    let room = width - em('…') * size;
    let mut used = 0.0;
    let mut s = String::new();
    for c in text.chars() {
        used += em(c) * size;
        if used > room {
            break;
        }
        s.push(c);
    }
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

/// A label for a power of ten of milliseconds: `0.1 ms`, `10 ms`, `1 s`, `1,000 s`.
fn tick(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", (ms * 100.0).round() / 100.0)
    } else {
        format!("{} s", format::decimal(ms / 1000.0, 0))
    }
}

fn open_svg(s: &mut String, id: &str, aria: &str, height: f64) {
    let _ = write!(
        s,
        r#"<svg id="{}" class="chart" role="img" aria-label="{}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(id),
        esc(aria)
    );
}

/// One column of a weekly chart: an ISO week (`2026-W10`) and its Monday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The week, `YYYY-Www`.
    pub week: String,
    /// Its Monday, `YYYY-MM-DD`.
    pub start: String,
}

impl From<&WeekReport> for Column {
    fn from(w: &WeekReport) -> Column {
        Column {
            week: w.week.to_string(),
            start: w.start.to_string(),
        }
    }
}

impl From<&schema::Week> for Column {
    fn from(w: &schema::Week) -> Column {
        Column {
            week: w.week.clone(),
            start: w.start.clone(),
        }
    }
}

/// One stacked series of a column chart.
#[derive(Debug, Clone)]
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

/// The categories of regressions prevented, in the order every chart shows them:
/// (machine name, words, CSS class).
const REGRESSION_KINDS: [(&str, &str, &str); 3] = [
    ("contract_violations", "Contract violations", "contract"),
    ("plan_drift", "Plan drift", "drift"),
    ("other", "Other", "other"),
];

/// The stacked series of regressions prevented per week — contract violations, plan
/// drift and the rest — from each week's (total, contract violations, plan drift).
pub fn regression_series(weeks: &[(u64, u64, u64)]) -> Vec<Series<'static>> {
    let values = |i: usize| -> Vec<u64> {
        weeks
            .iter()
            .map(|&(total, contract, drift)| match i {
                0 => contract,
                1 => drift,
                _ => total.saturating_sub(contract).saturating_sub(drift),
            })
            .collect()
    };
    REGRESSION_KINDS
        .iter()
        .enumerate()
        .map(|(i, &(name, label, class))| Series {
            name,
            label,
            class,
            values: values(i),
        })
        .collect()
}

/// Stacked columns, one per week; `empty` is said when there is no week.
pub fn columns(
    id: &str,
    aria: &str,
    weeks: &[Column],
    series: &[Series<'_>],
    empty: &str,
) -> String {
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
    open_svg(&mut s, id, aria, height);
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
        let week = esc(&w.week);
        for se in series {
            let v = se.values.get(i).copied().unwrap_or(0);
            let h = plot_h * v as f64 / ymax as f64;
            base -= h;
            let _ = write!(
                s,
                r#"<rect class="{}" x="{x:.1}" y="{base:.1}" width="{bar_w:.1}" height="{h:.1}" data-week="{week}" data-series="{}" data-value="{v}"><title>{week} (from {}) · {}: {}</title></rect>"#,
                esc(se.class),
                esc(se.name),
                esc(&w.start),
                esc(se.label),
                format::count(v)
            );
        }
        if i % label_every == 0 {
            let (year, short) = w.week.split_once('-').unwrap_or((&w.week, &w.week));
            let label = if last_year == Some(year) {
                short
            } else {
                w.week.as_str()
            };
            last_year = Some(year);
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                inside(x + bar_w / 2.0, text_width(label, AXIS_FONT)),
                height - bottom + 17.0,
                esc(label)
            );
        }
    }
    if weeks.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            WIDTH / 2.0,
            height / 2.0,
            esc(empty)
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
            esc(se.class),
            esc(se.label)
        );
    }
    s.push_str("</p>");
    s
}

/// One part of a [`share_bar`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part<'a> {
    /// Machine name (`data-series`).
    pub name: &'a str,
    /// Words for the tooltip and the legend.
    pub label: &'a str,
    /// CSS class that colours it.
    pub class: &'a str,
    /// How many; `None` when the figure is held back (not shown, not named).
    pub count: Option<u64>,
    /// Its share of the whole.
    pub share: Option<f64>,
}

/// The parts of regressions prevented — contract violations, plan drift, other — from
/// each one's (count, share), `None` where held back.
pub fn regression_parts(cells: [Option<(u64, Option<f64>)>; 3]) -> [Part<'static>; 3] {
    let part = |i: usize| {
        let (name, label, class) = REGRESSION_KINDS[i];
        Part {
            name,
            label,
            class,
            count: cells[i].map(|c| c.0),
            share: cells[i].and_then(|c| c.1),
        }
    };
    [part(0), part(1), part(2)]
}

/// The split of regressions prevented (`total`) as one bar of 100 %, stretched to the
/// width of the page. Parts held back are not drawn: what they and an empty total leave
/// of the bar stays neutral. It carries no text (stretched text would be distorted): the
/// legend from [`share_legend`] says the shares.
pub fn share_bar(id: &str, parts: &[Part<'_>], total: u64) -> String {
    let (width, height) = (1000.0, 24.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{}" class="chart share" role="img" aria-label="Regressions prevented by category" viewBox="0 0 {width} {height}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#,
        esc(id)
    );
    let mut x = 0.0;
    let mut drawn = 0u64;
    if total > 0 {
        for p in parts {
            let Some(count) = p.count else { continue };
            let w = width * count as f64 / total as f64;
            let _ = write!(
                s,
                r#"<rect class="{}" x="{x:.1}" y="0" width="{w:.1}" height="{height}" data-series="{}" data-value="{count}" data-share="{}"><title>{}: {} ({})</title></rect>"#,
                esc(p.class),
                esc(p.name),
                p.share.unwrap_or(0.0),
                esc(p.label),
                format::count(count),
                format::percent(p.share)
            );
            x += w;
            drawn = drawn.saturating_add(count);
        }
    }
    if total == 0 || drawn < total {
        let _ = write!(
            s,
            r#"<rect class="none" x="{x:.1}" y="0" width="{:.1}" height="{height}"/>"#,
            width - x
        );
    }
    s.push_str("</svg>");
    s
}

/// The legend of a [`share_bar`]: each part with a count above zero and its share, each
/// held-back part as such, or that there is none yet.
pub fn share_legend(parts: &[Part<'_>]) -> String {
    let mut s = String::from(r#"<p class="legend">"#);
    if parts.iter().all(|p| p.count == Some(0)) {
        s.push_str("No regressions prevented yet");
    }
    for p in parts {
        let (name, label) = (esc(p.name), esc(p.label));
        match p.count {
            Some(c) if c > 0 => {
                let _ = write!(
                    s,
                    r#"<span data-series="{name}"><i class="swatch {}"></i>{label} <b class="num">{}</b></span>"#,
                    esc(p.class),
                    format::percent(p.share)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<span data-series="{name}"><i class="swatch"></i>{label}: held back</span>"#
                );
            }
            Some(_) => {}
        }
    }
    s.push_str("</p>");
    s
}

/// A command's figures, as the command charts and the commands table
/// ([`html::command_row`](crate::html::command_row)) show them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandRow<'a> {
    /// The command.
    pub command: &'a str,
    /// Its runs.
    pub runs: u64,
    /// Distinct sessions that ran it.
    pub sessions: u64,
    /// Its share of all sessions.
    pub session_share: Option<f64>,
    /// Share of its runs that succeeded.
    pub success_rate: Option<f64>,
    /// Median duration, milliseconds.
    pub median_ms: Option<f64>,
    /// 95th-percentile duration, milliseconds.
    pub p95_ms: Option<f64>,
}

/// `From` a command's row of a report and of a publication, which name their figures alike.
macro_rules! command_row_from {
    ($row:ty) => {
        impl<'a> From<&'a $row> for CommandRow<'a> {
            fn from(c: &'a $row) -> CommandRow<'a> {
                CommandRow {
                    command: &c.command,
                    runs: c.runs,
                    sessions: c.sessions,
                    session_share: c.session_share,
                    success_rate: c.success_rate,
                    median_ms: c.duration_ms.median,
                    p95_ms: c.duration_ms.p95,
                }
            }
        }
    };
}
command_row_from!(CommandReport);
command_row_from!(schema::Command);

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

/// Horizontal bars: the share of sessions of each of the first [`CHART_COMMANDS`]
/// commands. The longest bar spans the chart. `empty` is said when there is no command.
pub fn command_shares(id: &str, commands: &[CommandRow<'_>], empty: &str) -> String {
    let rows = &commands[..commands.len().min(CHART_COMMANDS)];
    let height = ROW_H * rows.len().max(1) as f64;
    let most = rows
        .iter()
        .filter_map(|c| c.session_share)
        .fold(0.0f64, f64::max);
    let mut s = String::new();
    open_svg(&mut s, id, "Share of sessions per command", height);
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{:.1}" text-anchor="middle">{}</text>"#,
            WIDTH / 2.0,
            height / 2.0 + 4.0,
            esc(empty)
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
        let name = esc(c.command);
        row_text(&mut s, y, c.command, &format::percent(c.session_share));
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

/// Median to 95th percentile of the first [`CHART_COMMANDS`] commands with a median, on
/// a logarithmic time axis.
pub fn durations(id: &str, commands: &[CommandRow<'_>]) -> String {
    let rows: Vec<&CommandRow<'_>> = commands
        .iter()
        .filter(|c| c.median_ms.is_some())
        .take(CHART_COMMANDS)
        .collect();
    let (pad, axis_h) = (6.0, 24.0);
    let height = axis_h + ROW_H * rows.len().max(1) as f64;
    let plot_w = WIDTH - 2.0 * pad;
    let floor = 0.01f64;
    let lo_v = rows
        .iter()
        .filter_map(|c| c.median_ms)
        .fold(f64::INFINITY, f64::min)
        .max(floor);
    let hi_v = rows.iter().filter_map(|c| c.p95_ms).fold(floor, f64::max);
    let lo = lo_v.log10().floor();
    let hi = hi_v.log10().ceil().max(lo + 1.0);
    let x_of = |v: f64| pad + plot_w * (v.max(floor).log10() - lo) / (hi - lo);
    let mut s = String::new();
    open_svg(
        &mut s,
        id,
        "Median and 95th-percentile duration per command",
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
        let (median, p95) = (c.median_ms, c.p95_ms);
        let (x1, x2) = (x_of(median.unwrap_or(floor)), x_of(p95.unwrap_or(floor)));
        let name = esc(c.command);
        row_text(
            &mut s,
            y,
            c.command,
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

/// Appends the two command figures: the share of sessions of each command ([`command_shares`],
/// which says `empty` when there is no command) and their durations ([`durations`]).
pub fn command_charts(out: &mut String, commands: &[CommandRow<'_>], empty: &str) {
    figure(
        out,
        "Command shares",
        "Share of sessions in which each command ran; the longest bar is the largest share.",
        &command_shares("chart-commands", commands, empty),
    );
    figure(
        out,
        "Durations",
        "Median (dot) to 95th percentile (bar end) per command, on a logarithmic scale.",
        &durations("chart-durations", commands),
    );
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
        // Capitals and digits are given their width in DejaVu Sans: a short week label
        // at the right edge is kept inside.
        assert!(text_width("W48", 12.0) >= (0.989 + 2.0 * 0.636) * 12.0);
        assert!((text_width("plan.init", 10.0) - 9.0 * 6.2).abs() < 1e-9);
        assert_eq!(fit_text("WWWW", 35.0, 10.0), "WW…");
    }

    fn week(w: &str) -> Column {
        Column {
            week: w.to_owned(),
            start: "2026-03-02".to_owned(),
        }
    }

    #[test]
    fn columns_stack_the_series_and_name_the_year_once() {
        let weeks = [week("2026-W10"), week("2026-W11")];
        let series = regression_series(&[(5, 3, 1), (2, 0, 2)]);
        assert_eq!(series[2].values, [1, 0], "other = total − contract − drift");
        let chart = columns("c", "aria", &weeks, &series, "none");
        assert!(
            chart.contains(
                r#"data-week="2026-W10" data-series="contract_violations" data-value="3""#
            )
        );
        assert!(chart.contains(r#"data-week="2026-W11" data-series="plan_drift" data-value="2""#));
        assert!(chart.contains(">2026-W10</text>") && chart.contains(">W11</text>"));
        assert!(chart.contains("2026-W10 (from 2026-03-02) · Contract violations: 3"));
        assert!(!chart.contains("none"));
        let empty = columns("c", "aria", &[], &regression_series(&[]), "No week <yet>");
        assert!(empty.contains("No week &lt;yet&gt;"));
        assert_eq!(
            legend(&series),
            r#"<p class="legend"><span><i class="swatch contract"></i>Contract violations</span><span><i class="swatch drift"></i>Plan drift</span><span><i class="swatch other"></i>Other</span></p>"#
        );
    }

    #[test]
    fn a_held_back_part_leaves_its_room_neutral_and_says_so() {
        let parts = regression_parts([Some((6, Some(0.6))), None, Some((0, Some(0.0)))]);
        let bar = share_bar("s", &parts, 10);
        assert!(bar.contains(r#"<rect class="contract" x="0.0" y="0" width="600.0""#));
        assert!(bar.contains(r#"<rect class="other" x="600.0" y="0" width="0.0""#));
        assert!(bar.contains(r#"<rect class="none" x="600.0" y="0" width="400.0""#));
        assert!(!bar.contains("drift"));
        let legend = share_legend(&parts);
        assert!(legend.contains(r#"Contract violations <b class="num">60%</b>"#));
        assert!(legend.contains("Plan drift: held back"));
        assert!(!legend.contains("Other") && !legend.contains("No regressions"));
    }

    #[test]
    fn nothing_prevented_is_a_neutral_bar_and_says_so() {
        let zero = Some((0, None));
        let parts = regression_parts([zero, zero, zero]);
        let bar = share_bar("s", &parts, 0);
        assert!(bar.contains(r#"<rect class="none" x="0.0" y="0" width="1000.0""#));
        assert!(!bar.contains("data-series"));
        assert_eq!(
            share_legend(&parts),
            r#"<p class="legend">No regressions prevented yet</p>"#
        );
    }

    #[test]
    fn command_charts_escape_names_and_keep_exact_values() {
        let rows: Vec<CommandRow<'_>> = (0..20)
            .map(|i| CommandRow {
                command: if i == 0 { "<x>" } else { "plan.init" },
                runs: 3,
                sessions: 2,
                session_share: Some(0.5),
                success_rate: None,
                median_ms: (i != 1).then_some(13.5),
                p95_ms: Some(4200.0),
            })
            .collect();
        let shares = command_shares("c", &rows, "none");
        assert_eq!(shares.matches("<rect").count(), CHART_COMMANDS);
        assert!(shares.contains(r#"data-command="&lt;x&gt;" data-value="0.5" data-sessions="2""#));
        assert!(shares.contains("50% of sessions (2 sessions, 3 runs)"));
        assert!(!shares.contains("<x>"));
        let d = durations("d", &rows);
        assert_eq!(d.matches("<g data-command").count(), CHART_COMMANDS);
        assert!(d.contains("13.50 ms – 4.2 s"));
        assert!(command_shares("c", &[], "No command <yet>").contains("No command &lt;yet&gt;"));
        assert!(durations("d", &[]).contains("No durations yet"));
        let mut both = String::new();
        command_charts(&mut both, &rows[..2], "none");
        assert_eq!(both.matches("<figure>").count(), 2);
        assert!(
            both.contains(r#"<svg id="chart-commands""#)
                && both.contains(r#"<svg id="chart-durations""#)
        );
    }
}
