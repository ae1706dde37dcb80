//! `--compare URL|FILE`: your figures beside the community's, in every report format.
//!
//! The community figures are a `specfact-community/1` document: fetched from a server
//! (`https://…/api/community.json`, or the server's address alone) with a timeout, or read
//! from a saved file, so that comparing works offline.

use std::fmt::Write;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use specfact_telemetry_report::Report;
use specfact_telemetry_report::community::{Publication, schema};

use super::fit::{self, Column};
use super::format::{self, count, percent};
use specfact_telemetry_report::html::esc;

/// How long fetching the community figures may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest document accepted.
const MAX_BYTES: u64 = 8 << 20;
/// Weeks compared in the table and Markdown formats (the most recent ones).
const WEEKS: usize = 12;

/// The community figures and where they came from.
#[derive(Debug, Clone)]
pub struct Community {
    /// The URL or file as given.
    pub source: String,
    /// The figures.
    pub publication: Publication,
}

/// The URL to fetch for `source`: a server's bare address means its `/api/community.json`.
fn json_url(source: &str) -> String {
    let after_scheme = source.split_once("://").map_or("", |(_, rest)| rest);
    match after_scheme.find('/') {
        None => format!("{}/api/community.json", source),
        Some(i) if after_scheme[i..] == *"/" => {
            format!("{}api/community.json", source)
        }
        Some(_) => source.to_owned(),
    }
}

/// Reads the community figures from a URL (`http://`, `https://`) or a file.
pub fn load(source: &str, timeout: Duration) -> anyhow::Result<Community> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        fetch(&json_url(source), timeout)?
    } else {
        std::fs::read_to_string(source).with_context(|| {
            format!("cannot read the community figures from {source}: give a saved community.json or a server's URL")
        })?
    };
    let publication: Publication = serde_json::from_str(&text)
        .with_context(|| format!("{source} is not a community figures document (JSON)"))?;
    if !schema::is_supported(&publication.schema) {
        bail!(
            "{source} holds `{}`, not `{}`: use a server and a specfact-telemetry of the same generation",
            if publication.schema.is_empty() {
                "no schema"
            } else {
                &publication.schema
            },
            schema::SCHEMA
        );
    }
    Ok(Community {
        source: source.to_owned(),
        publication,
    })
}

fn fetch(url: &str, timeout: Duration) -> anyhow::Result<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(3)
        .user_agent(concat!("specfact-telemetry/", env!("CARGO_PKG_VERSION")))
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into();
    let offline = |e: ureq::Error| {
        anyhow::anyhow!(
            "cannot fetch the community figures from {url}: {e}. Are you offline? Save them once \
             while online (curl -o community.json {url}) and pass the file: --compare community.json"
        )
    };
    let mut response = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(offline)?;
    let status = response.status().as_u16();
    if status != 200 {
        bail!(
            "{url} answered HTTP {status}{}: give the address of a specfact-telemetry-server (its /api/community.json) or a saved file",
            if status == 503 {
                " (the figures are still being computed: retry in a few seconds)"
            } else {
                ""
            }
        );
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_string()
        .map_err(offline)
}

/// One headline compared.
struct Headline {
    key: &'static str,
    label: &'static str,
    mine: Option<f64>,
    community: Option<f64>,
    shown: fn(Option<f64>) -> String,
}

fn headlines(r: &Report, c: &Publication) -> Vec<Headline> {
    let reg = c.regressions.as_ref();
    vec![
        Headline {
            key: "contract_share",
            label: "Contract violations (share of regressions prevented)",
            mine: r.regressions.contract_violations.share,
            community: reg
                .and_then(|g| g.contract_violations)
                .and_then(|s| s.share),
            shown: percent,
        },
        Headline {
            key: "plan_drift_share",
            label: "Plan drift (share of regressions prevented)",
            mine: r.regressions.plan_drift.share,
            community: reg.and_then(|g| g.plan_drift).and_then(|s| s.share),
            shown: percent,
        },
        Headline {
            key: "regressions_per_week",
            label: "Regressions prevented per week",
            mine: r.weekly.average_violations,
            community: c.weekly.as_ref().and_then(|w| w.average_regressions),
            shown: format::average,
        },
        Headline {
            key: "success_rate",
            label: "Success rate",
            mine: r.success_rate,
            community: c.success_rate,
            shown: percent,
        },
    ]
}

fn community_command<'a>(c: &'a Publication, name: &str) -> Option<&'a schema::Command> {
    c.commands.iter().find(|x| x.command == name)
}

