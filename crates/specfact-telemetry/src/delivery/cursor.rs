//! The per-endpoint cursor: how far into the log the collector has acknowledged,
//! and the small delivery record that `status` shows.
//!
//! The cursor names the log file it belongs to (device and inode), the offset just
//! past the last acknowledged line, and the start and identity of that line. Before
//! resuming, the uploader checks all three; when the log was deleted, truncated,
//! rotated or replaced, it looks for the last acknowledged line in the new file and
//! resumes after it, or starts the new file from its beginning.
//!
//! Every change is a read-modify-write under a short lock, written to a temporary
//! file (0600) and renamed over the old one, so a crash leaves the old cursor or the
//! new one, never a torn one. Without an fsync a power loss can roll the cursor back:
//! the events are then sent again with the same trace and span ids.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::StateFiles;
use super::lock::FileLock;
use crate::event::{Event, format_timestamp, parse_timestamp};
use crate::log::LocalLog;

/// Version of the cursor file format.
const CURSOR_VERSION: u32 = 1;

/// Most lines remembered for the enrolment backfill (see [`CursorFile::backfill`]).
const MAX_BACKFILL: usize = 4096;

/// Most rejected lines remembered for `export --rejected` (see [`CursorFile::rejected`]).
#[cfg(any(feature = "otlp", test))]
const MAX_REJECTED: usize = 10_000;

/// The stable identity of an event ([`Event::identity`]).
pub fn event_identity(event: &Event) -> Uuid {
    event.identity()
}

/// Device and inode of a file: what tells "the same log, grown" from "a new log".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    #[cfg(unix)]
    pub(crate) fn of(meta: &fs::Metadata) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn of(_meta: &fs::Metadata) -> Option<FileId> {
        None
    }
}

/// The last acknowledged event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LastAcked {
    pub start: u64,
    pub end: u64,
    pub id: Uuid,
}

/// A recorded delivery error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorRecord {
    /// RFC 3339 time.
    pub at: String,
    /// `transient`, `rejected`, `config` or `refused`.
    pub kind: String,
    /// HTTP status, when the collector answered.
    pub status: Option<u16>,
    /// What went wrong; never holds a credential.
    pub message: String,
}

/// Counters and times for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Stats {
    pub last_attempt: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<ErrorRecord>,
    pub sent_spans: u64,
    pub rejected_spans: u64,
    pub partial_rejected_spans: u64,
    pub last_partial_message: Option<String>,
    pub skipped_lines: u64,
    pub retry_not_before: Option<String>,
    pub log_resets: u64,
    pub last_reset: Option<String>,
}

/// The cursor file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CursorFile {
    pub version: u32,
    /// The endpoint, redacted (for people reading the file).
    pub endpoint: String,
    /// The log path (for people reading the file).
    pub log_path: String,
    /// Identity of the log file the offsets refer to.
    pub file: Option<FileId>,
    /// Where delivery to this endpoint started in this file: lines before it were
    /// written before the endpoint was configured, except those in `backfill`.
    pub base: u64,
    /// Everything from `base` up to here is acknowledged (or skipped as malformed).
    pub offset: u64,
    /// The last acknowledged event line.
    pub last: Option<LastAcked>,
    /// Starts of lines before `base` that were appended with the endpoint configured
    /// (processes finishing together while the cursor was being created).
    pub backfill: Vec<u64>,
    /// When delivery to this endpoint started (RFC 3339): no later than the wall-clock
    /// time of enrolment nor the `timestamp` of the event that enrolled it. Absent in
    /// cursors written by older versions.
    #[serde(default)]
    pub enrolled_at: Option<String>,
    /// Set when the log was rewritten and the position could not be recovered.
    #[serde(default)]
    pub unplaced: Option<Unplaced>,
    /// Starts of event lines the collector rejected for good (a 4xx), in this file,
    /// ascending: what `export --rejected` sends again.
    #[serde(default)]
    pub rejected: Vec<u64>,
    /// Counters and times for `status`.
    #[serde(default)]
    pub stats: Stats,
}

