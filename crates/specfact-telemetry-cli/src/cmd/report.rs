//! `report`: the headline figures of your own telemetry, as a terminal table, JSON,
//! Markdown or a self-contained HTML page.

pub mod format;
pub mod html;
pub mod markdown;
pub mod svg;
pub mod text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::CommandFactory;
use specfact_telemetry::LocalLog;
use specfact_telemetry_report::Report;
use specfact_telemetry_report::{Date, ReportOptions, build};

use crate::context::Context;

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable terminal report.
    Table,
    /// One JSON object, for scripts.
    Json,
    /// Markdown, to paste into a pull request.
    Markdown,
    /// A self-contained HTML page with charts, to share.
    Html,
}

/// A bound of the period, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// A calendar day (UTC), by the instant it starts.
    Day(SystemTime),
    /// An instant.
    Instant(SystemTime),
}

const DAY: Duration = Duration::from_secs(86_400);

impl Bound {
    /// The first instant the bound includes, as a lower bound.
    fn start(self) -> SystemTime {
        match self {
            Bound::Day(t) | Bound::Instant(t) => t,
        }
    }

    /// The first instant after the bound, as an exclusive upper bound: a day is included
    /// whole, an instant is included (the log has millisecond precision).
    fn end(self) -> SystemTime {
        match self {
            Bound::Day(t) => t + DAY,
            Bound::Instant(t) => t + Duration::from_nanos(1),
        }
    }
}

/// Parses `YYYY-MM-DD` (a UTC day) or an RFC 3339 time with an offset.
pub fn parse_bound(s: &str) -> Result<Bound, String> {
    let s = s.trim();
    let out_of_range = || "is out of range".to_owned();
    if s.len() == 10 {
        let d = s
            .parse::<jiff::civil::Date>()
            .map_err(|e| format!("not a valid date (YYYY-MM-DD): {e}"))?;
        let days = Date {
            year: i64::from(d.year()),
            month: u32::from(d.month().unsigned_abs()),
            day: u32::from(d.day().unsigned_abs()),
        }
        .day_number();
        let offset = DAY * u32::try_from(days.unsigned_abs()).map_err(|_| out_of_range())?;
        let t = if days >= 0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        };
        return t.map(Bound::Day).ok_or_else(out_of_range);
    }
    let t = s.parse::<jiff::Timestamp>().map_err(|e| {
        format!(
            "expected a date (2026-01-05) or an RFC 3339 time with an offset (2026-01-05T10:00:00Z): {e}"
        )
    })?;
    SystemTime::try_from(t)
        .map(Bound::Instant)
        .map_err(|_| out_of_range())
}

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events on or after this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_bound)]
    pub since: Option<Bound>,
    /// Only events up to and including this day (YYYY-MM-DD, UTC) or time (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_bound)]
    pub until: Option<Bound>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read this log instead of the configured one.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

/// The log to read: `--log`, else the configured `local_path`.
pub fn log_path(ctx: &Context, arg: Option<&Path>) -> anyhow::Result<PathBuf> {
    match arg {
        Some(p) => Ok(p.to_owned()),
        None => ctx
            .settings
            .local_path
            .value
            .clone()
            .context("no local log path is configured (no home directory?); pass --log FILE"),
    }
}

/// Report options from the settings: the family → category map.
pub fn options(ctx: &Context) -> ReportOptions {
    ReportOptions {
        categories: ctx.settings.regression_categories.value.clone(),
        ..ReportOptions::default()
    }
}

/// Renders a report in a format.
pub fn render(report: &Report, format: Format, log: &Path) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => text::render(report, &log.display().to_string()),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Markdown => markdown::render(report),
        Format::Html => html::page(report, false),
    })
}

/// Runs `report`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let since = args.since.map(Bound::start);
    let until = args.until.map(Bound::end);
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        let kind = clap::error::ErrorKind::ArgumentConflict;
        let message = "--since must be before --until";
        match cli.find_subcommand_mut("report") {
            Some(cmd) => cmd.error(kind, message).exit(),
            None => cli.error(kind, message).exit(),
        }
    }
    let path = log_path(ctx, args.log.as_deref())?;
    let opts = ReportOptions {
        since,
        until,
        ..options(ctx)
    };
    let report = build(&LocalLog::new(&path), &opts)?;
    let out = render(&report, args.format, &path)?;
    match &args.output {
        Some(file) => {
            std::fs::write(file, out)
                .with_context(|| format!("cannot write {}", file.display()))?;
            eprintln!("Wrote the report to {}", file.display());
        }
        None => print!("{out}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_days_and_instants() {
        let day = parse_bound("2026-01-05").unwrap();
        assert_eq!(
            specfact_telemetry::event::format_timestamp(day.start()),
            "2026-01-05T00:00:00.000Z"
        );
        assert_eq!(
            specfact_telemetry::event::format_timestamp(day.end()),
            "2026-01-06T00:00:00.000Z"
        );
        let t = parse_bound("2026-01-05T10:00:00+02:00").unwrap();
        assert_eq!(
            specfact_telemetry::event::format_timestamp(t.start()),
            "2026-01-05T08:00:00.000Z"
        );
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "yesterday",
            "2026-01-05T10:00:00",
            "",
        ] {
            assert!(parse_bound(bad).is_err(), "{bad}");
        }
    }
}
