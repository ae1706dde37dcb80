//! Reading the log from the cursor, sending batches, retrying, and moving the
//! cursor only over what the collector acknowledged (or rejected for good).

use std::io;
use std::time::{Duration, Instant, SystemTime};

use uuid::Uuid;

use super::config::DeliveryConfig;
use super::cursor::{self, CursorFile, FileId, LastAcked, Resume, event_identity, now_string};
use super::http::{Client, Outcome};
use super::{ExportProgress, debug};
use crate::env::EnvSnapshot;
use crate::event::{Event, format_timestamp};
use crate::log::LocalLog;
use crate::otlp;
use crate::sanitize::{MachineIdentity, RecheckMemo, Sanitizer};
use crate::schema::Schema;

/// One event line to send.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub event: Event,
    pub start: u64,
    pub end: u64,
    /// A line from the cursor's backfill list rather than after its offset.
    pub backfill: bool,
}

/// Whether to keep going after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// What a run did, for the export summary and the debug output.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub sent: u64,
    pub rejected: u64,
    pub partial_rejected: u64,
    pub skipped_malformed: u64,
    pub requests: u64,
    pub errors: Vec<String>,
    pub payloads: Vec<String>,
    /// Why the run stopped before the end of the log, if it did.
    pub stopped: Option<String>,
    /// Acknowledged events the collector had not acknowledged before (exports).
    pub newly_acknowledged: u64,
}

/// Where acknowledged batches are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Move the cursor (pending delivery).
    Cursor,
    /// Leave the cursor's position alone (exports of a selection, dry runs); a real
    /// export still updates the list of rejected lines and the counters.
    Nothing,
}

/// Sends batches with retries and records the result.
pub(crate) struct Shipper<'a> {
    cfg: &'a DeliveryConfig,
    client: Option<&'a Client>,
    commit: Commit,
    deadline: Instant,
    pub report: Report,
    progress: Option<&'a mut dyn FnMut(&ExportProgress)>,
    total: Option<u64>,
    file: Option<FileId>,
    /// The cursor as it was before an export, to tell acknowledged events from new ones.
    known: Option<CursorFile>,
    /// What every event read from the log is checked against again before it is sent.
    schema: Schema,
    identity: MachineIdentity,
    memo: RecheckMemo,
}

impl<'a> Shipper<'a> {
    /// A shipper; `client` is `None` for a dry run.
    pub(crate) fn new(
        cfg: &'a DeliveryConfig,
        client: Option<&'a Client>,
        commit: Commit,
        progress: Option<&'a mut dyn FnMut(&ExportProgress)>,
        total: Option<u64>,
    ) -> Self {
        Shipper {
            cfg,
            client,
            commit,
            deadline: Instant::now() + cfg.retry.max_elapsed,
            report: Report::default(),
            progress,
            total,
            file: None,
            known: None,
            schema: Schema::specfact(),
            identity: {
                let env = EnvSnapshot::from_process();
                MachineIdentity::detect(&env, env.home().as_deref())
            },
            memo: RecheckMemo::default(),
        }
    }

    /// For exports: the log file the offsets refer to and the cursor before the export.
    pub(crate) fn with_known(mut self, file: Option<FileId>, known: Option<CursorFile>) -> Self {
        self.file = file;
        self.known = known;
        self
    }

    fn tick(&mut self) {
        if let Some(p) = self.progress.as_mut() {
            p(&ExportProgress {
                sent: self.report.sent,
                rejected: self.report.rejected,
                total: self.total,
            });
        }
    }

