//! On-demand export for the CLI: pending, all, or since a date; dry runs.

use std::time::{Duration, Instant};

use super::config::DeliveryConfig;
use super::cursor::{self, LastAcked, Resume, event_identity};
use super::http::Client;
use super::lock::FileLock;
use super::uploader::{self, Commit, Flow, Item, Report, Shipper};
use super::{DeliveryError, ExportProgress, ExportRequest, ExportSummary, Selection};
use crate::log::LocalLog;

fn io(action: &'static str) -> impl Fn(std::io::Error) -> DeliveryError {
    move |source| DeliveryError::Io { action, source }
}

/// Waits for the uploader lock up to twice the export timeout.
fn take_lock(cfg: &DeliveryConfig) -> Result<FileLock, DeliveryError> {
    crate::log::create_private_dir(&cfg.state_dir).map_err(|e| DeliveryError::Io {
        action: "create the delivery state directory",
        source: std::io::Error::other(e),
    })?;
    let path = cfg.files().uploader_lock;
    let deadline = Instant::now() + (cfg.export_timeout * 2).max(Duration::from_secs(5));
    loop {
        if let Some(l) = FileLock::try_acquire(&path).map_err(io("take the uploader lock"))? {
            return Ok(l);
        }
        if Instant::now() >= deadline {
            return Err(DeliveryError::Busy);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count(log: &LocalLog, from: u64, selection: Selection) -> Result<u64, DeliveryError> {
    let mut n = 0;
    for line in log
        .read_from(from)
        .map_err(|e| io("read the log")(std::io::Error::other(e)))?
    {
        let line = line.map_err(io("read the log"))?;
        if line.complete && line.entry.as_ref().is_ok_and(|e| selected(e, selection)) {
            n += 1;
        }
    }
    Ok(n)
}

fn selected(e: &crate::event::Event, selection: Selection) -> bool {
    match selection {
        Selection::Since(t) => e.timestamp.is_some_and(|ts| ts >= t),
        _ => true,
    }
}

pub(crate) fn run(
    cfg: &DeliveryConfig,
    request: &ExportRequest,
    progress: &mut dyn FnMut(&ExportProgress),
) -> Result<ExportSummary, DeliveryError> {
    if !request.dry_run
        && let Some(why) = cfg.refusal()
    {
        return Err(DeliveryError::Refused(why));
    }
    let log = LocalLog::new(&cfg.log_path);
    let _lock = if request.dry_run {
        None
    } else {
        Some(take_lock(cfg)?)
    };
    let client = (!request.dry_run).then(|| Client::new(cfg));
    let mut summary = ExportSummary {
        endpoint: cfg.endpoint_display(),
        ..ExportSummary::default()
    };
    let report = match request.selection {
        Selection::Pending => {
            let Some(c) = cursor::load(&cfg.files().cursor) else {
                summary.errors.push(
                    "nothing has been queued for this endpoint yet; export the whole log to send \
                     events recorded before it was configured"
                        .to_owned(),
                );
                return Ok(summary);
            };
            let from = match cursor::verify(&c, &log).map_err(io("read the log"))? {
                Resume::Continue => c.offset,
                Resume::Rebase { offset, .. } => offset,
                Resume::NoLog => return Ok(summary),
            };
            // A cheap upper bound for progress; the exact count comes from the run.
            let estimate = cursor::complete_lines_from(&log, from).map_err(io("read the log"))?
                + c.backfill.len() as u64;
            let report = if request.dry_run {
                let mut shipper =
                    Shipper::new(cfg, None, Commit::Nothing, Some(progress), Some(estimate));
                send_selection(&mut shipper, cfg, &log, from, Selection::Pending)?;
                shipper.report
            } else {
                let mut shipper = Shipper::new(
                    cfg,
                    client.as_ref(),
                    Commit::Cursor,
                    Some(progress),
                    Some(estimate),
                );
                uploader::drain(&mut shipper, &log, None).map_err(io("read the log"))?;
                shipper.report
            };
            // Whatever was not reached is still pending.
            summary.selected = report.sent + report.rejected;
            if report.stopped.is_some()
                && let Some(c) = cursor::load(&cfg.files().cursor)
            {
                summary.selected += cursor::pending_events(&c, &log).map_err(io("read the log"))?;
            }
            report
        }
        selection => {
            let estimate = cursor::complete_lines_from(&log, 0).map_err(io("read the log"))?;
            let mut shipper = Shipper::new(
                cfg,
                client.as_ref(),
                Commit::Nothing,
                Some(progress),
                Some(estimate),
            );
            let read = send_selection(&mut shipper, cfg, &log, 0, selection)?;
            let report = shipper.report;
            summary.selected = read.selected;
            match read.stopped_at {
                Some(at) => summary.selected += count(&log, at, selection)?,
                None if selection == Selection::All && !request.dry_run => {
                    mark_all_sent(cfg, &log, read.last)
                        .map_err(io("update the delivery cursor"))?;
                }
                None => {}
            }
            report
        }
    };
    fill(&mut summary, report);
    Ok(summary)
}

/// How far [`send_selection`] got.
struct Read {
    /// The last event line read.
    last: Option<LastAcked>,
    /// Selected events handed to the shipper.
    selected: u64,
    /// Where reading stopped because delivery stopped (the rest is unsent).
    stopped_at: Option<u64>,
}

/// Streams the log from `from`, sending selected events in batches.
fn send_selection(
    shipper: &mut Shipper<'_>,
    cfg: &DeliveryConfig,
    log: &LocalLog,
    from: u64,
    selection: Selection,
) -> Result<Read, DeliveryError> {
    let mut batch: Vec<Item> = Vec::new();
    let mut read = Read {
        last: None,
        selected: 0,
        stopped_at: None,
    };
    for line in log
        .read_from(from)
        .map_err(|e| io("read the log")(std::io::Error::other(e)))?
    {
        let line = line.map_err(io("read the log"))?;
        if !line.complete {
            break;
        }
        let Ok(event) = line.entry else {
            shipper.report.skipped_malformed += 1;
            continue;
        };
        read.last = Some(LastAcked {
            start: line.offset,
            end: line.end,
            id: event_identity(&event),
        });
        if !selected(&event, selection) {
            continue;
        }
        read.selected += 1;
        batch.push(Item {
            event,
            start: line.offset,
            end: line.end,
            backfill: false,
        });
        if batch.len() >= cfg.batch_size {
            if shipper.ship(&batch, line.end) == Flow::Stop {
                read.selected -= batch.len() as u64;
                read.stopped_at = batch.first().map(|i| i.start);
                return Ok(read);
            }
            batch.clear();
        }
    }
    let upto = read.last.map_or(0, |l| l.end);
    if !batch.is_empty() && shipper.ship(&batch, upto) == Flow::Stop {
        read.selected -= batch.len() as u64;
        read.stopped_at = batch.first().map(|i| i.start);
    }
    Ok(read)
}

/// After the whole log was acknowledged, nothing before its end is pending any more.
fn mark_all_sent(
    cfg: &DeliveryConfig,
    log: &LocalLog,
    last: Option<LastAcked>,
) -> std::io::Result<()> {
    let Some(last) = last else { return Ok(()) };
    let file = std::fs::metadata(log.path())
        .ok()
        .and_then(|m| cursor::FileId::of(&m));
    cursor::update(&cfg.files(), |slot| {
        let c = slot.get_or_insert_with(|| {
            cursor::CursorFile::enrol(cfg.endpoint_display(), log.path(), file, last.end)
        });
        if c.file != file || c.offset < last.end {
            c.file = file;
            c.offset = last.end;
            c.base = c.base.min(last.end);
            c.last = Some(last);
        }
        c.backfill.clear();
    })
}

fn fill(summary: &mut ExportSummary, r: Report) {
    summary.sent = r.sent;
    summary.rejected = r.rejected;
    summary.partially_rejected = r.partial_rejected;
    summary.skipped_malformed = r.skipped_malformed;
    summary.requests = r.requests;
    summary.payloads = r.payloads;
    summary.errors = r.errors;
    summary.unsent = summary.selected.saturating_sub(r.sent + r.rejected);
}
