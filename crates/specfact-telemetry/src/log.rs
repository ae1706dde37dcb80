//! The local event log: JSON Lines, appended under a lock; the durable spool.
use std::path::PathBuf;

/// The local JSON Lines log.
#[derive(Debug, Clone)]
pub struct LocalLog {
    path: PathBuf,
}

impl LocalLog {
    /// A log at `path` (nothing is created until the first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LocalLog { path: path.into() }
    }
}
