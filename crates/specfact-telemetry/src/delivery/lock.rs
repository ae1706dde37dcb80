//! Advisory file locks: one uploader per (log, endpoint), and short critical
//! sections around cursor updates.
//!
//! The locks are `flock`-style (std [`File::lock`]): they belong to the open file,
//! so a lock taken by a host can be handed to the uploader process it starts by
//! letting the child inherit the descriptor.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

/// A held lock; released when dropped (or when every process sharing the open file
/// has closed it).
#[derive(Debug)]
pub(crate) struct FileLock {
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    file: File,
}

impl FileLock {
    /// Takes the lock if nobody holds it. `Ok(None)` when it is held elsewhere.
    #[cfg(any(feature = "otlp", test))]
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }

    /// Waits for the lock.
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        let file = open_lock_file(path)?;
        file.lock()?;
        Ok(FileLock { file })
    }

    /// Adopts an already locked open file (inherited from the process that took it).
    #[cfg(all(unix, feature = "otlp"))]
    pub(crate) fn adopt(file: File) -> FileLock {
        FileLock { file }
    }

    /// Writes into the lock file when the holder gives up at the latest, for
    /// [`held_until`] (the estimate `export` gives while it waits).
    #[cfg(feature = "otlp")]
    pub(crate) fn note_until(&self, until: std::time::SystemTime) {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = &self.file;
        let _ = f.set_len(0);
        let _ = f.seek(SeekFrom::Start(0));
        let _ = f.write_all(crate::event::format_timestamp(until).as_bytes());
    }

    /// The locked file, e.g. to hand its descriptor to a child process.
    #[cfg(feature = "otlp")]
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

/// Whether somebody holds the lock at `path` right now. Creates nothing: a missing
/// lock file is not held (read-only callers such as `status` leave no files behind).
pub(crate) fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// When the holder of the lock at `path` said it gives up at the latest; `None` when it
/// is not held or did not say.
#[cfg(feature = "otlp")]
pub(crate) fn held_until(path: &Path) -> Option<std::time::SystemTime> {
    if !is_held(path) {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    crate::event::parse_timestamp(text.trim())
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_not_granted_twice_and_is_released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        let first = FileLock::try_acquire(&p).unwrap().expect("free at first");
        assert!(FileLock::try_acquire(&p).unwrap().is_none());
        assert!(is_held(&p));
        drop(first);
        assert!(!is_held(&p));
        assert!(FileLock::try_acquire(&p).unwrap().is_some());
    }

    #[test]
    fn asking_whether_a_missing_lock_is_held_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.lock");
        assert!(!is_held(&p));
        assert!(!p.exists());
    }
}
