//! The public dashboard: one self-contained page drawn from a [`Publication`] alone, with
//! the look of the command-line tool's `view` (the same style sheet), inline SVG charts,
//! no script and nothing fetched. It can hold nothing the JSON does not hold.

use std::fmt::Write;

use specfact_telemetry_report::community::Publication;
use specfact_telemetry_report::community::schema::{Command, Week};

/// The style sheet of the command-line tool's report and dashboard: one look for both.
const CSS: &str = include_str!("../../../specfact-telemetry-cli/assets/report.css");

/// The Content-Security-Policy of the page, sent as a header: nothing may load, inline
/// styles only, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The same policy in the page's `<meta>`, for static copies (browsers ignore
/// `frame-ancestors` there: a static host sets that header itself).
const META_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Chart width in its own units (the style sheet's text sizes assume it).
const WIDTH: f64 = 400.0;
const ROW_H: f64 = 36.0;
/// Weeks and commands drawn in the charts (the tables list them all).
const CHART_WEEKS: usize = 52;
const CHART_COMMANDS: usize = 12;

/// Escapes text for HTML and SVG.
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

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage (`67%`, `7.1%`), `–` when there is none.
pub fn percent(share: Option<f64>) -> String {
    match share {
        None => "–".into(),
        Some(s) => {
            let p = s * 100.0;
            if p == 0.0 || p >= 10.0 || (p - p.round()).abs() < 0.05 {
                format!("{p:.0}%")
            } else {
                format!("{p:.1}%")
            }
        }
    }
}

/// A duration in milliseconds for people (`13 ms`, `4.2 s`, `3.1 min`).
pub fn duration(ms: Option<f64>) -> String {
    match ms {
        None => "–".into(),
        Some(ms) if ms < 1000.0 => format!("{} ms", (ms * 100.0).round() / 100.0),
        Some(ms) if ms < 60_000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) if ms < 3_600_000.0 => format!("{:.1} min", ms / 60_000.0),
        Some(ms) => format!("{:.1} h", ms / 3_600_000.0),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

fn fit_text(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * 0.62)).floor().max(1.0) as usize;
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

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

fn card(out: &mut String, metric: &str, label: &str, value: &str, shown: &str, sub: &str) {
    let _ = write!(
        out,
        r#"<div class="card"><div class="label">{}</div><div class="value" data-metric="{metric}" data-value="{}">{}</div><div class="sub">{}</div></div>"#,
        esc(label),
        esc(value),
        esc(shown),
        esc(sub)
    );
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

fn open_svg(s: &mut String, id: &str, aria: &str, height: f64) {
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" role="img" aria-label="{}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(aria)
    );
}

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
            "–",
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
                &opt(c.share),
                &percent(c.share),
                &format!("{} of the regressions prevented", count(c.count)),
            ),
            None => card(&mut s, metric, label, "", "–", held),
        }
    }
    if let Some(w) = &p.weekly {
        card(
            &mut s,
            "per_week",
            "Prevented per week",
            &opt(w.average_regressions),
            &w.average_regressions
                .map_or("–".into(), |a| format!("{:.1}", a)),
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
        &opt(p.success_rate),
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
    // The split as one bar of 100 %, with its legend.
    let parts = [
        (
            "contract_violations",
            "Contract violations",
            "contract",
            reg.contract_violations,
        ),
        ("plan_drift", "Plan drift", "drift", reg.plan_drift),
        ("other", "Other", "other", reg.other),
    ];
    let shown: u64 = parts.iter().filter_map(|p| p.3.map(|c| c.count)).sum();
    let (w, h) = (1000.0, 24.0);
    let _ = write!(
        s,
        r#"<svg id="chart-share" class="chart share" role="img" aria-label="Regressions prevented by category" viewBox="0 0 {w} {h}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">"#
    );
    let total = reg.total;
    let mut x = 0.0;
    for (name, label, class, cell) in parts {
        let Some(c) = cell else { continue };
        if total == 0 {
            break;
        }
        let width = w * c.count as f64 / total as f64;
        let _ = write!(
            s,
            r#"<rect class="{class}" x="{x:.1}" y="0" width="{width:.1}" height="{h}" data-series="{name}" data-value="{}" data-share="{}"><title>{label}: {} ({})</title></rect>"#,
            c.count,
            c.share.unwrap_or(0.0),
            count(c.count),
            percent(c.share)
        );
        x += width;
    }
    if total == 0 || shown < total {
        // Nothing yet, or categories held back: the rest of the bar stays neutral.
        let _ = write!(
            s,
            r#"<rect class="none" x="{x:.1}" y="0" width="{:.1}" height="{h}"/>"#,
            w - x
        );
    }
    s.push_str(r#"</svg><p class="legend">"#);
    for (name, label, class, cell) in parts {
        match cell {
            Some(c) if c.count > 0 => {
                let _ = write!(
                    s,
                    r#"<span data-series="{name}"><i class="swatch {class}"></i>{label} <b class="num">{}</b></span>"#,
                    percent(c.share)
                );
            }
            None if p.regressions.is_some() => {
                let _ = write!(
                    s,
                    r#"<span data-series="{name}"><i class="swatch"></i>{label}: held back</span>"#
                );
            }
            _ => {}
        }
    }
    if total == 0 {
        s.push_str("No regressions prevented yet");
    }
    s.push_str("</p>");
    s
}

/// Stacked weekly columns of regressions prevented.
fn weeks_chart(weeks: &[Week]) -> String {
    let weeks = &weeks[weeks.len().saturating_sub(CHART_WEEKS)..];
    let (right, top, bottom, height) = (4.0, 10.0, 24.0, 200.0);
    let ymax = nice_ceiling(weeks.iter().map(|w| w.regressions).max().unwrap_or(0));
    let left = text_width(&count(ymax), 12.0) + 8.0;
    let (plot_w, plot_h) = (WIDTH - left - right, height - top - bottom);
    let band = plot_w / weeks.len().max(1) as f64;
    let bar_w = (band * 0.8).max(1.0);
    let mut s = String::new();
    open_svg(
        &mut s,
        "chart-regressions",
        "Regressions prevented per week by category",
        height,
    );
    for k in 0..=2u64 {
        let v = ymax * k / 2;
        let y = top + plot_h - plot_h * (v as f64 / ymax as f64);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{left:.1}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - right,
            left - 5.0,
            y + 4.0,
            count(v)
        );
    }
    let label_every = (((text_width("2026-W52", 12.0) + 10.0) / band).ceil() as usize).max(1);
    for (i, w) in weeks.iter().enumerate() {
        let x = left + band * i as f64 + (band - bar_w) / 2.0;
        let mut base = top + plot_h;
        let other = w.regressions - w.contract_violations - w.plan_drift;
        for (class, name, v) in [
            ("contract", "contract_violations", w.contract_violations),
            ("drift", "plan_drift", w.plan_drift),
            ("other", "other", other),
        ] {
            let h = plot_h * v as f64 / ymax as f64;
            base -= h;
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{x:.1}" y="{base:.1}" width="{bar_w:.1}" height="{h:.1}" data-week="{}" data-series="{name}" data-value="{v}"><title>{} (from {}): {}</title></rect>"#,
                esc(&w.week),
                esc(&w.week),
                esc(&w.start),
                count(v)
            );
        }
        if i % label_every == 0 {
            let label = &w.week;
            let cx = (x + bar_w / 2.0).clamp(
                text_width(label, 12.0) / 2.0 + 1.0,
                WIDTH - text_width(label, 12.0) / 2.0 - 1.0,
            );
            let _ = write!(
                s,
                r#"<text class="axis" x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                height - bottom + 17.0,
                esc(label)
            );
        }
    }
    if weeks.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">No week to show yet</text>"#,
            WIDTH / 2.0,
            height / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

fn row_text(s: &mut String, y: f64, name: &str, figure: &str) {
    let figure_w = text_width(figure, 12.0) + 8.0;
    let _ = write!(
        s,
        r#"<text class="label" x="0" y="{:.1}">{}</text><text class="value" x="{WIDTH}" y="{:.1}" text-anchor="end">{}</text>"#,
        y + 13.0,
        esc(&fit_text(name, WIDTH - figure_w, 13.0)),
        y + 13.0,
        esc(figure)
    );
}

fn shares_chart(commands: &[Command]) -> String {
    let rows = &commands[..commands.len().min(CHART_COMMANDS)];
    let height = ROW_H * rows.len().max(1) as f64;
    let most = rows
        .iter()
        .filter_map(|c| c.session_share)
        .fold(0.0, f64::max);
    let mut s = String::new();
    open_svg(
        &mut s,
        "chart-commands",
        "Share of sessions per command",
        height,
    );
    for (i, c) in rows.iter().enumerate() {
        let y = ROW_H * i as f64;
        let share = c.session_share.unwrap_or(0.0);
        let w = if most > 0.0 {
            WIDTH * share / most
        } else {
            0.0
        };
        row_text(&mut s, y, &c.command, &percent(c.session_share));
        let _ = write!(
            s,
            r#"<rect class="share" x="0" y="{:.1}" width="{w:.1}" height="10" rx="2" data-command="{}" data-value="{share}"><title>{}: {} of sessions</title></rect>"#,
            y + 19.0,
            esc(&c.command),
            esc(&c.command),
            percent(c.session_share)
        );
    }
    if rows.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{:.1}" text-anchor="middle">No command to show yet</text>"#,
            WIDTH / 2.0,
            height / 2.0 + 4.0
        );
    }
    s.push_str("</svg>");
    s
}

