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

/// Waits for the uploader lock up to `wait`, or by default up to twice the export
/// timeout (at least 5 s).
fn take_lock(cfg: &DeliveryConfig, wait: Option<Duration>) -> Result<FileLock, DeliveryError> {
    crate::log::create_private_dir(&cfg.state_dir).map_err(|e| DeliveryError::Io {
        action: "create the delivery state directory",
        source: std::io::Error::other(e),
    })?;
    let path = cfg.files().uploader_lock;
    let wait = wait.unwrap_or((cfg.export_timeout * 2).max(Duration::from_secs(5)));
    let deadline = Instant::now() + wait;
    loop {
        if let Some(l) = FileLock::try_acquire(&path).map_err(io("take the uploader lock"))? {
            return Ok(l);
        }
        if Instant::now() >= deadline {
            return Err(DeliveryError::Busy {
                until: super::lock::held_until(&path),
            });
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
        Some(take_lock(cfg, request.wait)?)
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
                send_selection(&mut shipper, cfg, &log, from, Selection::Pending, None)?;
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
        Selection::Rejected => {
            let known = cursor::load(&cfg.files().cursor);
            let file = log_file(&log);
            let Some(c) = known.filter(|c| !c.rejected.is_empty()) else {
                // Nothing rejected is waiting: nothing to do.
                return Ok(summary);
            };
            if c.file.is_some() && c.file != file {
                summary.errors.push(
                    "the log was replaced since the collector rejected those events; \
                     send the whole log with --all instead"
                        .to_owned(),
                );
                return Ok(summary);
            }
            let mut shipper = Shipper::new(
                cfg,
                client.as_ref(),
                Commit::Nothing,
                Some(progress),
                Some(c.rejected.len() as u64),
            )
            .with_known(file, Some(c.clone()));
            let read = send_lines(&mut shipper, cfg, &log, &c.rejected)?;
            summary.selected = read.selected + read.unsent;
            shipper.report
        }
        selection => {
            let estimate = cursor::complete_lines_from(&log, 0).map_err(io("read the log"))?;
            let known = cursor::load(&cfg.files().cursor);
            let file = log_file(&log);
            let known = known.filter(|c| c.file.is_none() || c.file == file);
            let mut shipper = Shipper::new(
                cfg,
                client.as_ref(),
                Commit::Nothing,
                Some(progress),
                Some(estimate),
            )
            .with_known(file, known.clone());
            let read = send_selection(&mut shipper, cfg, &log, 0, selection, known.as_ref())?;
            let report = shipper.report;
            summary.selected = read.selected;
            summary.already_acknowledged = read.acknowledged;
            match read.stopped_at {
                Some(at) => summary.selected += count(&log, at, selection)?,
                None if selection == Selection::All && !request.dry_run => {
                    mark_all_sent(cfg, &log, read.last, report.newly_acknowledged)
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
    /// Selected events the collector had already acknowledged.
    acknowledged: u64,
}

fn log_file(log: &LocalLog) -> Option<cursor::FileId> {
    std::fs::metadata(log.path())
        .ok()
        .and_then(|m| cursor::FileId::of(&m))
}

/// What [`send_lines`] did.
struct Lines {
    /// Events handed to the shipper and settled.
    selected: u64,
    /// Events not sent because delivery stopped.
    unsent: u64,
}

/// Sends the event lines starting at `starts` (ascending), in batches.
fn send_lines(
    shipper: &mut Shipper<'_>,
    cfg: &DeliveryConfig,
    log: &LocalLog,
    starts: &[u64],
) -> Result<Lines, DeliveryError> {
    let mut batch: Vec<Item> = Vec::new();
    let mut done = Lines {
        selected: 0,
        unsent: 0,
    };
    let ship = |shipper: &mut Shipper<'_>, batch: &mut Vec<Item>, done: &mut Lines| {
        let n = batch.len() as u64;
        let upto = batch.last().map_or(0, |i| i.end);
        let flow = shipper.ship(batch, upto);
        batch.clear();
        if flow == Flow::Stop {
            done.unsent += n;
        } else {
            done.selected += n;
        }
        flow
    };
    for (i, &off) in starts.iter().enumerate() {
        let mut reader = log
            .read_from(off)
            .map_err(|e| io("read the log")(std::io::Error::other(e)))?;
        match reader.next() {
            Some(Ok(line)) if line.offset == off && line.complete => match line.entry {
                Ok(event) => batch.push(Item {
                    event,
                    start: line.offset,
                    end: line.end,
                    backfill: false,
                }),
                Err(_) => shipper.report.skipped_malformed += 1,
            },
            Some(Err(e)) => return Err(io("read the log")(e)),
            _ => shipper.report.skipped_malformed += 1,
        }
        if batch.len() >= cfg.batch_size && ship(shipper, &mut batch, &mut done) == Flow::Stop {
            done.unsent += (starts.len() - i - 1) as u64;
            return Ok(done);
        }
    }
    if !batch.is_empty() {
        ship(shipper, &mut batch, &mut done);
    }
    Ok(done)
}

/// Streams the log from `from`, sending selected events in batches.
fn send_selection(
    shipper: &mut Shipper<'_>,
    cfg: &DeliveryConfig,
    log: &LocalLog,
    from: u64,
    selection: Selection,
    known: Option<&cursor::CursorFile>,
) -> Result<Read, DeliveryError> {
    let mut batch: Vec<Item> = Vec::new();
    let mut read = Read {
        last: None,
        selected: 0,
        stopped_at: None,
        acknowledged: 0,
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
        if known.is_some_and(|c| c.acknowledged(line.offset)) {
            read.acknowledged += 1;
        }
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
/// `newly` events were acknowledged that had not been before: they count as sent.
fn mark_all_sent(
    cfg: &DeliveryConfig,
    log: &LocalLog,
    last: Option<LastAcked>,
    newly: u64,
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
        c.stats.sent_spans += newly;
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
