//! The detached uploader's debug output: a small private file beside the delivery
//! state, so the uploader never writes to the terminal it left, and `status` can
//! show what it said last.

#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

/// The file is cut back to its last [`KEEP`] bytes when it grows past this.
pub(crate) const CAP: u64 = 64 * 1024;
/// What is kept of a file over [`CAP`].
const KEEP: u64 = 16 * 1024;

/// Opens the log for appending (created 0600), first cutting it back to its newest
/// lines when it is over [`CAP`]. Refuses anything that is not a regular file.
pub(crate) fn open(path: &Path) -> io::Result<File> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut file = o.open(path)?;
    let len = file.metadata()?.len();
    if len > CAP {
        let tail = read_tail(&mut file, len, KEEP)?;
        // Start at a whole line.
        let start = tail.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        file.set_len(0)?;
        file.write_all(&tail[start..])?;
    }
    Ok(file)
}

fn read_tail(file: &mut File, len: u64, n: u64) -> io::Result<Vec<u8>> {
    let from = len.saturating_sub(n);
    file.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::with_capacity(usize::try_from(len - from).unwrap_or(0));
    file.take(n).read_to_end(&mut buf)?;
    Ok(buf)
}

/// The last non-empty line of the log and when the file was last written; `None`
/// when there is no such regular file. Reads at most a few KiB.
pub(crate) fn latest(path: &Path) -> Option<(String, Option<SystemTime>)> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let mut file = File::open(path).ok()?;
    let tail = read_tail(&mut file, meta.len(), 4096).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some((line.trim_end().to_owned(), meta.modified().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_private_capped_and_its_latest_line_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.uploader.log");
        assert!(latest(&p).is_none());
        {
            let mut f = open(&p).unwrap();
            for i in 0..5000 {
                writeln!(f, "specfact-telemetry: retry {i}").unwrap();
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(std::fs::metadata(&p).unwrap().len() > CAP);
        let mut f = open(&p).unwrap();
        writeln!(f, "specfact-telemetry: last").unwrap();
        drop(f);
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len <= KEEP + 64, "{len}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("specfact-telemetry: retry"), "{text:.60}");
        assert_eq!(latest(&p).unwrap().0, "specfact-telemetry: last");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_in_its_place_is_neither_opened_nor_read() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("x.uploader.log");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo only creates a file at the given path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(open(&p).is_err());
        assert!(latest(&p).is_none());
    }
}