    /// Sends `items` (at most one batch) and commits what the collector settled.
    /// `upto` is the log offset consumed with this batch (it may run past the last
    /// item over malformed lines).
    pub(crate) fn ship(&mut self, items: &[Item], upto: u64) -> Flow {
        if items.is_empty() {
            self.commit_items(items, upto, None);
            return Flow::Continue;
        }
        let now = SystemTime::now();
        let info = self.cfg.resource_info();
        // Only what passes the sanitizer again leaves the machine (see `Sanitizer::recheck`).
        let sanitizer = Sanitizer::new(&self.schema, &self.identity);
        let memo = &mut self.memo;
        let events: Vec<Event> = items
            .iter()
            .filter_map(|i| sanitizer.recheck_with(&i.event, memo))
            .collect();
        let Some(client) = self.client else {
            // Dry run: the exact request, as OTLP/JSON.
            self.report
                .payloads
                .push(otlp::to_json_pretty(&info, &events, now));
            self.report.sent += items.len() as u64;
            self.tick();
            return Flow::Continue;
        };
        let encoded = otlp::encode(&info, &events, now, self.cfg.protocol);
        let body = match if client.gzip() {
            otlp::gzip(&encoded)
        } else {
            Ok(encoded)
        } {
            Ok(b) => b,
            Err(e) => return self.stop(e.to_string(), "config", None),
        };
        let mut backoff = self.cfg.retry.initial_backoff;
        loop {
            self.report.requests += 1;
            let outcome = client.send(&body);
            match outcome {
                Outcome::Accepted(partial) => {
                    if let Some(p) = &partial {
                        let n = u64::try_from(p.rejected_spans.max(0)).unwrap_or(0);
                        self.report.partial_rejected += n;
                        debug(
                            self.cfg,
                            &format!(
                                "collector accepted {} spans but rejected {n}: {}",
                                items.len(),
                                p.error_message
                            ),
                        );
                    }
                    self.report.sent += items.len() as u64;
                    debug(self.cfg, &format!("delivered {} events", items.len()));
                    self.commit_items(items, upto, Some(Settled::Acked(partial)));
                    self.tick();
                    return Flow::Continue;
                }
                Outcome::TooLarge if items.len() > 1 => {
                    let mid = items.len() / 2;
                    let first_upto = items[mid - 1].end;
                    if self.ship(&items[..mid], first_upto) == Flow::Stop {
                        return Flow::Stop;
                    }
                    return self.ship(&items[mid..], upto);
                }
                Outcome::TooLarge => {
                    return self.reject(
                        items,
                        upto,
                        413,
                        "the collector answered 413 for a single span",
                    );
                }
                Outcome::Rejected { status, reason } => {
                    return self.reject(items, upto, status, &reason);
                }
                Outcome::Halt { status, reason } => {
                    let kind = if status.is_some_and(|s| s >= 500) {
                        "server"
                    } else {
                        "config"
                    };
                    return self.stop(reason, kind, status);
                }
                Outcome::Retry {
                    status,
                    reason,
                    retry_after,
                } => {
                    let wait = match retry_after {
                        Some(d) => d,
                        None => jitter(backoff),
                    };
                    backoff = (backoff * 2).min(self.cfg.retry.max_backoff);
                    let now = Instant::now();
                    if now + wait > self.deadline {
                        if let Some(d) = retry_after {
                            let until = SystemTime::now() + d;
                            self.with_cursor(|c| {
                                c.stats.retry_not_before = Some(format_timestamp(until))
                            });
                        }
                        return self.stop(
                            format!("{reason}; the events wait for the next run"),
                            "transient",
                            status,
                        );
                    }
                    debug(
                        self.cfg,
                        &format!("{reason}; retrying in {:.1}s", wait.as_secs_f64()),
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn reject(&mut self, items: &[Item], upto: u64, status: u16, reason: &str) -> Flow {
        let n = items.len() as u64;
        self.report.rejected += n;
        let msg = format!("{n} events rejected: {reason}; they stay in the local log");
        debug(self.cfg, &msg);
        self.report.errors.push(msg.clone());
        self.commit_items(
            items,
            upto,
            Some(Settled::Rejected {
                status,
                message: msg,
            }),
        );
        self.tick();
        Flow::Continue
    }

    fn stop(&mut self, reason: String, kind: &str, status: Option<u16>) -> Flow {
        let reason = self.cfg.scrub(&reason);
        debug(self.cfg, &reason);
        self.report.errors.push(reason.clone());
        self.report.stopped = Some(reason.clone());
        let attempted = self.report.requests > 0;
        self.with_cursor(|c| {
            if attempted {
                c.stats.last_attempt = Some(now_string());
            }
            c.record_error(kind, status, reason);
        });
        Flow::Stop
    }

    /// Applies `f` to the existing cursor (error records are kept even for exports).
    fn with_cursor(&mut self, f: impl FnOnce(&mut CursorFile)) {
        let files = self.cfg.files();
        let _ = cursor::update(&files, |c| {
            if let Some(c) = c.as_mut() {
                f(c);
            }
        });
    }

    fn commit_items(&mut self, items: &[Item], upto: u64, settled: Option<Settled>) {
        if self.commit != Commit::Cursor {
            self.commit_export(items, settled);
            return;
        }
        let file = self.file;
        let files = self.cfg.files();
        let last = items.iter().rev().find(|i| !i.backfill).map(|i| LastAcked {
            start: i.start,
            end: i.end,
            id: event_identity(&i.event),
        });
        let backfilled: Vec<u64> = items
            .iter()
            .filter(|i| i.backfill)
            .map(|i| i.start)
            .collect();
        let n = items.len() as u64;
        let r = cursor::update(&files, |c| {
            let Some(c) = c.as_mut() else { return };
            if file.is_some() && c.file.is_some() && c.file != file {
                return;
            }
            if upto > c.offset {
                c.offset = upto;
                if last.is_some() {
                    c.last = last;
                }
            }
            c.backfill.retain(|o| !backfilled.contains(o));
            if settled.is_some() {
                c.stats.last_attempt = Some(now_string());
                c.stats.retry_not_before = None;
            }
            match settled {
                Some(Settled::Acked(partial)) => {
                    c.stats.sent_spans += n;
                    c.stats.last_success = Some(now_string());
                    c.stats.last_error = None;
                    if let Some(p) = partial {
                        let k = u64::try_from(p.rejected_spans.max(0)).unwrap_or(0);
                        c.stats.partial_rejected_spans += k;
                        c.stats.last_partial_message = Some(p.error_message);
                    }
                }
                Some(Settled::Rejected { status, message }) => {
                    c.stats.rejected_spans += n;
                    c.note_rejected(items.iter().map(|i| i.start));
                    c.record_error("rejected", Some(status), message);
                }
                None => {}
            }
        });
        if let Err(e) = r {
            debug(self.cfg, &format!("cannot update the delivery cursor: {e}"));
        }
    }
}

impl Shipper<'_> {
    /// What an export (not moving the cursor) settles: acknowledged lines leave the
    /// rejected list and count as sent; rejected ones join it.
    fn commit_export(&mut self, items: &[Item], settled: Option<Settled>) {
        if self.client.is_none() {
            return;
        }
        let known = self.known.as_ref();
        let was_acked = |start: u64| known.is_some_and(|c| c.acknowledged(start));
        let was_rejected = |start: u64| known.is_some_and(|c| c.rejected.contains(&start));
        let starts: Vec<u64> = items.iter().map(|i| i.start).collect();
        let file = self.file;
        match settled {
            Some(Settled::Acked(_)) => {
                self.report.newly_acknowledged += starts
                    .iter()
                    .filter(|&&s| !was_acked(s) && !was_rejected(s))
                    .count() as u64;
                self.with_cursor(|c| {
                    c.stats.last_success = Some(now_string());
                    if file.is_none() || c.file == file {
                        let k = c.forget_rejected(&starts);
                        c.stats.rejected_spans = c.stats.rejected_spans.saturating_sub(k);
                        c.stats.sent_spans += k;
                    }
                });
            }
            Some(Settled::Rejected { .. }) => {
                let fresh: Vec<u64> = starts.iter().copied().filter(|&s| !was_acked(s)).collect();
                self.with_cursor(|c| {
                    if file.is_none() || c.file == file {
                        let added = c.note_rejected(fresh);
                        c.stats.rejected_spans += added;
                    }
                });
            }
            None => {}
        }
    }
}

enum Settled {
    Acked(Option<otlp::PartialSuccess>),
    Rejected { status: u16, message: String },
}

/// A wait between `d/2` and `d`.
fn jitter(d: Duration) -> Duration {
    let r = (Uuid::new_v4().as_u128() & 0xffff) as f64 / 65535.0;
    d.mul_f64(0.5 + 0.5 * r)
}

/// Loads the cursor (enrolling at `enrol_at` if there is none), re-bases it on a
/// replaced log, and returns it with the log's identity. `None`: nothing to read.
pub(crate) fn prepare_cursor(
    cfg: &DeliveryConfig,
    log: &LocalLog,
    enrol_at: Option<u64>,
) -> io::Result<Option<CursorFile>> {
    let files = cfg.files();
    cursor::update(&files, |slot| -> io::Result<Option<CursorFile>> {
        if slot.is_none() {
            let Some(at) = enrol_at else { return Ok(None) };
            let file = std::fs::metadata(log.path())
                .ok()
                .and_then(|m| FileId::of(&m));
            *slot = Some(CursorFile::enrol(
                cfg.endpoint_display(),
                log.path(),
                file,
                at,
            ));
            if let Some(c) = slot.as_mut() {
                c.note_event_time(cursor::event_time_at(log, at));
            }
        }
        let Some(c) = slot.as_mut() else {
            return Ok(None);
        };
        match cursor::verify(c, log)? {
            Resume::NoLog => return Ok(None),
            Resume::Continue => {}
            Resume::Rebase {
                file,
                offset,
                reason,
            } => {
                debug(
                    cfg,
                    &format!("{reason}; resuming delivery at byte {offset}"),
                );
                c.rebase(file, offset, log_len(log));
                c.stats.log_resets += 1;
                c.stats.last_reset = Some(format!("{}: {reason}", now_string()));
            }
        }
        if c.file.is_none() {
            c.file = std::fs::metadata(log.path())
                .ok()
                .and_then(|m| FileId::of(&m));
        }
        Ok(Some(c.clone()))
    })?
}

/// Sends everything pending for this endpoint: backfilled lines, then the log from
/// the cursor to its last complete line.
pub(crate) fn drain(
    shipper: &mut Shipper<'_>,
    log: &LocalLog,
    enrol_at: Option<u64>,
) -> io::Result<()> {
    let cfg = shipper.cfg;
    let Some(c) = prepare_cursor(cfg, log, enrol_at)? else {
        return Ok(());
    };
    shipper.file = c.file;
    let batch_size = cfg.batch_size.max(1);
    let mut batch: Vec<Item> = Vec::with_capacity(batch_size.min(4096));

    // Lines appended with the endpoint configured while the cursor was being created.
    for &off in &c.backfill {
        let mut reader = log.read_from(off).map_err(io::Error::other)?;
        if let Some(Ok(line)) = reader.next()
            && line.offset == off
            && line.complete
            && let Ok(event) = line.entry
        {
            batch.push(Item {
                event,
                start: line.offset,
                end: line.end,
                backfill: true,
            });
        }
    }
    if !c.backfill.is_empty() {
        // Backfill lines are before the offset: committing moves nothing but the list.
        let upto = c.offset;
        if shipper.ship(&batch, upto) == Flow::Stop {
            return Ok(());
        }
        batch.clear();
    }

    let mut upto = c.offset;
    for line in log.read_from(c.offset).map_err(io::Error::other)? {
        let line = line?;
        if !line.complete {
            break;
        }
        match line.entry {
            Ok(event)
                if c.unplaced
                    .as_ref()
                    .is_some_and(|u| u.skips(line.offset, &event)) =>
            {
                debug(
                    cfg,
                    &format!(
                        "not sending the event at byte {}: logged before delivery to this endpoint started",
                        line.offset
                    ),
                );
            }
            Ok(event) => batch.push(Item {
                event,
                start: line.offset,
                end: line.end,
                backfill: false,
            }),
            Err(why) => {
                shipper.report.skipped_malformed += 1;
                debug(
                    cfg,
                    &format!("skipping log line at byte {}: {why}", line.offset),
                );
            }
        }
        upto = line.end;
        if batch.len() >= batch_size {
            if shipper.ship(&batch, upto) == Flow::Stop {
                return Ok(());
            }
            batch.clear();
        }
    }
    if !batch.is_empty() || upto > c.offset {
        shipper.ship(&batch, upto);
    }
    Ok(())
}

/// Whether the log has complete lines after the cursor (or backfill to send).
pub(crate) fn has_pending(cfg: &DeliveryConfig, log: &LocalLog) -> bool {
    let Some(c) = cursor::load(&cfg.files().cursor) else {
        return false;
    };
    if !c.backfill.is_empty() {
        return true;
    }
    match std::fs::metadata(log.path()) {
        Ok(m) => m.len() > c.offset || (c.file.is_some() && FileId::of(&m) != c.file),
        Err(_) => false,
    }
}

fn log_len(log: &LocalLog) -> u64 {
    std::fs::metadata(log.path()).map(|m| m.len()).unwrap_or(0)
}

/// One uploader run for a held lock: drains the log, releases the lock, and goes
/// again while events keep arriving and the collector keeps accepting them.
pub(crate) fn run_locked(
    cfg: &DeliveryConfig,
    lock: super::lock::FileLock,
    enrol_at: Option<u64>,
) -> Report {
    let log = LocalLog::new(&cfg.log_path);
    let mut total = Report::default();
    if let Some(why) = cfg.refusal() {
        debug(cfg, &why);
        total.stopped = Some(why);
        return total;
    }
    let client = Client::new(cfg);
    let mut lock = Some(lock);
    loop {
        if let Some(l) = &lock {
            // The longest this pass can take: its retries, then one last request.
            l.note_until(SystemTime::now() + cfg.retry.max_elapsed + cfg.export_timeout);
        }
        let size_before = log_len(&log);
        let mut shipper = Shipper::new(cfg, Some(&client), Commit::Cursor, None, None);
        if let Err(e) = drain(&mut shipper, &log, enrol_at) {
            debug(cfg, &format!("cannot read the log: {e}"));
            shipper.report.stopped = Some(e.to_string());
        }
        let r = shipper.report;
        total.sent += r.sent;
        total.rejected += r.rejected;
        total.partial_rejected += r.partial_rejected;
        total.skipped_malformed += r.skipped_malformed;
        total.requests += r.requests;
        total.errors.extend(r.errors);
        drop(lock.take());
        if r.stopped.is_some() {
            total.stopped = r.stopped;
            break;
        }
        // Appended while we worked: whoever appended saw the lock held and left it to us.
        if log_len(&log) <= size_before || !has_pending(cfg, &log) {
            break;
        }
        match super::lock::FileLock::try_acquire(&cfg.files().uploader_lock) {
            Ok(Some(l)) => lock = Some(l),
            _ => break,
        }
    }
    total
}