/// Lines of a rewritten log whose place relative to the enrolment is unknown: those
/// before `upto` are sent only when their `timestamp` is at or after `since`, so
/// events logged before the endpoint was configured stay local across rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unplaced {
    /// The enrolment time (RFC 3339).
    pub since: String,
    /// The end of the log when it was re-based: later lines are new.
    pub upto: u64,
}

impl Unplaced {
    /// Whether the event in the line starting at `offset` must not be sent.
    pub(crate) fn skips(&self, offset: u64, event: &Event) -> bool {
        if offset >= self.upto {
            return false;
        }
        match (parse_timestamp(&self.since), event.timestamp) {
            (Some(since), Some(t)) => t < since,
            // An event without a time cannot be placed; an unreadable bound places nothing.
            _ => true,
        }
    }
}

impl CursorFile {
    /// A new cursor starting at `offset` of the log file `file`.
    pub(crate) fn enrol(
        endpoint: String,
        log_path: &Path,
        file: Option<FileId>,
        offset: u64,
    ) -> Self {
        CursorFile {
            version: CURSOR_VERSION,
            endpoint,
            log_path: log_path.to_string_lossy().into_owned(),
            file,
            base: offset,
            offset,
            last: None,
            backfill: Vec::new(),
            enrolled_at: Some(now_string()),
            unplaced: None,
            rejected: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Moves the enrolment time back to `t` (the `timestamp` of an event appended
    /// with the endpoint configured) if `t` is earlier. Returns whether it changed.
    pub(crate) fn note_event_time(&mut self, t: Option<SystemTime>) -> bool {
        let Some(t) = t else { return false };
        match parse_time(&self.enrolled_at) {
            Some(at) if at <= t => false,
            // Cursors from older versions have no enrolment time: leave them alone.
            None if self.enrolled_at.is_none() => false,
            _ => {
                self.enrolled_at = Some(format_timestamp(t));
                true
            }
        }
    }

    /// Re-bases the cursor on `file` at `offset` after the log changed under it.
    /// When the position was lost (`offset` 0 although the cursor had started or
    /// acknowledged something), lines up to `log_len` are filtered by enrolment time.
    pub(crate) fn rebase(&mut self, file: Option<FileId>, offset: u64, log_len: u64) {
        self.unplaced = if offset == 0 {
            self.enrolled_at.clone().map(|since| Unplaced {
                since,
                upto: log_len,
            })
        } else {
            None
        };
        self.file = file;
        self.base = offset;
        self.offset = offset;
        self.last = None;
        self.backfill.clear();
        // Offsets into another file mean nothing.
        self.rejected.clear();
    }

    /// Remembers rejected event lines (bounded); returns how many were new.
    #[cfg(any(feature = "otlp", test))]
    pub(crate) fn note_rejected(&mut self, starts: impl IntoIterator<Item = u64>) -> u64 {
        let mut added = 0;
        for s in starts {
            if self.rejected.len() >= MAX_REJECTED {
                break;
            }
            if let Err(at) = self.rejected.binary_search(&s) {
                self.rejected.insert(at, s);
                added += 1;
            }
        }
        added
    }

    /// Forgets rejected lines that were delivered after all; returns how many.
    #[cfg(any(feature = "otlp", test))]
    pub(crate) fn forget_rejected(&mut self, starts: &[u64]) -> u64 {
        let before = self.rejected.len();
        self.rejected.retain(|s| !starts.contains(s));
        (before - self.rejected.len()) as u64
    }

    /// Whether the event line starting at `offset` was acknowledged by the collector:
    /// after the enrolment, before the cursor, and neither rejected nor waiting.
    #[cfg(any(feature = "otlp", test))]
    pub(crate) fn acknowledged(&self, offset: u64) -> bool {
        offset >= self.base
            && offset < self.offset
            && self.rejected.binary_search(&offset).is_err()
            && !self.backfill.contains(&offset)
    }

    /// Notes that a line starting at `offset` was appended with this endpoint configured.
    /// Returns whether the cursor changed.
    pub(crate) fn note_append(&mut self, file: Option<FileId>, offset: u64) -> bool {
        if self.file.is_some() && file.is_some() && self.file != file {
            // A different log file: the uploader re-bases on it and sends it whole.
            return false;
        }
        if offset < self.base
            && !self.backfill.contains(&offset)
            && self.backfill.len() < MAX_BACKFILL
        {
            self.backfill.push(offset);
            self.backfill.sort_unstable();
            return true;
        }
        false
    }

    /// Records an error for `status`.
    pub(crate) fn record_error(&mut self, kind: &str, status: Option<u16>, message: String) {
        self.stats.last_error = Some(ErrorRecord {
            at: now_string(),
            kind: kind.to_owned(),
            status,
            message,
        });
    }
}

/// The current time as written in the state file.
pub(crate) fn now_string() -> String {
    format_timestamp(SystemTime::now())
}

/// Parses a time written by [`now_string`].
pub(crate) fn parse_time(s: &Option<String>) -> Option<SystemTime> {
    s.as_deref().and_then(parse_timestamp)
}

/// Reads the cursor file; a missing or unreadable one reads as `None`.
pub(crate) fn load(path: &Path) -> Option<CursorFile> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice::<CursorFile>(&bytes)
        .ok()
        .filter(|c| c.version == CURSOR_VERSION)
}

/// Writes the cursor file atomically (temporary file, 0600, then rename).
pub(crate) fn save(path: &Path, cursor: &CursorFile) -> io::Result<()> {
    let json = serde_json::to_vec(cursor).map_err(io::Error::other)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f: File = o.open(&tmp)?;
        f.write_all(&json)?;
        fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

/// Runs `f` on the cursor under the update lock and saves it if `f` changed it.
pub(crate) fn update<R>(
    files: &StateFiles,
    f: impl FnOnce(&mut Option<CursorFile>) -> R,
) -> io::Result<R> {
    let _guard = FileLock::acquire(&files.update_lock)?;
    let before = load(&files.cursor);
    let mut cursor = before.clone();
    let r = f(&mut cursor);
    if cursor != before
        && let Some(c) = &cursor
    {
        save(&files.cursor, c)?;
    }
    Ok(r)
}

/// Where to resume reading the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resume {
    /// There is no log file (deleted, or not written yet): nothing to send.
    NoLog,
    /// The cursor still describes this file.
    Continue,
    /// The log was replaced, truncated or rewritten; the cursor must be re-based.
    Rebase {
        file: Option<FileId>,
        offset: u64,
        reason: &'static str,
    },
}

/// Checks the cursor against the log file as it is now.
pub(crate) fn verify(cursor: &CursorFile, log: &LocalLog) -> io::Result<Resume> {
    let meta = match fs::metadata(log.path()) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Resume::NoLog),
        Err(e) => return Err(e),
    };
    let file = FileId::of(&meta);
    let same_file = cursor.file.is_none() || file.is_none() || cursor.file == file;
    let reason = if !same_file {
        "the log file was replaced or rotated"
    } else if meta.len() < cursor.offset {
        "the log file was truncated"
    } else if !last_line_matches(cursor.last.as_ref(), log)? {
        "the log file was rewritten"
    } else {
        return Ok(Resume::Continue);
    };
    let offset = match cursor.last {
        Some(last) => find_line_end(log, last.id)?.unwrap_or(0),
        None => 0,
    };
    Ok(Resume::Rebase {
        file,
        offset,
        reason,
    })
}

