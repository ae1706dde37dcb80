//! Following the log as it grows, for readers that poll (`show --follow`, a dashboard).
//!
//! A follower remembers how far it has read. Before each read it checks that the file
//! is still the one it read, and starts over from the beginning when it is not:
//!
//! * **truncated** — shorter than what was read;
//! * **replaced** — another file renamed over the path (a rotation, a purge of old
//!   events): a new device or inode;
//! * **overwritten** in place (`cp other.log telemetry.log`: the same inode, other
//!   bytes) — the bytes already read no longer match: the first and the last
//!   [`FINGERPRINT_BYTES`] before the read offset are kept and compared;
//! * **deleted**.
//!
//! ```
//! use specfact_telemetry::LocalLog;
//! use specfact_telemetry::log::tail::{LogTail, Restart};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("telemetry.log");
//! std::fs::write(&path, "{\"command\":\"a\",\"success\":true}\n")?;
//! let mut tail = LogTail::new(LocalLog::new(&path));
//!
//! let poll = tail.poll()?;
//! let mut lines = 0;
//! for line in tail.log().read_from(tail.offset())? {
//!     let line = line?;
//!     lines += 1;
//!     tail.advance(line.end)?;
//! }
//! assert_eq!((poll.restart, lines), (None, 1));
//!
//! // Overwritten in place with other content of the same length or longer.
//! std::fs::write(&path, "{\"command\":\"b\",\"success\":true}\n{\"command\":\"c\",\"success\":true}\n")?;
//! let poll = tail.poll()?;
//! assert_eq!(poll.restart, Some(Restart::Overwritten));
//! assert_eq!(tail.offset(), 0); // read it all again
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io;
use std::path::PathBuf;

use super::{LocalLog, LogError};
use crate::file_identity::FileId;

/// How many bytes at the start of the log, and just before the read offset, are kept to
/// notice an overwrite in place.
pub const FINGERPRINT_BYTES: usize = 4096;

/// Why a follower starts over from the beginning of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// The file is shorter than what was read.
    Truncated,
    /// Another file now has the log's name.
    Replaced,
    /// The same file holds other bytes where it was read.
    Overwritten,
    /// The file is gone.
    Deleted,
}

/// What [`LogTail::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poll {
    /// Set when what was read no longer describes the log: the offset is back to 0
    /// and everything derived from the old content should be dropped.
    pub restart: Option<Restart>,
    /// The log's current size (0 when it does not exist).
    pub len: u64,
}

impl Poll {
    /// Whether there are bytes past the read offset `offset`.
    pub fn has_new_bytes(&self, offset: u64) -> bool {
        self.len > offset
    }
}

/// The bytes a follower has read, in short.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Fingerprint {
    head: Vec<u8>,
    before_offset: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of the first `offset` bytes of `file`.
    fn of(file: &File, offset: u64) -> io::Result<Fingerprint> {
        let window = FINGERPRINT_BYTES as u64;
        let head = read_exact_at(file, 0, offset.min(window))?;
        let before_offset = if offset > window {
            let len = (offset - window).min(window);
            read_exact_at(file, offset - len, len)?
        } else {
            Vec::new()
        };
        Ok(Fingerprint {
            head,
            before_offset,
        })
    }
}

/// Reads `len` bytes at `offset`; fewer if the file ends first.
fn read_exact_at(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(FINGERPRINT_BYTES)];
    let mut filled = 0;
    while filled < buf.len() {
        let n = read_at(file, &mut buf[filled..], offset + filled as u64)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read(buf)
}

/// Follows a [`LocalLog`]: where reading stopped, and whether that still means anything.
///
/// Call [`poll`](Self::poll) before reading, read from [`offset`](Self::offset) with
/// any reader, then report how far complete lines were consumed with
/// [`advance`](Self::advance).
#[derive(Debug, Clone)]
pub struct LogTail {
    log: LocalLog,
    offset: u64,
    file: Option<FileId>,
    seen: bool,
    fingerprint: Fingerprint,
}

impl LogTail {
    /// A follower of `log` that has read nothing yet.
    pub fn new(log: LocalLog) -> LogTail {
        LogTail {
            log,
            offset: 0,
            file: None,
            seen: false,
            fingerprint: Fingerprint::default(),
        }
    }

    /// The log followed.
    pub fn log(&self) -> &LocalLog {
        &self.log
    }

