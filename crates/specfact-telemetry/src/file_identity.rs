//! Which file a path names: the (device, inode) pair that tells "the same file, grown"
//! from "a new file under the old name" (a rotation, a purge, a rewrite renamed over it).
//!
//! ```
//! use specfact_telemetry::file_identity::FileId;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("telemetry.log");
//! std::fs::write(&path, "a\n")?;
//! let before = FileId::of_path(&path);
//! std::fs::write(dir.path().join("new.log"), "b\n")?;
//! std::fs::rename(dir.path().join("new.log"), &path)?;
//! # #[cfg(unix)]
//! assert_ne!(FileId::of_path(&path), before);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::{self, File, Metadata};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The device and inode of a file. Two equal ids name the same file; on platforms
/// without inodes no id is known (the functions below return `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The id in `meta`.
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// The id in `meta` (unknown on this platform).
    #[cfg(not(unix))]
    pub fn of(meta: &Metadata) -> Option<FileId> {
        let _ = meta;
        None
    }

    /// The id of the file `path` names (following symlinks); `None` when it cannot be
    /// read (missing, no permission) or ids are unknown on this platform.
    pub fn of_path(path: &Path) -> Option<FileId> {
        fs::metadata(path).ok().as_ref().and_then(FileId::of)
    }

    /// The id of an open file.
    pub fn of_file(file: &File) -> Option<FileId> {
        file.metadata().ok().as_ref().and_then(FileId::of)
    }

    /// The id of an open descriptor (for instance one inherited from a parent process).
    /// The descriptor is duplicated for the query and stays open.
    #[cfg(unix)]
    pub fn of_fd(fd: std::os::fd::BorrowedFd<'_>) -> Option<FileId> {
        let owned = fd.try_clone_to_owned().ok()?;
        FileId::of_file(&File::from(owned))
    }
}

/// Whether the open `file` is still the file at `path`. Where ids are unknown (not
/// unix) this is `true` as long as both can be read.
pub fn is_same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => FileId::of(&a) == FileId::of(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_keeps_its_id_while_it_grows_and_a_replacement_gets_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, "a\n").unwrap();
        let file = File::open(&path).unwrap();
        let id = FileId::of_path(&path);
        assert_eq!(FileId::of_file(&file), id);
        fs::write(&path, "a\nb\n").unwrap();
        assert_eq!(FileId::of_path(&path), id);
        assert!(is_same_file(&file, &path));

        let other = dir.path().join("other");
        fs::write(&other, "c\n").unwrap();
        fs::rename(&other, &path).unwrap();
        #[cfg(unix)]
        {
            assert_ne!(FileId::of_path(&path), id);
            assert!(!is_same_file(&file, &path));
        }
        fs::remove_file(&path).unwrap();
        assert_eq!(FileId::of_path(&path), None);
        assert!(!is_same_file(&file, &path));
    }

    #[cfg(unix)]
    #[test]
    fn the_id_of_a_descriptor_is_the_id_of_its_file() {
        use std::os::fd::AsFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        fs::write(&path, "").unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(FileId::of_fd(file.as_fd()), FileId::of_path(&path));
        assert!(FileId::of_path(&path).is_some());
        // The descriptor stays usable.
        assert!(file.metadata().is_ok());
    }

    #[test]
    fn serializes_as_dev_and_ino() {
        let id = FileId { dev: 3, ino: 7 };
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"dev":3,"ino":7}"#);
        assert_eq!(serde_json::from_str::<FileId>(&json).unwrap(), id);
    }
}
