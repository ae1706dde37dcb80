//! The local event log: one JSON object per line, the user's own copy and the
//! durable spool that delivery reads from.
//!
//! Appends take an exclusive lock on the file, so many processes can record at
//! once without torn or interleaved lines. A writer that died mid-line (disk
//! full, power loss) leaves at most one torn last line: the next append sees the
//! missing newline and starts on a fresh line, and readers skip the torn one.
//! Reading never fails on bad content: malformed lines are reported and counted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::event::Event;
use crate::file_identity::is_same_file;
use crate::private_file::{self, PrivateFile};

/// The longest line a reader accepts; longer lines are reported as malformed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// How often an appender reopens the log when it keeps being replaced under it
/// (each replacement is a whole rewrite, so this bound is never reached in practice).
const MAX_REOPEN_ATTEMPTS: u32 = 1000;

/// Why the log could not be written or opened.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log's directory could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The log could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Reading or writing the log failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`lock`, `write to`, `read`).
        action: &'static str,
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Where an appended line landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Byte offset where the line starts.
    pub offset: u64,
    /// Byte offset just past its newline.
    pub end: u64,
    /// Whether a torn previous line had to be terminated first.
    pub repaired_torn_line: bool,
}

/// The local JSON Lines log at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLog {
    path: PathBuf,
}

impl LocalLog {
    /// A log at `path`. Nothing is created until the first append.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalLog { path: path.into() }
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event as a line. Creates the directory (0700) and the file (0600)
    /// when missing.
    pub fn append(&self, event: &Event) -> Result<Appended, LogError> {
        self.append_line(&event.to_json_line())
    }

    /// Appends one pre-serialized line (which must not contain a newline).
    pub(crate) fn append_line(&self, line: &str) -> Result<Appended, LogError> {
        let io_err = |action, source| LogError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        let mut file = self.open_locked()?;
        let len = file.metadata().map_err(|e| io_err("read", e))?.len();
        let torn = len > 0 && last_byte(&file, len).map_err(|e| io_err("read", e))? != b'\n';
        let mut buf = Vec::with_capacity(line.len() + 2);
        if torn {
            buf.push(b'\n');
        }
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        io::Write::write_all(&mut file, &buf).map_err(|e| io_err("write to", e))?;
        // The lock is released when `file` is closed.
        let offset = len + u64::from(torn);
        Ok(Appended {
            offset,
            end: len + buf.len() as u64,
            repaired_torn_line: torn,
        })
    }

    /// Opens the log for appending and takes its exclusive lock. If the file was
    /// replaced while we waited for the lock (a purge or rotation renamed a new file
    /// over it), the lock is on a file nobody reads any more: open the new one instead.
    fn open_locked(&self) -> Result<File, LogError> {
        let io_err = |action, source| LogError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        let mut attempts = 0;
        loop {
            let file = self.open_for_append()?;
            file.lock().map_err(|e| io_err("lock", e))?;
            attempts += 1;
            if attempts >= MAX_REOPEN_ATTEMPTS || is_same_file(&file, &self.path) {
                return Ok(file);
            }
        }
    }