    /// Where the next read starts: just past the last line consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Checks the log against what was read. When it was truncated, replaced,
    /// overwritten or deleted, the offset goes back to 0 and the reason is returned.
    pub fn poll(&mut self) -> Result<Poll, LogError> {
        let path = self.log.path();
        // Never blocks: a FIFO or a device named as the log is refused, not opened.
        let file = match super::open_regular_for_reading(path) {
            Ok(Some(f)) => f,
            Ok(None) => {
                return Err(LogError::NotARegularFile {
                    path: PathBuf::from(path),
                    kind: std::fs::metadata(path)
                        .ok()
                        .as_ref()
                        .and_then(super::non_regular_kind)
                        .unwrap_or("not a regular file"),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let restart = self.seen.then_some(Restart::Deleted);
                self.reset();
                return Ok(Poll { restart, len: 0 });
            }
            Err(source) => return Err(self.error("read", source)),
        };
        let meta = file.metadata().map_err(|e| self.error("read", e))?;
        let (id, len) = (FileId::of(&meta), meta.len());
        let restart = if !self.seen {
            None
        } else if self.file != id {
            Some(Restart::Replaced)
        } else if len < self.offset {
            Some(Restart::Truncated)
        } else if self.offset > 0
            && Fingerprint::of(&file, self.offset).map_err(|e| self.error("read", e))?
                != self.fingerprint
        {
            Some(Restart::Overwritten)
        } else {
            None
        };
        if restart.is_some() {
            self.reset();
        }
        self.file = id;
        self.seen = true;
        Ok(Poll { restart, len })
    }

    /// Records that the log was consumed up to `offset` (the end of the last complete
    /// line read), and keeps the fingerprint of what lies before it.
    pub fn advance(&mut self, offset: u64) -> Result<(), LogError> {
        if offset == self.offset {
            return Ok(());
        }
        let file = match File::open(self.log.path()) {
            Ok(f) => f,
            // Deleted since it was read: the next poll says so and starts over.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.offset = offset;
                return Ok(());
            }
            Err(e) => return Err(self.error("read", e)),
        };
        self.fingerprint = Fingerprint::of(&file, offset).map_err(|e| self.error("read", e))?;
        self.offset = offset;
        Ok(())
    }

    fn reset(&mut self) {
        self.offset = 0;
        self.file = None;
        self.seen = false;
        self.fingerprint = Fingerprint::default();
    }

    fn error(&self, action: &'static str, source: io::Error) -> LogError {
        LogError::Io {
            action,
            path: PathBuf::from(self.log.path()),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn event(command: &str) -> String {
        format!("{{\"command\":\"{command}\",\"success\":true}}\n")
    }

    /// Polls and reads everything new; the commands read, and the restart if any.
    fn read_new(tail: &mut LogTail) -> (Option<Restart>, Vec<String>) {
        let poll = tail.poll().unwrap();
        let mut commands = Vec::new();
        if poll.has_new_bytes(tail.offset()) {
            let mut end = tail.offset();
            for line in tail.log().read_from(tail.offset()).unwrap() {
                let line = line.unwrap();
                if !line.complete {
                    break;
                }
                end = line.end;
                commands.push(line.entry.unwrap().command);
            }
            tail.advance(end).unwrap();
        }
        (poll.restart, commands)
    }

    #[test]
    fn a_log_deleted_between_reading_and_advancing_is_a_restart_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, event("one.first")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        let poll = tail.poll().unwrap();
        fs::remove_file(&path).unwrap();
        tail.advance(poll.len).unwrap();
        fs::write(&path, event("two.second")).unwrap();
        // The new file is read from its start (it is a different file: a restart).
        let (restart, commands) = read_new(&mut tail);
        assert!(restart.is_some());
        assert_eq!(commands, ["two.second"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo only creates a file at a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut tail = LogTail::new(LocalLog::new(&path));
        assert!(matches!(tail.poll(), Err(LogError::NotARegularFile { .. })));
    }

    #[test]
    fn reads_only_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut tail = LogTail::new(LocalLog::new(&path));
        assert_eq!(read_new(&mut tail), (None, vec![]));
        fs::write(&path, event("a")).unwrap();
        assert_eq!(read_new(&mut tail), (None, vec!["a".to_owned()]));
        assert_eq!(read_new(&mut tail), (None, vec![]));
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        io::Write::write_all(&mut f, event("b").as_bytes()).unwrap();
        assert_eq!(read_new(&mut tail), (None, vec!["b".to_owned()]));
    }

    #[test]
    fn a_truncated_log_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, event("a") + &event("b")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        read_new(&mut tail);
        fs::write(&path, event("c")).unwrap();
        assert_eq!(
            read_new(&mut tail),
            (Some(Restart::Truncated), vec!["c".to_owned()])
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_log_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, event("a")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        read_new(&mut tail);
        let other = dir.path().join("other");
        fs::write(&other, event("a") + &event("b")).unwrap();
        fs::rename(&other, &path).unwrap();
        assert_eq!(
            read_new(&mut tail),
            (
                Some(Restart::Replaced),
                vec!["a".to_owned(), "b".to_owned()]
            )
        );
    }

    #[test]
    fn a_log_overwritten_in_place_is_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, event("aa") + &event("bb")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        read_new(&mut tail);
        let id = FileId::of_path(&path);
        // Same inode, other bytes, longer than what was read.
        fs::write(&path, event("xx") + &event("yy") + &event("zz")).unwrap();
        assert_eq!(FileId::of_path(&path), id);
        assert_eq!(
            read_new(&mut tail),
            (
                Some(Restart::Overwritten),
                vec!["xx".to_owned(), "yy".to_owned(), "zz".to_owned()]
            )
        );
    }

    #[test]
    fn an_overwrite_far_past_the_head_is_noticed_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let head: String = (0..400).map(|i| event(&format!("e{i:03}"))).collect();
        assert!(head.len() > 2 * FINGERPRINT_BYTES);
        fs::write(&path, head.clone() + &event("last")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        read_new(&mut tail);
        // The same first 400 events, another last one, then one more.
        fs::write(&path, head + &event("LAST") + &event("more")).unwrap();
        let (restart, commands) = read_new(&mut tail);
        assert_eq!(restart, Some(Restart::Overwritten));
        assert_eq!(commands.len(), 402);
    }

    #[test]
    fn a_deleted_log_restarts_once_and_is_read_when_it_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, event("a")).unwrap();
        let mut tail = LogTail::new(LocalLog::new(&path));
        read_new(&mut tail);
        fs::remove_file(&path).unwrap();
        assert!(!path.exists());
        assert_eq!(read_new(&mut tail), (Some(Restart::Deleted), vec![]));
        assert_eq!(read_new(&mut tail), (None, vec![]));
        fs::write(&path, event("b")).unwrap();
        assert_eq!(read_new(&mut tail), (None, vec!["b".to_owned()]));
    }
}