/// The weeks compared: each of yours with the community's figure for the same week.
fn weeks(r: &Report, c: &Publication) -> Vec<(String, u64, Option<u64>)> {
    r.weeks
        .iter()
        .map(|w| {
            let name = w.week.to_string();
            let theirs = c
                .weeks
                .iter()
                .find(|x| x.week == name)
                .map(|x| x.regressions);
            (name, w.violations, theirs)
        })
        .collect()
}

fn about(c: &Community) -> String {
    let p = &c.publication;
    if !p.available {
        return format!(
            "{}: not enough data yet (fewer than {} sessions), computed {}",
            c.source, p.min_sessions, p.generated_at
        );
    }
    format!(
        "{}: {} events in {} sessions, computed {}; every figure covers at least {} sessions",
        c.source,
        count(p.events.unwrap_or(0)),
        count(p.sessions.unwrap_or(0)),
        p.generated_at,
        p.min_sessions
    )
}

/// The comparison as JSON, added to `report --format json` under `compare`.
pub fn json(r: &Report, c: &Community) -> Value {
    let p = &c.publication;
    let headlines: serde_json::Map<String, Value> = headlines(r, p)
        .into_iter()
        .map(|h| {
            (
                h.key.to_owned(),
                json!({ "mine": h.mine, "community": h.community }),
            )
        })
        .collect();
    let commands: Vec<Value> = r
        .commands
        .iter()
        .map(|m| {
            let theirs = community_command(p, &m.command).map(|t| {
                json!({
                    "runs": t.runs,
                    "session_share": t.session_share,
                    "success_rate": t.success_rate,
                    "median_ms": t.duration_ms.median,
                    "p95_ms": t.duration_ms.p95,
                })
            });
            json!({
                "command": m.command,
                "mine": {
                    "runs": m.runs,
                    "success_rate": m.success_rate,
                    "median_ms": m.duration_ms.median,
                    "p95_ms": m.duration_ms.p95,
                },
                "community": theirs,
            })
        })
        .collect();
    let weeks: Vec<Value> = weeks(r, p)
        .into_iter()
        .map(|(w, mine, theirs)| json!({ "week": w, "mine": mine, "community": theirs }))
        .collect();
    json!({
        "source": c.source,
        "schema": p.schema,
        "generated_at": p.generated_at,
        "min_sessions": p.min_sessions,
        "available": p.available,
        "community_events": p.events,
        "community_sessions": p.sessions,
        "headlines": headlines,
        "commands": commands,
        "weeks": weeks,
    })
}

/// The headline figures as text rows: figure, you, the community.
fn headline_rows(r: &Report, p: &Publication) -> Vec<Vec<String>> {
    headlines(r, p)
        .into_iter()
        .map(|h| {
            vec![
                h.label.to_owned(),
                (h.shown)(h.mine),
                (h.shown)(h.community),
            ]
        })
        .collect()
}

fn command_rows(r: &Report, p: &Publication) -> Vec<Vec<String>> {
    r.commands
        .iter()
        .map(|m| {
            let t = community_command(p, &m.command);
            vec![
                crate::cmd::output::printable(&m.command).into_owned(),
                percent(m.success_rate),
                t.map_or_else(|| "–".into(), |t| percent(t.success_rate)),
                format::duration(m.duration_ms.median),
                t.map_or_else(|| "–".into(), |t| format::duration(t.duration_ms.median)),
                format::duration(m.duration_ms.p95),
                t.map_or_else(|| "–".into(), |t| format::duration(t.duration_ms.p95)),
            ]
        })
        .collect()
}

const COMMAND_HEADERS: [&str; 7] = [
    "Command",
    "Success (you)",
    "Success (community)",
    "Median (you)",
    "Median (community)",
    "p95 (you)",
    "p95 (community)",
];

const UNPUBLISHED: &str = "A dash in a community column: the community figure is not published (fewer sessions than its threshold, or no such command there).";