    /// Rewrites the log keeping only the lines `keep` accepts, atomically: the new
    /// content is written to a temporary file beside the log and renamed over it while
    /// the log is locked, so concurrent appenders lose nothing.
    pub fn rewrite<F>(&self, mut keep: F) -> Result<Rewritten, LogError>
    where
        F: FnMut(&LogLine) -> bool,
    {
        let io_err = |action, source| LogError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        if !self.path.exists() {
            return Ok(Rewritten::default());
        }
        let lock = self.open_locked()?;
        let result = (|| {
            let mut out = PrivateFile::create(&self.path).map_err(|e| io_err("write to", e))?;
            let mut summary = Rewritten::default();
            let mut source = BufReader::new(File::open(&self.path).map_err(|e| io_err("read", e))?);
            let mut position = 0u64;
            for line in self.read()? {
                let line = line.map_err(|e| io_err("read", e))?;
                if !keep(&line) {
                    summary.removed += 1;
                    continue;
                }
                summary.kept += 1;
                if position != line.offset {
                    let delta = i64::try_from(line.offset).unwrap_or(i64::MAX)
                        - i64::try_from(position).unwrap_or(i64::MAX);
                    source.seek_relative(delta).map_err(|e| io_err("read", e))?;
                }
                let len = line.end - line.offset;
                let copied = io::copy(
                    &mut io::Read::take(io::Read::by_ref(&mut source), len),
                    &mut out,
                )
                .map_err(|e| io_err("write to", e))?;
                position = line.offset + copied;
                if !line.complete {
                    io::Write::write_all(&mut out, b"\n").map_err(|e| io_err("write to", e))?;
                }
            }
            out.commit().map_err(|e| io_err("replace", e))?;
            Ok(summary)
        })();
        drop(lock);
        result
    }

