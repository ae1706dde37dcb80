//! `purge`: deletes what telemetry recorded on this machine: the whole local log and
//! the delivery state, or only the events older than an age.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use specfact_telemetry::LocalLog;
use specfact_telemetry::log::LogLine;
use specfact_telemetry::optin::{self, LogFound, Purged};
use specfact_telemetry_report::time_bound;

use super::output;
use crate::context::Context;

/// Arguments of `purge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete only events recorded longer ago than this (`30d`, `12h`, `2w`); events
    /// without a timestamp and malformed lines are kept.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = time_bound::parse_age)]
    pub older_than: Option<Duration>,

    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Print one JSON object instead of text (needs --yes when there is no terminal).
    #[arg(long)]
    pub json: bool,
}

/// Runs `purge`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let log = ctx.local_log().context(
        "there is no local log: the home directory is unknown and no local_path is configured",
    )?;
    match args.older_than {
        None => purge_all(args, ctx),
        Some(age) => purge_older(args, &log, age),
    }
}

/// What a purge deleted, as text (one line per thing, and what was left alone).
pub fn purged_text(p: &Purged) -> String {
    let mut out = String::new();
    let path = p.plan.log_path.display();
    match (&p.plan.log, p.log_deleted) {
        (LogFound::Log { events, bytes }, true) => out.push_str(&format!(
            "Deleted {path} ({}, {}).\n",
            output::plural(*events, "event", "events"),
            output::human_bytes(*bytes)
        )),
        (LogFound::NotARegularFile(kind), _) => out.push_str(&format!(
            "Left {path} alone: it is {kind}, not a log file, so there was nothing in it to delete.\n"
        )),
        _ => {}
    }
    for d in &p.state_deleted {
        out.push_str(&format!("Deleted {}.\n", d.display()));
    }
    out
}

/// What a purge deleted, for `--json`.
pub fn purged_json(p: &Purged) -> serde_json::Value {
    let (events, bytes, left_alone) = match &p.plan.log {
        LogFound::Log { events, bytes } => (Some(*events), Some(*bytes), None),
        LogFound::NotARegularFile(kind) => (None, None, Some(*kind)),
        _ => (None, None, None),
    };
    serde_json::json!({
        "log": p.plan.log_path.display().to_string(),
        "log_deleted": p.log_deleted,
        "events_deleted": if p.log_deleted { events } else { None },
        "bytes_deleted": if p.log_deleted { bytes } else { None },
        "log_left_alone_because_it_is": left_alone,
        "state_deleted": p.state_deleted.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
    })
}

fn purge_all(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let plan = optin::plan_purge(&ctx.settings)?;
    let path = plan.log_path.display().to_string();
    if let LogFound::Symlink(target) = &plan.log {
        // Refused before asking: removing the link would leave the events in its target.
        let e = specfact_telemetry::log::LogError::Symlink {
            path: plan.log_path.clone(),
            target: target.clone(),
        };
        return Err(e.into());
    }
    if plan.is_empty() {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"log": path, "log_deleted": false, "state_deleted": []})
            );
            return Ok(ExitCode::SUCCESS);
        }
        match &plan.log {
            LogFound::NotARegularFile(kind) => {
                println!("Nothing to purge: {path} is {kind}, not a log file; it was left alone.")
            }
            _ => println!(
                "Nothing to purge: telemetry has recorded nothing (there is no log at {path})."
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let what = match &plan.log {
        LogFound::Log { events, bytes } => format!(
            "{path} ({}, {})",
            output::plural(*events, "event", "events"),
            output::human_bytes(*bytes)
        ),
        _ => "the delivery state".to_owned(),
    };
    if !confirmed(args, &format!("Delete {what}?"))? {
        return Ok(refused());
    }
    let purged = optin::purge(&ctx.settings)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&purged_json(&purged))?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", purged_text(&purged));
    if ctx.settings.enabled {
        println!(
            "Telemetry is still enabled ({}), so new events will be recorded. To stop: specfact-telemetry disable.",
            ctx.settings.enabled_source
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn purge_older(args: &Args, log: &LocalLog, age: Duration) -> anyhow::Result<ExitCode> {
    let path = log.path().display().to_string();
    let Some(cutoff) = SystemTime::now().checked_sub(age) else {
        println!("Nothing to purge: no event is that old.");
        return Ok(ExitCode::SUCCESS);
    };
    let is_old =
        |line: &LogLine| matches!(&line.entry, Ok(e) if e.timestamp.is_some_and(|t| t < cutoff));
    if !log.path().exists() {
        println!("Nothing to purge: telemetry has recorded nothing (there is no log at {path}).");
        return Ok(ExitCode::SUCCESS);
    }
    let (mut old, mut events) = (0u64, 0u64);
    for line in log.read().with_context(|| format!("cannot read {path}"))? {
        let line = line.with_context(|| format!("cannot read {path}"))?;
        events += u64::from(line.entry.is_ok());
        old += u64::from(is_old(&line));
    }
    let before = output::local_time(cutoff);
    if old == 0 {
        println!(
            "Nothing to purge: none of the {} in {path} was recorded before {before}.",
            output::plural(events, "event", "events")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let question = format!(
        "Delete {} of {} recorded before {before} from {path}?",
        old,
        output::plural(events, "event", "events")
    );
    if !confirmed(args, &question)? {
        return Ok(refused());
    }
    let mut without_timestamp = 0u64;
    let mut malformed = 0u64;
    let done = log
        .rewrite(|line| {
            if is_old(line) {
                return false;
            }
            match &line.entry {
                Ok(e) if e.timestamp.is_none() => without_timestamp += 1,
                Err(_) => malformed += 1,
                Ok(_) => {}
            }
            true
        })
        .with_context(|| format!("cannot rewrite {path}"))?;
    let kept_events = done.kept - malformed;
    println!(
        "Deleted {} recorded before {before} from {path}; kept {}.",
        output::plural(done.removed, "event", "events"),
        output::plural(kept_events, "event", "events")
    );
    if without_timestamp > 0 {
        println!(
            "Kept {} without a timestamp (written by an older tool); purge without --older-than to delete them.",
            output::plural(without_timestamp, "event", "events")
        );
    }
    if malformed > 0 {
        println!(
            "Kept {}.",
            output::plural(malformed, "malformed line", "malformed lines")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether to go ahead: `--yes`, or a yes typed at the terminal. Without a terminal
/// and without `--yes` nothing is deleted.
fn confirmed(args: &Args, question: &str) -> anyhow::Result<bool> {
    if args.yes {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        anyhow::bail!(
            "not deleting anything without confirmation, and there is no terminal to ask on; pass --yes to purge"
        );
    }
    output::confirm(question).context("cannot read the answer")
}

fn refused() -> ExitCode {
    println!("Nothing deleted.");
    ExitCode::FAILURE
}