/// The comparison for the terminal, `width` characters wide.
pub fn text(r: &Report, c: &Community, width: Option<usize>) -> String {
    let p = &c.publication;
    let mut s = String::from("\nCompared with the community\n");
    let _ = writeln!(s, "{}", fit::wrap(&about(c), width, "  ", "    "));
    let columns = [
        Column::text("Figure"),
        Column::number("You"),
        Column::number("Community"),
    ];
    let rows = headline_rows(r, p);
    let _ = writeln!(s, "{}", fit::table(&columns, &rows, width));
    let columns: Vec<Column> = COMMAND_HEADERS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                Column::text(h)
            } else {
                Column::number(h)
            }
        })
        .collect();
    s.push_str("\nCommands, you and the community\n");
    let _ = writeln!(s, "{}", fit::table(&columns, &command_rows(r, p), width));
    let w = weeks(r, p);
    if !w.is_empty() {
        let shown = &w[w.len().saturating_sub(WEEKS)..];
        let _ = writeln!(
            s,
            "\nRegressions prevented per week{}",
            format::last_of(shown.len(), w.len())
        );
        let columns = [
            Column::text("Week"),
            Column::number("You"),
            Column::number("Community"),
        ];
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|(w, mine, theirs)| {
                vec![w.clone(), count(*mine), theirs.map_or("–".into(), count)]
            })
            .collect();
        let _ = writeln!(s, "{}", fit::table(&columns, &rows, width));
    }
    let _ = writeln!(s, "{}", fit::wrap(UNPUBLISHED, width, "  ", "    "));
    s
}

fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '|' | '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(if ch == '\n' { ' ' } else { ch });
    }
    out
}

fn md_table(s: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(s, "| {} |", headers.join(" | "));
    let _ = writeln!(
        s,
        "|{}",
        headers
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { " --- |" } else { " ---: |" })
            .collect::<String>()
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
}

/// The comparison in Markdown.
pub fn markdown(r: &Report, c: &Community) -> String {
    let p = &c.publication;
    let mut s = String::from("\n### Compared with the community\n\n");
    let _ = writeln!(s, "{}.\n", md_cell(&about(c)));
    let rows = headline_rows(r, p);
    md_table(&mut s, &["Figure", "You", "Community"], &rows);
    s.push_str("\n#### Commands, you and the community\n\n");
    md_table(&mut s, &COMMAND_HEADERS, &command_rows(r, p));
    let w = weeks(r, p);
    if !w.is_empty() {
        let shown = &w[w.len().saturating_sub(WEEKS)..];
        let _ = writeln!(
            s,
            "\n#### Regressions prevented per week{}\n",
            format::last_of(shown.len(), w.len())
        );
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|(w, mine, theirs)| {
                vec![w.clone(), count(*mine), theirs.map_or("–".into(), count)]
            })
            .collect();
        md_table(&mut s, &["Week", "You", "Community"], &rows);
    }
    let _ = writeln!(s, "\n{UNPUBLISHED}");
    s
}