    fn open_for_append(&self) -> Result<File, LogError> {
        let open = || {
            let mut o = OpenOptions::new();
            o.read(true).append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(&self.path)
        };
        match open() {
            Ok(f) => Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_private_dir(dir)?;
                }
                open().map_err(|source| LogError::Open {
                    path: self.path.clone(),
                    source,
                })
            }
            Err(source) => Err(LogError::Open {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Deletes the log while holding its lock, so an append in progress finishes
    /// first and appends waiting for the lock go to a new file. Returns whether there
    /// was a log to delete.
    pub fn delete(&self) -> Result<bool, LogError> {
        let lock = match File::open(&self.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            // Not readable (or not a regular file): delete it without the lock.
            Err(_) => None,
        };
        if let Some(f) = &lock {
            let _ = f.lock();
        }
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(LogError::Io {
                action: "delete",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Whether the log file exists.
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }

    /// Reads the log from the start. A missing file reads as empty.
    pub fn read(&self) -> Result<LogReader, LogError> {
        self.read_from(0)
    }

    /// Reads the log from byte `offset` (which should be the start of a line).
    /// A missing file reads as empty.
    pub fn read_from(&self, offset: u64) -> Result<LogReader, LogError> {
        match File::open(&self.path) {
            Ok(mut f) => {
                if offset > 0 {
                    f.seek(SeekFrom::Start(offset))
                        .map_err(|source| LogError::Io {
                            action: "read",
                            path: self.path.clone(),
                            source,
                        })?;
                }
                Ok(LogReader::new(Some(f), offset))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LogReader::new(None, offset)),
            Err(source) => Err(LogError::Open {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Counts events and malformed lines in one streaming pass.
    pub fn stats(&self) -> Result<LogStats, LogError> {
        let mut stats = LogStats {
            bytes: fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
            ..LogStats::default()
        };
        for line in self.read()? {
            let line = line.map_err(|source| LogError::Io {
                action: "read",
                path: self.path.clone(),
                source,
            })?;
            match &line.entry {
                Ok(event) => {
                    stats.events += 1;
                    match event.timestamp {
                        Some(t) => {
                            stats.first = Some(stats.first.map_or(t, |f| f.min(t)));
                            stats.last = Some(stats.last.map_or(t, |l| l.max(t)));
                        }
                        None => stats.without_timestamp += 1,
                    }
                }
                Err(_) => stats.malformed += 1,
            }
        }
        Ok(stats)
    }
}

/// What [`LocalLog::rewrite`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Lines kept.
    pub kept: u64,
    /// Lines removed.
    pub removed: u64,
}

fn last_byte(file: &File, len: u64) -> io::Result<u8> {
    let mut b = [0u8; 1];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut b, len - 1)?;
    #[cfg(not(unix))]
    {
        let mut f = file;
        f.seek(SeekFrom::Start(len - 1))?;
        io::Read::read_exact(&mut f, &mut b)?;
    }
    Ok(b[0])
}

/// Creates `dir` and its missing parents with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), LogError> {
    private_file::create_private_dir(dir).map_err(|source| LogError::CreateDir {
        path: dir.to_owned(),
        source,
    })
}

/// Counts over the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogStats {
    /// File size in bytes (0 when missing).
    pub bytes: u64,
    /// Lines that are valid events.
    pub events: u64,
    /// Lines that are not (torn, not JSON, not an event, too long).
    pub malformed: u64,
    /// Events with no `timestamp` (written by the Python tool).
    pub without_timestamp: u64,
    /// Earliest event timestamp.
    pub first: Option<SystemTime>,
    /// Latest event timestamp.
    pub last: Option<SystemTime>,
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Not valid JSON.
    NotJson {
        /// 1-based column of the error within the line.
        column: usize,
    },
    /// Valid JSON, but not an event (not an object, or `command`/`success` missing or mistyped).
    NotAnEvent(String),
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::NotJson { column } => write!(f, "not valid JSON (column {column})"),
            Malformed::NotAnEvent(why) => write!(f, "not a telemetry event: {why}"),
            Malformed::TooLong => write!(f, "line longer than {MAX_LINE_BYTES} bytes"),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// 1-based line number, counted from where reading started.
    pub line_no: u64,
    /// Byte offset where the line starts.
    pub offset: u64,
    /// Byte offset just past the line (and its newline, if it has one).
    pub end: u64,
    /// Whether the line ends with a newline. The last line of a log may not, while a
    /// writer is mid-append or after a crash; delivery does not consume such a line.
    pub complete: bool,
    /// The event, or why the line is not one.
    pub entry: Result<Event, Malformed>,
}

/// A streaming reader over the log: memory use is bounded by the longest line it keeps
/// ([`MAX_LINE_BYTES`]), whatever the file size. Blank lines are skipped.
#[derive(Debug)]
pub struct LogReader {
    inner: Option<BufReader<File>>,
    offset: u64,
    line_no: u64,
    buf: Vec<u8>,
}

impl LogReader {
    fn new(file: Option<File>, offset: u64) -> Self {
        LogReader {
            inner: file.map(|f| BufReader::with_capacity(256 * 1024, f)),
            offset,
            line_no: 0,
            buf: Vec::with_capacity(1024),
        }
    }

    /// The byte offset just past the last line returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads one raw line into `self.buf`; returns (bytes consumed, complete, too long),
    /// or `None` at the end of the file.
    fn next_raw(&mut self) -> io::Result<Option<(u64, bool, bool)>> {
        let Some(r) = self.inner.as_mut() else {
            return Ok(None);
        };
        self.buf.clear();
        let mut consumed = 0u64;
        let mut too_long = false;
        loop {
            let chunk = match r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok((consumed > 0).then_some((consumed, false, too_long)));
            }
            let (take, done) = match memchr_newline(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done { &chunk[..take - 1] } else { chunk };
            if !too_long {
                if self.buf.len() + content.len() > MAX_LINE_BYTES {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(content);
                }
            }
            r.consume(take);
            consumed += take as u64;
            if done {
                return Ok(Some((consumed, true, too_long)));
            }
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn classify(line: &[u8]) -> Result<Event, Malformed> {
    Event::from_json_line(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            // serde's data errors can quote the offending value; keep only our own
            // wording, which names a key but never echoes content.
            let msg = e.to_string();
            if let Some(i) = msg.find("missing field") {
                let end = msg[i..].find(" at line").map_or(msg.len(), |j| i + j);
                Malformed::NotAnEvent(msg[i..end].to_owned())
            } else if msg.starts_with("`timestamp`") || msg.starts_with("`event_id`") {
                let end = msg.find(" at line").unwrap_or(msg.len());
                Malformed::NotAnEvent(msg[..end].to_owned())
            } else {
                Malformed::NotAnEvent("a key has a value of the wrong type".to_owned())
            }
        }
        _ => Malformed::NotJson { column: e.column() },
    })
}

impl Iterator for LogReader {
    type Item = io::Result<LogLine>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (consumed, complete, too_long) = match self.next_raw() {
                Ok(Some(x)) => x,
                Ok(None) => return None,
                Err(e) => {
                    self.inner = None;
                    return Some(Err(e));
                }
            };
            let offset = self.offset;
            self.offset += consumed;
            self.line_no += 1;
            if !too_long && self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry = if too_long {
                Err(Malformed::TooLong)
            } else {
                classify(&self.buf)
            };
            return Some(Ok(LogLine {
                line_no: self.line_no,
                offset,
                end: self.offset,
                complete,
                entry,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FieldValue;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/python-specfact-0.20.5/telemetry.log"
    );

    fn event(command: &str) -> Event {
        Event {
            command: command.into(),
            success: true,
            error: None,
            duration_ms: 1.5,
            session_id: "0123456789abcdef0123456789abcdef".into(),
            telemetry_version: Some("1.0".into()),
            cli_version: Some("1.0.0".into()),
            opt_in_source: Some("env".into()),
            timestamp: None,
            event_id: None,
            fields: vec![("checks_total".into(), FieldValue::Int(3))],
        }
    }

    #[test]
    fn reads_the_python_fixture() {
        let log = LocalLog::new(FIXTURE);
        let lines: Vec<_> = log.read().unwrap().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 6);
        assert!(lines.iter().all(|l| l.entry.is_ok() && l.complete));
        let stats = log.stats().unwrap();
        assert_eq!(
            (stats.events, stats.malformed, stats.without_timestamp),
            (6, 0, 6)
        );
        let last = lines.last().unwrap();
        assert_eq!(last.end, stats.bytes);
    }

    #[cfg(unix)]
    #[test]
    fn append_creates_private_directory_and_file() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("a/b/telemetry.log"));
        let first = log.append(&event("plan.init")).unwrap();
        assert_eq!(first.offset, 0);
        let second = log.append(&event("repro.run")).unwrap();
        assert_eq!(second.offset, first.end);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(log.path()), 0o600);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
        let cmds: Vec<_> = log
            .read()
            .unwrap()
            .map(|l| l.unwrap().entry.unwrap().command)
            .collect();
        assert_eq!(cmds, ["plan.init", "repro.run"]);
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_never_glued_to() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("telemetry.log");
        let good = event("plan.init").to_json_line();
        fs::write(&path, format!("{good}\n{{\"command\":\"repro.r")).unwrap();
        let log = LocalLog::new(&path);
        let lines: Vec<_> = log.read().unwrap().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 2);
        assert!(!lines[1].complete);
        assert!(matches!(lines[1].entry, Err(Malformed::NotJson { .. })));

        let appended = log.append(&event("enforce.stage")).unwrap();
        assert!(appended.repaired_torn_line);
        let entries: Vec<_> = log.read().unwrap().map(|l| l.unwrap()).collect();
        assert_eq!(entries.len(), 3);
        assert!(entries[1].entry.is_err() && entries[1].complete);
        assert_eq!(entries[2].entry.as_ref().unwrap().command, "enforce.stage");
        assert_eq!(entries[2].offset, appended.offset);
    }

    #[test]
    fn malformed_lines_are_counted_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("telemetry.log");
        let good = event("plan.init").to_json_line();
        let huge = "x".repeat(MAX_LINE_BYTES + 10);
        let content = format!(
            "{good}\nnot json\n\n[1,2]\n{{\"success\":true}}\n{{\"command\":\"a\",\"success\":\"/home/secret\"}}\n{huge}\n\u{0}\u{1}\n{good}\n"
        );
        fs::write(&path, content).unwrap();
        let log = LocalLog::new(&path);
        let lines: Vec<_> = log.read().unwrap().map(Result::unwrap).collect();
        let reasons: Vec<String> = lines
            .iter()
            .filter_map(|l| l.entry.as_ref().err().map(ToString::to_string))
            .collect();
        assert_eq!(reasons.len(), 6, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("missing field `command`"))
        );
        assert!(reasons.iter().any(|r| r.contains("longer than")));
        assert!(reasons.iter().all(|r| !r.contains("secret")), "{reasons:?}");
        let stats = log.stats().unwrap();
        assert_eq!((stats.events, stats.malformed), (2, 6));
        // Line numbers count the blank line too, so they match an editor's.
        assert_eq!(lines.last().unwrap().line_no, 9);
    }