fn durations_chart(commands: &[Command]) -> String {
    let rows: Vec<&Command> = commands
        .iter()
        .filter(|c| c.duration_ms.median.is_some())
        .take(CHART_COMMANDS)
        .collect();
    let (pad, axis_h, floor) = (6.0, 24.0, 0.01f64);
    let height = axis_h + ROW_H * rows.len().max(1) as f64;
    let plot_w = WIDTH - 2.0 * pad;
    let lo = rows
        .iter()
        .filter_map(|c| c.duration_ms.median)
        .fold(f64::INFINITY, f64::min)
        .max(floor)
        .log10()
        .floor();
    let hi = rows
        .iter()
        .filter_map(|c| c.duration_ms.p95)
        .fold(floor, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    let x_of = |v: f64| pad + plot_w * (v.max(floor).log10() - lo) / (hi - lo);
    let mut s = String::new();
    open_svg(
        &mut s,
        "chart-durations",
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
        let decades = (hi - lo).round() as usize;
        let every = (((text_width("0.01 ms", 12.0) + 8.0) * decades as f64 / plot_w).ceil()
            as usize)
            .max(1);
        for k in 0..=decades {
            let v = 10f64.powf(lo + k as f64);
            let x = x_of(v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="0" y2="{bottom:.1}"/>"#
            );
            if k % every == 0 {
                let label = if v < 1000.0 {
                    duration(Some(v))
                } else {
                    format!("{} s", count((v / 1000.0) as u64))
                };
                let half = text_width(&label, 12.0) / 2.0 + 1.0;
                let _ = write!(
                    s,
                    r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                    x.clamp(half, WIDTH - half),
                    bottom + 17.0
                );
            }
        }
    }
    for (i, c) in rows.iter().enumerate() {
        let y = ROW_H * i as f64;
        let (median, p95) = (c.duration_ms.median, c.duration_ms.p95);
        let (x1, x2) = (x_of(median.unwrap_or(floor)), x_of(p95.unwrap_or(floor)));
        row_text(
            &mut s,
            y,
            &c.command,
            &format!("{} – {}", duration(median), duration(p95)),
        );
        let _ = write!(
            s,
            r#"<g data-command="{}" data-median="{}" data-p95="{}"><title>{}: median {}, 95th percentile {}</title><rect class="range" x="{x1:.1}" y="{:.1}" width="{:.1}" height="8" rx="2"/><circle class="median" cx="{x1:.1}" cy="{:.1}" r="5"/></g>"#,
            esc(&c.command),
            median.unwrap_or(0.0),
            p95.unwrap_or(0.0),
            esc(&c.command),
            duration(median),
            duration(p95),
            y + 20.0,
            (x2 - x1).max(2.0),
            y + 24.0
        );
    }
    s.push_str("</svg>");
    s
}

fn figure(out: &mut String, title: &str, caption: &str, body: &str) {
    let _ = write!(
        out,
        r#"<figure><figcaption><h2>{}</h2><p>{}</p></figcaption>{body}</figure>"#,
        esc(title),
        esc(caption)
    );
}

fn table(id: &str, columns: &[(&str, bool)], rows: &[(String, Vec<String>)]) -> String {
    let class = |numeric: bool| if numeric { r#" class="num""# } else { "" };
    let mut s = format!(r#"<table id="{id}"><thead><tr>"#);
    for &(h, numeric) in columns {
        let _ = write!(s, "<th{}>{}</th>", class(numeric), esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for (attributes, cells) in rows {
        let _ = write!(s, "<tr{attributes}>");
        for (cell, &(h, numeric)) in cells.iter().zip(columns) {
            let _ = write!(
                s,
                r#"<td{} data-label="{}">{cell}</td>"#,
                class(numeric),
                esc(h)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn tables(p: &Publication) -> String {
    let mut rows: Vec<(String, Vec<String>)> = p
        .commands
        .iter()
        .map(|c| {
            (
                format!(r#" data-command="{}""#, esc(&c.command)),
                vec![
                    esc(&c.command),
                    count(c.runs),
                    count(c.sessions),
                    percent(c.session_share),
                    percent(c.success_rate),
                    duration(c.duration_ms.median),
                    duration(c.duration_ms.p95),
                ],
            )
        })
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
                "–".into(),
                percent(o.success_rate),
                "–".into(),
                "–".into(),
            ],
        ));
    }
    let mut s = String::from("<h2>Commands</h2>");
    s.push_str(&table(
        "commands",
        &[
            ("Command", false),
            ("Runs", true),
            ("Sessions", true),
            ("Share of sessions", true),
            ("Success", true),
            ("Median", true),
            ("p95", true),
        ],
        &rows,
    ));
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
        "<title>SpecFact community numbers</title><style>{CSS}</style></head><body>"
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
        let mut charts = String::new();
        let weekly = p.weekly.clone().unwrap_or_default();
        figure(
            &mut charts,
            "Contract violations vs plan drift",
            &format!(
                "Regressions prevented per ISO week (UTC){}; {} on average.",
                if p.weeks.len() > CHART_WEEKS {
                    ", the last 52 weeks shown"
                } else {
                    ""
                },
                weekly
                    .average_regressions
                    .map_or("–".into(), |a| format!("{a:.1}"))
            ),
            &(weeks_chart(&p.weeks)
                + r#"<p class="legend"><span><i class="swatch contract"></i>Contract violations</span><span><i class="swatch drift"></i>Plan drift</span><span><i class="swatch other"></i>Other</span></p>"#),
        );
        figure(
            &mut charts,
            "Command shares",
            "Share of sessions in which each command ran.",
            &shares_chart(&p.commands),
        );
        figure(
            &mut charts,
            "Durations",
            "Median (dot) to 95th percentile (bar end) per command, on a logarithmic scale.",
            &durations_chart(&p.commands),
        );
        s.push_str(&charts);
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
    fn formats_read_well() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(Some(0.667)), "67%");
        assert_eq!(percent(Some(0.071)), "7.1%");
        assert_eq!(duration(Some(4200.0)), "4.2 s");
        assert_eq!(duration(Some(13.0)), "13 ms");
        assert_eq!(esc("<a&'\">"), "&lt;a&amp;&#39;&quot;&gt;");
    }

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