/// Paired horizontal bars, you and the community, for shares in `[0, 1]`.
fn pair_chart(id: &str, rows: &[(String, Option<f64>, Option<f64>)]) -> String {
    const WIDTH: f64 = 400.0;
    let row_h = 44.0;
    let height = row_h * rows.len().max(1) as f64;
    let mut s = format!(
        r#"<svg id="{id}" class="chart" role="img" aria-label="You and the community" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, mine, theirs)) in rows.iter().enumerate() {
        let y = row_h * i as f64;
        let figure = format!("{} · {}", percent(*mine), percent(*theirs));
        let _ = write!(
            s,
            r#"<text class="label" x="0" y="{:.1}">{}</text><text class="value" x="{WIDTH}" y="{:.1}" text-anchor="end">{}</text>"#,
            y + 13.0,
            esc(label),
            y + 13.0,
            esc(&figure)
        );
        for (j, (who, class, v)) in [("you", "share", mine), ("community", "events", theirs)]
            .iter()
            .enumerate()
        {
            let w = WIDTH * v.unwrap_or(0.0).clamp(0.0, 1.0);
            let _ = write!(
                s,
                r#"<rect class="{class}" x="0" y="{:.1}" width="{w:.1}" height="8" rx="2" data-who="{who}" data-value="{}"><title>{}: {}</title></rect>"#,
                y + 19.0 + 11.0 * j as f64,
                v.map_or_else(String::new, |v| v.to_string()),
                esc(label),
                percent(**v)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The comparison as a page section (`<section id="compare">` content).
pub fn html(r: &Report, c: &Community) -> String {
    let p = &c.publication;
    let mut s = String::from("<h2>Compared with the community</h2>");
    let _ = write!(
        s,
        r#"<p class="notes" id="compare-source">{}</p>"#,
        esc(&about(c))
    );
    let hs = headlines(r, p);
    s.push_str(r#"<div class="cards">"#);
    for h in &hs {
        let _ = write!(
            s,
            r#"<div class="card"><div class="label">{}</div><div class="value" data-metric="compare_{}" data-mine="{}" data-community="{}">{}</div><div class="sub">community: {}</div></div>"#,
            esc(h.label),
            h.key,
            h.mine.map_or_else(String::new, |v| v.to_string()),
            h.community.map_or_else(String::new, |v| v.to_string()),
            esc(&(h.shown)(h.mine)),
            esc(&(h.shown)(h.community)),
        );
    }
    s.push_str("</div>");
    let shares: Vec<(String, Option<f64>, Option<f64>)> = hs
        .iter()
        .filter(|h| h.key != "regressions_per_week")
        .map(|h| {
            (
                h.label.split(" (").next().unwrap_or(h.label).to_owned(),
                h.mine,
                h.community,
            )
        })
        .collect();
    let _ = write!(
        s,
        r#"<figure><figcaption><h2>You and the community</h2><p>Top bar: you; bottom bar: the community.</p></figcaption>{}</figure>"#,
        pair_chart("chart-compare", &shares)
    );
    let rows = command_rows(r, p);
    let _ = write!(s, r#"<table id="compare-commands"><thead><tr>"#);
    for (i, h) in COMMAND_HEADERS.iter().enumerate() {
        let _ = write!(
            s,
            "<th{}>{}</th>",
            if i > 0 { r#" class="num""# } else { "" },
            esc(h)
        );
    }
    s.push_str("</tr></thead><tbody>");
    for (row, m) in rows.iter().zip(&r.commands) {
        let _ = write!(s, r#"<tr data-command="{}">"#, esc(&m.command));
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(
                s,
                r#"<td{} data-label="{}">{}</td>"#,
                if i > 0 { r#" class="num""# } else { "" },
                esc(COMMAND_HEADERS[i]),
                esc(cell)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    let w = weeks(r, p);
    if !w.is_empty() {
        s.push_str(r#"<h2>Regressions prevented per week</h2><table id="compare-weeks"><thead><tr><th>Week</th><th class="num">You</th><th class="num">Community</th></tr></thead><tbody>"#);
        for (week, mine, theirs) in w.iter().rev() {
            let _ = write!(
                s,
                r#"<tr><td data-label="Week">{}</td><td class="num" data-label="You">{}</td><td class="num" data-label="Community">{}</td></tr>"#,
                esc(week),
                count(*mine),
                theirs.map_or("–".into(), count)
            );
        }
        s.push_str("</tbody></table>");
    }
    let _ = write!(s, r#"<p class="notes">{}</p>"#, esc(UNPUBLISHED));
    s
}

/// Adds the comparison to a rendered report.
pub fn extend(
    out: String,
    report: &Report,
    community: &Community,
    format: super::Format,
    width: Option<usize>,
) -> anyhow::Result<String> {
    Ok(match format {
        super::Format::Table => out + &text(report, community, width),
        super::Format::Markdown => out + &markdown(report, community),
        super::Format::Json => {
            let mut v = serde_json::to_value(report)?;
            v["compare"] = json(report, community);
            serde_json::to_string_pretty(&v)? + "\n"
        }
        super::Format::Html => with_section(&out, &html(report, community)),
    })
}

/// Inserts `<section id="compare">` before the end of the page's `<main>`.
pub fn with_section(page: &str, section: &str) -> String {
    let block = format!(r#"<section id="compare">{section}</section>"#);
    match page.rfind("</main>") {
        Some(i) => format!("{}{block}{}", &page[..i], &page[i..]),
        None => page.to_owned() + &block,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_server_address_means_its_json() {
        assert_eq!(
            json_url("https://t.example.com"),
            "https://t.example.com/api/community.json"
        );
        assert_eq!(
            json_url("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/api/community.json"
        );
        assert_eq!(
            json_url("https://x.org/pub/c.json"),
            "https://x.org/pub/c.json"
        );
    }

    #[test]
    fn a_document_of_another_schema_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.json");
        std::fs::write(&f, r#"{"schema":"specfact-community/2"}"#).unwrap();
        let e = load(f.to_str().unwrap(), FETCH_TIMEOUT)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("specfact-community/2") && e.contains("specfact-community/1"),
            "{e}"
        );
        std::fs::write(&f, "not json").unwrap();
        let e = format!(
            "{:#}",
            load(f.to_str().unwrap(), FETCH_TIMEOUT).unwrap_err()
        );
        assert!(e.contains("not a community figures document"), "{e}");
        let e = load("/nonexistent/c.json", FETCH_TIMEOUT)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the community figures"), "{e}");
    }

    #[test]
    fn sections_go_inside_main() {
        assert_eq!(
            with_section("<main><p>x</p></main><footer/>", "S"),
            r#"<main><p>x</p><section id="compare">S</section></main><footer/>"#
        );
    }
}
