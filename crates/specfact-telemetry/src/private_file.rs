//! Private files written atomically: the content goes to a new temporary file (mode
//! 0600) beside the target, is flushed to disk, and is then renamed over the target. A
//! reader sees the old content or the new, never a mix, and a crash leaves the old file
//! (plus at most a hidden temporary file). Missing parent directories are created with
//! mode 0700.
//!
//! ```
//! use std::io::Write;
//! use specfact_telemetry::private_file::{PrivateFile, write_private};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join(".specfact/telemetry.yaml");
//! write_private(&path, b"enabled: true\n")?;
//!
//! // Streaming: nothing replaces the target until `commit`; dropping it discards it.
//! let mut file = PrivateFile::create(&path)?;
//! file.write_all(b"enabled: false\n")?;
//! file.commit()?;
//! assert_eq!(std::fs::read_to_string(&path)?, "enabled: false\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// How many temporary names are tried before giving up (each taken name is a
/// concurrent writer or a leftover of a crash).
const MAX_NAME_ATTEMPTS: u32 = 1000;

/// Writes `contents` to `path` atomically, the file private to its owner (0600).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = PrivateFile::create(path)?;
    file.write_all(contents)?;
    file.commit()
}

/// Creates `dir` and its missing parents with mode 0700 (existing ones are left as
/// they are).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// A private file being written that will replace `path` when committed.
///
/// Writes are buffered. [`commit`](Self::commit) flushes, syncs and renames; dropping
/// the value without committing removes the temporary file and leaves `path` as it was.
#[derive(Debug)]
pub struct PrivateFile {
    target: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl PrivateFile {
    /// Starts a replacement of `path`: creates the parent directories (0700) when
    /// missing and a new temporary file (0600) in the same directory.
    pub fn create(path: &Path) -> io::Result<PrivateFile> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            create_private_dir(dir)?;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pid = std::process::id();
        let mut attempt = 0;
        loop {
            let tmp = dir.join(format!(".{name}.{pid}-{attempt}.tmp"));
            let mut o = OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            match o.open(&tmp) {
                Ok(file) => {
                    return Ok(PrivateFile {
                        target: path.to_owned(),
                        tmp,
                        out: Some(BufWriter::new(file)),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    if attempt >= MAX_NAME_ATTEMPTS {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The file this one will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes the content to disk and renames it over the target.
    pub fn commit(mut self) -> io::Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("already committed"))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.target)?;
        // Renamed: nothing left for `Drop` to clean up.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for PrivateFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(out) => out.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.write_all(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for PrivateFile {
    fn drop(&mut self) {
        self.out = None;
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_a_0600_file_in_new_0700_directories_and_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a/b/state.json");
        write_private(&p, b"{}").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"{}");
        #[cfg(unix)]
        {
            assert_eq!(mode(&p), 0o600);
            assert_eq!(mode(&tmp.path().join("a")), 0o700);
            assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
        }
        assert_eq!(fs::read_dir(tmp.path().join("a/b")).unwrap().count(), 1);
    }

    #[test]
    fn replaces_an_existing_file_and_makes_it_private() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        fs::write(&p, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        #[cfg(unix)]
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn an_uncommitted_file_changes_nothing_and_is_cleaned_up() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        fs::write(&p, "old").unwrap();
        let mut f = PrivateFile::create(&p).unwrap();
        f.write_all(b"half").unwrap();
        assert_eq!(f.target(), p);
        drop(f);
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn concurrent_writers_in_one_process_do_not_share_a_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        let mut a = PrivateFile::create(&p).unwrap();
        let mut b = PrivateFile::create(&p).unwrap();
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        a.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a");
        b.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "b");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_rename_reports_the_error_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let p = tmp.path().join("d");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("x"), "").unwrap();
        assert!(write_private(&p, b"new").is_err());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