fn last_line_matches(last: Option<&LastAcked>, log: &LocalLog) -> io::Result<bool> {
    let Some(last) = last else {
        return Ok(true);
    };
    let mut reader = log.read_from(last.start).map_err(io::Error::other)?;
    Ok(match reader.next() {
        Some(Ok(line)) => {
            line.offset == last.start
                && line.end == last.end
                && line.complete
                && line
                    .entry
                    .as_ref()
                    .is_ok_and(|e| event_identity(e) == last.id)
        }
        _ => false,
    })
}

/// The end of the complete line holding the event `id`, if the log has one.
fn find_line_end(log: &LocalLog, id: Uuid) -> io::Result<Option<u64>> {
    for line in log.read().map_err(io::Error::other)? {
        let line = line?;
        if line.complete && line.entry.as_ref().is_ok_and(|e| event_identity(e) == id) {
            return Ok(Some(line.end));
        }
    }
    Ok(None)
}

/// Complete lines from `offset` to the end of the log, counted without parsing them
/// (an upper bound of the events there, for progress totals).
#[cfg(feature = "otlp")]
pub(crate) fn complete_lines_from(log: &LocalLog, offset: u64) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    // Never blocks: a FIFO or a device named as the log is refused, not opened.
    let mut f = match crate::log::open_regular_for_reading(log.path()) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                log.path().display()
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let got = match f.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(g) => g,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        n += buf[..got].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// The line starting at `offset`'s event time, if it is a complete event line.
pub(crate) fn event_time_at(log: &LocalLog, offset: u64) -> Option<SystemTime> {
    let line = log.read_from(offset).ok()?.next()?.ok()?;
    if line.offset != offset || !line.complete {
        return None;
    }
    line.entry.ok()?.timestamp
}

