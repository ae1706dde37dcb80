//! Bounded, read-only access to the two settings files.

use std::io::{self, Read};
use std::path::Path;

/// What reading a settings file gave.
#[derive(Debug)]
pub(crate) enum FileRead {
    /// The file does not exist.
    Absent,
    /// The file exists but could not be opened or read.
    Unreadable(io::Error),
    /// The file is larger than the limit; nothing past it was read.
    TooLarge,
    /// The whole content.
    Bytes(Vec<u8>),
}

/// Reads `path` if it exists and holds at most `limit` bytes.
///
/// A missing file costs one `stat`, which on the machines measured is half the price
/// of a failed `open` (this is on every host's start-up path). At most `limit + 1`
/// bytes are read whatever the file's size.
pub(crate) fn read_bounded(path: &Path, limit: usize) -> FileRead {
    if let Err(e) = std::fs::symlink_metadata(path)
        && e.kind() == io::ErrorKind::NotFound
    {
        return FileRead::Absent;
    }
    let file = match crate::log::open_regular_for_reading(path) {
        Ok(Some(file)) => file,
        Ok(None) => {
            let kind = std::fs::metadata(path)
                .ok()
                .as_ref()
                .and_then(crate::log::non_regular_kind)
                .unwrap_or("not a regular file");
            return FileRead::Unreadable(io::Error::other(format!("it is {kind}")));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return FileRead::Absent,
        Err(e) => return FileRead::Unreadable(e),
    };
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    match file.take(cap).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() > limit => FileRead::TooLarge,
        Ok(_) => FileRead::Bytes(bytes),
        Err(e) => FileRead::Unreadable(e),
    }
}

/// Describes an I/O error for a diagnostic: the kind in words, without the path (the
/// diagnostic's origin already names the file).
pub(crate) fn describe_io_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        io::ErrorKind::NotADirectory => "a parent path is not a directory".to_owned(),
        _ => e.to_string(),
    }
}

/// 1-based line and column (in characters) of byte offset `offset` in `bytes`, counting
/// only the valid UTF-8 text before it.
pub(crate) fn line_column(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (to_u64(line), to_u64(column))
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_absent_small_large_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(matches!(read_bounded(&path, 4), FileRead::Absent));
        std::fs::write(&path, b"true").unwrap();
        assert!(matches!(read_bounded(&path, 4), FileRead::Bytes(b) if b == b"true"));
        std::fs::write(&path, b"true\n").unwrap();
        assert!(matches!(read_bounded(&path, 4), FileRead::TooLarge));
        assert!(matches!(
            read_bounded(dir.path(), 4),
            FileRead::Unreadable(e) if describe_io_error(&e) == "it is a directory"
        ));
        #[cfg(unix)]
        {
            // A FIFO is reported, never waited on.
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo with a valid C string.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert!(matches!(
                read_bounded(&fifo, 4),
                FileRead::Unreadable(e) if describe_io_error(&e) == "it is a FIFO (named pipe)"
            ));
        }
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "a: 1\nbé: \u{ff}".as_bytes();
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 5), (2, 1));
        // "bé: " is 5 bytes but 4 characters.
        assert_eq!(line_column(text, 10), (2, 5));
    }
}