    #[test]
    fn reading_from_an_offset_resumes_at_that_line() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("telemetry.log"));
        let a = log.append(&event("a.one")).unwrap();
        log.append(&event("b.two")).unwrap();
        let rest: Vec<_> = log
            .read_from(a.end)
            .unwrap()
            .map(|l| l.unwrap().entry.unwrap().command)
            .collect();
        assert_eq!(rest, ["b.two"]);
    }

    #[test]
    fn delete_removes_the_log_and_later_appends_start_a_new_one() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("telemetry.log"));
        assert!(!log.delete().unwrap());
        log.append(&event("a.one")).unwrap();
        assert!(log.delete().unwrap());
        assert!(!log.exists());
        log.append(&event("b.two")).unwrap();
        assert_eq!(log.stats().unwrap().events, 1);
    }

    #[test]
    fn a_missing_log_reads_as_empty_and_is_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("nope/telemetry.log"));
        assert_eq!(log.read().unwrap().count(), 0);
        assert_eq!(log.stats().unwrap(), LogStats::default());
        assert!(!tmp.path().join("nope").exists());
    }

    #[test]
    fn rewrite_keeps_what_it_is_told_and_survives_concurrent_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("telemetry.log"));
        for c in ["a.one", "b.two", "a.three"] {
            log.append(&event(c)).unwrap();
        }
        fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .and_then(|mut f| io::Write::write_all(&mut f, b"junk\n{\"command\":\"a.torn"))
            .unwrap();
        let done = log
            .rewrite(|l| {
                l.entry
                    .as_ref()
                    .map_or(true, |e| e.command.starts_with('a'))
            })
            .unwrap();
        assert_eq!(
            done,
            Rewritten {
                kept: 4,
                removed: 1
            }
        );
        let text = fs::read_to_string(log.path()).unwrap();
        assert!(text.ends_with("{\"command\":\"a.torn\n"), "{text}");
        assert!(!text.contains("b.two"));
        // An appender holding the old file is redirected to the new one.
        log.append(&event("c.four")).unwrap();
        let cmds: Vec<_> = log
            .read()
            .unwrap()
            .filter_map(|l| l.unwrap().entry.ok().map(|e| e.command))
            .collect();
        assert_eq!(cmds, ["a.one", "a.three", "c.four"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(log.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers = fs::read_dir(tmp.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary file left behind");
    }

    #[test]
    fn an_append_blocked_by_a_rewrite_lands_in_the_new_file() {
        let tmp = tempfile::tempdir().unwrap();
        let log = LocalLog::new(tmp.path().join("telemetry.log"));
        log.append(&event("a.one")).unwrap();
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        log.append(&event("w.rite")).unwrap();
                    }
                })
            })
            .collect();
        for _ in 0..20 {
            log.rewrite(|_| true).unwrap();
        }
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(log.stats().unwrap().events, 801);
    }

    #[test]
    fn append_to_an_unwritable_place_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("file"), "").unwrap();
        let log = LocalLog::new(tmp.path().join("file/telemetry.log"));
        let err = log.append(&event("a.b")).unwrap_err();
        assert!(err.to_string().contains("telemetry.log") || err.to_string().contains("file"));
    }
}