/// Events waiting to be sent: backfilled lines plus complete event lines after the cursor.
pub(crate) fn pending_events(cursor: &CursorFile, log: &LocalLog) -> io::Result<u64> {
    let (from, unplaced) = match verify(cursor, log)? {
        Resume::NoLog => return Ok(0),
        Resume::Continue => (cursor.offset, cursor.unplaced.clone()),
        Resume::Rebase { file, offset, .. } => {
            let mut c = cursor.clone();
            c.rebase(file, offset, u64::MAX);
            (offset, c.unplaced)
        }
    };
    let mut n = 0u64;
    for line in log.read_from(from).map_err(io::Error::other)? {
        let line = line?;
        if let (true, Ok(e)) = (line.complete, &line.entry)
            && !unplaced.as_ref().is_some_and(|u| u.skips(line.offset, e))
        {
            n += 1;
        }
    }
    Ok(n + cursor.backfill.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FieldValue;

    fn event(n: i64) -> Event {
        Event {
            command: "repro.run".into(),
            success: true,
            error: None,
            duration_ms: Some(1.0),
            session_id: format!("{n:032x}"),
            telemetry_version: Some("1.0".into()),
            cli_version: Some("1.0.0".into()),
            opt_in_source: Some("env".into()),
            timestamp: None,
            event_id: None,
            fields: vec![("checks_total".into(), FieldValue::Int(n))],
        }
    }

    fn acked(log: &LocalLog, upto: usize) -> CursorFile {
        let lines: Vec<_> = log.read().unwrap().map(Result::unwrap).collect();
        let meta = fs::metadata(log.path()).unwrap();
        let mut c = CursorFile::enrol("e".into(), log.path(), FileId::of(&meta), 0);
        let l = &lines[upto - 1];
        c.offset = l.end;
        c.last = Some(LastAcked {
            start: l.offset,
            end: l.end,
            id: event_identity(l.entry.as_ref().unwrap()),
        });
        c
    }

    #[test]
    fn rejected_lines_are_remembered_once_forgotten_when_delivered_and_dropped_on_rebase() {
        let mut c = CursorFile::enrol("e".into(), Path::new("/l"), None, 100);
        c.offset = 900;
        assert_eq!(c.note_rejected([300, 200, 300]), 2);
        assert_eq!(c.rejected, [200, 300]);
        assert!(c.acknowledged(100) && !c.acknowledged(200) && !c.acknowledged(900));
        assert!(!c.acknowledged(50), "before the enrolment: never sent");
        assert_eq!(c.forget_rejected(&[300, 400]), 1);
        assert_eq!(c.rejected, [200]);
        c.rebase(None, 0, 10);
        assert!(c.rejected.is_empty());
        // Cursors written before the list existed still load.
        let old = r#"{"version":1,"endpoint":"e","log_path":"/l","file":null,"base":0,"offset":0,"last":null,"backfill":[]}"#;
        assert!(
            serde_json::from_str::<CursorFile>(old)
                .unwrap()
                .rejected
                .is_empty()
        );
    }

    #[test]
    fn identity_is_the_event_id_or_a_stable_hash_of_the_line() {
        let e = event(1);
        assert_eq!(event_identity(&e), event_identity(&e.clone()));
        assert_ne!(event_identity(&e), event_identity(&event(2)));
        let id = Uuid::now_v7();
        assert_eq!(
            event_identity(&Event {
                event_id: Some(id),
                ..e
            }),
            id
        );
    }

    #[test]
    fn a_grown_log_continues_and_a_truncated_one_restarts() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("t.log"));
        for i in 0..3 {
            log.append(&event(i)).unwrap();
        }
        let c = acked(&log, 2);
        log.append(&event(3)).unwrap();
        assert_eq!(verify(&c, &log).unwrap(), Resume::Continue);
        assert_eq!(pending_events(&c, &log).unwrap(), 2);

        fs::write(log.path(), "").unwrap();
        log.append(&event(9)).unwrap();
        match verify(&c, &log).unwrap() {
            Resume::Rebase { offset, .. } => assert_eq!(offset, 0),
            other => panic!("{other:?}"),
        }
        fs::remove_file(log.path()).unwrap();
        assert_eq!(verify(&c, &log).unwrap(), Resume::NoLog);
    }

    #[test]
    fn a_replaced_log_resumes_after_the_last_acknowledged_line() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("t.log"));
        for i in 0..4 {
            log.append(&event(i)).unwrap();
        }
        let c = acked(&log, 3);
        // Rewritten as a new file without the first line (as `sed -i 1d` does).
        let text = fs::read_to_string(log.path()).unwrap();
        let rest: String = text.split_inclusive('\n').skip(1).collect();
        fs::remove_file(log.path()).unwrap();
        fs::write(log.path(), &rest).unwrap();
        let resume = verify(&c, &log).unwrap();
        let first_unsent = rest
            .split_inclusive('\n')
            .take(2)
            .map(str::len)
            .sum::<usize>() as u64;
        match resume {
            Resume::Rebase { offset, .. } => assert_eq!(offset, first_unsent),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cursors_without_an_enrolment_time_still_load() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.json");
        let old = r#"{"version":1,"endpoint":"e","log_path":"/l","file":null,"base":3,"offset":3,"last":null,"backfill":[],"stats":{}}"#;
        fs::write(&p, old).unwrap();
        let mut c = load(&p).unwrap();
        assert_eq!(
            (c.enrolled_at.as_deref(), c.unplaced.as_ref()),
            (None, None)
        );
        c.rebase(None, 0, 10);
        assert_eq!(c.unplaced, None);
    }

    #[test]
    fn saved_cursors_load_back_and_garbage_reads_as_none() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("c.json");
        let mut c = CursorFile::enrol("https://x".into(), Path::new("/l"), None, 7);
        assert!(c.note_append(None, 3));
        assert!(!c.note_append(None, 3));
        assert!(!c.note_append(None, 9));
        save(&p, &c).unwrap();
        assert_eq!(load(&p), Some(c));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::write(&p, "{not json").unwrap();
        assert_eq!(load(&p), None);
    }
}
