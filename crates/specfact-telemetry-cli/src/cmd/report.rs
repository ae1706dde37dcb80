//! `report`: the headline figures of your own telemetry, as a terminal table, JSON,
//! Markdown or a self-contained HTML page.

pub mod compare;
pub mod fit;
pub mod format;
pub mod html;
pub mod markdown;
pub mod text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context as _;
use clap::CommandFactory;
use specfact_telemetry::LocalLog;
use specfact_telemetry_report::Report;
use specfact_telemetry_report::time_bound::{TimeBound, TimeRange};
use specfact_telemetry_report::{ReportOptions, build};

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

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events on or after this day (`2026-11-24`, a whole UTC day), time (RFC 3339
    /// with an offset) or age (`7d`, `12h`: that long before now).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = TimeBound::from_str)]
    pub since: Option<TimeBound>,
    /// Only events up to and including this day (`2026-11-24`, a whole UTC day), time
    /// (RFC 3339 with an offset) or age (`7d`, `12h`).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = TimeBound::from_str)]
    pub until: Option<TimeBound>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read this log instead of the configured one.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Put your figures beside the community's: a specfact-telemetry-server's address
    /// (`https://telemetry.example.com`, or its `/api/community.json`) or a saved copy of
    /// that JSON, which works offline.
    #[arg(long, value_name = "URL|FILE")]
    pub compare: Option<String>,
    /// Give up fetching `--compare URL` after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = compare::FETCH_TIMEOUT.as_secs(), requires = "compare")]
    pub compare_timeout: u64,
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

/// Renders a report in a format; the table fits `width` characters (no limit when `None`).
pub fn render(
    report: &Report,
    format: Format,
    log: &Path,
    width: Option<usize>,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => text::render(report, &log.display().to_string(), width),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
        Format::Markdown => markdown::render(report),
        Format::Html => html::page(report, false),
    })
}

/// The period `--since`..`--until` of `subcommand`; exits with a usage error when it
/// is empty.
pub fn time_range(
    subcommand: &str,
    since: Option<TimeBound>,
    until: Option<TimeBound>,
) -> TimeRange {
    match TimeRange::new(since, until) {
        Ok(range) => range,
        Err(empty) => {
            let mut cli = crate::cli::Cli::command();
            cli.build();
            let kind = clap::error::ErrorKind::ArgumentConflict;
            let message = empty.to_string();
            match cli.find_subcommand_mut(subcommand) {
                Some(cmd) => cmd.error(kind, message).exit(),
                None => cli.error(kind, message).exit(),
            }
        }
    }
}

/// Runs `report`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let range = time_range("report", args.since, args.until);
    let path = log_path(ctx, args.log.as_deref())?;
    let opts = ReportOptions {
        since: range.since,
        until: range.until,
        ..options(ctx)
    };
    // Fetch first: a server that cannot be reached is reported before any work.
    let community = match &args.compare {
        Some(source) => Some(compare::load(
            source,
            std::time::Duration::from_secs(args.compare_timeout.max(1)),
        )?),
        None => None,
    };
    let report = build(&LocalLog::new(&path), &opts)?;
    // A file is read later, in whatever window: only the terminal's output fits the terminal.
    let width = match args.output {
        None => fit::terminal_width(),
        Some(_) => None,
    };
    let mut out = render(&report, args.format, &path, width)?;
    if let Some(c) = &community {
        out = compare::extend(out, &report, c, args.format, width)?;
    }
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

    fn parse_bound(
        s: &str,
    ) -> Result<TimeBound, specfact_telemetry_report::time_bound::TimeBoundError> {
        s.parse()
    }

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
