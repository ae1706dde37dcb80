//! `purge`: deletes what telemetry recorded on this machine: the whole local log and
//! the delivery state, or only the events older than an age.

use std::fs;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use specfact_telemetry::LocalLog;
use specfact_telemetry::log::LogLine;
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
}

/// Files and directories that delivery keeps beside the log (cursors, pending batches).
/// They describe the log's content, so a purge of the whole log deletes them too.
pub fn delivery_state_paths(ctx: &Context) -> Vec<PathBuf> {
    specfact_telemetry::delivery::state_dir(&ctx.settings)
        .into_iter()
        .collect()
}

/// Deletes the log and the delivery state, and `~/.specfact` itself if that leaves it
/// empty. Returns what was deleted. Shared by `purge` and `disable --purge`.
pub fn delete_everything(ctx: &Context, log: &LocalLog) -> anyhow::Result<Vec<PathBuf>> {
    let mut deleted = Vec::new();
    if log.delete()? {
        deleted.push(log.path().to_owned());
    }
    for p in delivery_state_paths(ctx) {
        let removed = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        match removed {
            Ok(()) => deleted.push(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot delete {}", p.display())),
        }
    }
    // Leave no empty `~/.specfact` behind; a directory with anything else in it stays.
    if let Some(dir) = &ctx.settings.config_dir
        && log.path().parent() == Some(dir.as_path())
    {
        let _ = fs::remove_dir(dir);
    }
    Ok(deleted)
}

/// Runs `purge`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let log = ctx.local_log().context(
        "there is no local log: the home directory is unknown and no local_path is configured",
    )?;
    match args.older_than {
        None => purge_all(args, ctx, &log),
        Some(age) => purge_older(args, &log, age),
    }
}

fn purge_all(args: &Args, ctx: &Context, log: &LocalLog) -> anyhow::Result<ExitCode> {
    let path = log.path();
    let state: Vec<PathBuf> = delivery_state_paths(ctx)
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    let has_log = path.symlink_metadata().is_ok();
    if !has_log && state.is_empty() {
        println!(
            "Nothing to purge: telemetry has recorded nothing (there is no log at {}).",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let stats = if has_log {
        Some(
            log.stats()
                .with_context(|| format!("cannot read {}", path.display()))?,
        )
    } else {
        None
    };
    let what = match &stats {
        Some(s) => format!(
            "{} ({}, {})",
            path.display(),
            output::plural(s.events, "event", "events"),
            output::human_bytes(s.bytes)
        ),
        None => "the delivery state".to_owned(),
    };
    if !confirmed(args, &format!("Delete {what}?"))? {
        return Ok(refused());
    }
    for deleted in delete_everything(ctx, log)? {
        if deleted == path {
            println!("Deleted {what}.");
        } else {
            println!("Deleted {}.", deleted.display());
        }
    }
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
