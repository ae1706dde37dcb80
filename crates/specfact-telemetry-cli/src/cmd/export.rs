//! `export`: send events to the collector now, in the foreground, with progress and a
//! summary; or show the exact payload without sending anything.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use specfact_telemetry::delivery::{self, ExportRequest, ExportSummary, Selection};
use specfact_telemetry_report::time_bound::TimeBound;

use super::output;
use crate::context::Context;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Every event in the log, including those recorded before the endpoint was set.
    #[arg(long, conflicts_with = "since")]
    pub all: bool,
    /// Only events recorded at or after DATE (`2026-11-24`: from midnight UTC, an RFC 3339
    /// time, or an age such as `7d`); events without a timestamp are left out.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true, value_parser = TimeBound::from_str)]
    pub since: Option<TimeBound>,
    /// Print the OTLP/JSON request bodies that would be sent (one per line) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `export`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let s = &ctx.settings;
    if !s.enabled {
        let why = s
            .disabled_reason
            .as_ref()
            .map_or_else(|| "off".to_owned(), ToString::to_string);
        bail!("telemetry is disabled ({why}); nothing is exported while it is off");
    }
    let request = ExportRequest {
        selection: match (args.all, args.since) {
            (true, _) => Selection::All,
            (false, Some(t)) => Selection::Since(t.start()),
            (false, None) => Selection::Pending,
        },
        dry_run: args.dry_run,
        ..ExportRequest::default()
    };
    let bar = (!args.json && !args.dry_run && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message("exporting");
        bar
    });
    let mut progress = |p: &delivery::ExportProgress| {
        if let Some(bar) = &bar {
            if let Some(total) = p.total {
                bar.set_length(total);
                bar.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} events [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            bar.set_position(p.sent + p.rejected);
        }
    };
    let summary = delivery::export(s, &request, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;

    if args.dry_run && !args.json {
        for payload in &summary.payloads {
            // One request body per line, so `jq` and line-based tools take them as they are.
            match serde_json::from_str::<serde_json::Value>(payload) {
                Ok(v) => println!("{v}"),
                Err(_) => println!("{}", payload.replace('\n', " ")),
            }
        }
        eprintln!(
            "dry run: {} in {}, nothing sent",
            output::plural(summary.selected, "event", "events"),
            output::plural(summary.payloads.len() as u64, "request", "requests")
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&summary, args.dry_run))?
        );
    } else {
        print!("{}", summary_text(&summary));
    }
    let complete = summary.unsent == 0 && summary.rejected == 0;
    Ok(if complete || args.dry_run {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn summary_json(s: &ExportSummary, dry_run: bool) -> serde_json::Value {
    json!({
        "endpoint": s.endpoint,
        "dry_run": dry_run,
        "selected": s.selected,
        "sent": s.sent,
        "rejected": s.rejected,
        "partially_rejected": s.partially_rejected,
        "unsent": s.unsent,
        "skipped_malformed": s.skipped_malformed,
        "requests": s.requests,
        "errors": s.errors,
        "payloads": if dry_run { json!(s.payloads) } else { json!(null) },
    })
}

fn summary_text(s: &ExportSummary) -> String {
    let mut out = format!(
        "Exported to {}: {} of {} sent",
        s.endpoint,
        s.sent,
        output::plural(s.selected, "event", "events")
    );
    out.push_str(&format!(
        " in {}.\n",
        output::plural(s.requests, "request", "requests")
    ));
    if s.selected == 0 {
        out = format!(
            "Nothing pending for {}. Events recorded before the endpoint was set are sent only with --all.\n",
            s.endpoint
        );
    }
    if s.rejected > 0 {
        out.push_str(&format!(
            "  {} rejected by the collector (kept in the log)\n",
            output::plural(s.rejected, "event", "events")
        ));
    }
    if s.partially_rejected > 0 {
        out.push_str(&format!(
            "  {} reported rejected in partial-success answers\n",
            output::plural(s.partially_rejected, "event", "events")
        ));
    }
    if s.unsent > 0 {
        out.push_str(&format!(
            "  {} not sent; they will go with a later run or `export`\n",
            output::plural(s.unsent, "event", "events")
        ));
    }
    if s.skipped_malformed > 0 {
        out.push_str(&format!(
            "  {} skipped\n",
            output::plural(s.skipped_malformed, "malformed line", "malformed lines")
        ));
    }
    for e in &s.errors {
        out.push_str(&format!("  error: {e}\n"));
    }
    out
}
