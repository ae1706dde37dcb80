//! A report that follows the log as it grows, for a dashboard that polls.

use std::fs;
use std::io;

use super::{Aggregator, Report, ReportError, ReportOptions, aggregate};
use specfact_telemetry::file_identity::FileId;
use specfact_telemetry::log::LocalLog;

/// Keeps an [`Aggregator`] up to date with a log that grows.
///
/// [`refresh`](Self::refresh) reads only the lines appended since the last call. When the
/// log shrinks or is replaced (rotated, purged), it starts over from the beginning.
#[derive(Debug, Clone)]
pub struct LiveReport {
    log: LocalLog,
    opts: ReportOptions,
    agg: Aggregator,
    offset: u64,
    identity: Option<FileId>,
}

impl LiveReport {
    /// A report on `log` that has read nothing yet.
    pub fn new(log: LocalLog, opts: ReportOptions) -> Self {
        LiveReport {
            agg: Aggregator::new(opts.clone()),
            log,
            opts,
            offset: 0,
            identity: None,
        }
    }

    /// The log followed.
    pub fn log(&self) -> &LocalLog {
        &self.log
    }

    /// Reads what was appended since the last call. Returns whether anything changed.
    pub fn refresh(&mut self) -> Result<bool, ReportError> {
        let meta = match fs::metadata(self.log.path()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let had = self.offset > 0 || self.agg.events > 0 || self.agg.malformed > 0;
                self.reset();
                return Ok(had);
            }
            Err(source) => {
                return Err(ReportError::Read {
                    path: self.log.path().to_owned(),
                    source,
                });
            }
        };
        let id = FileId::of(&meta);
        let mut changed = false;
        if meta.len() < self.offset || (self.identity.is_some() && id != self.identity) {
            self.reset();
            changed = true;
        }
        self.identity = id;
        if meta.len() == self.offset {
            return Ok(changed);
        }
        if self.offset == 0 {
            let (agg, offset) = aggregate(&self.log, &self.opts)?;
            self.agg = agg;
            self.offset = offset;
            return Ok(true);
        }
        let before = self.offset;
        self.offset = self.agg.read_lines(&self.log, self.offset, None)?;
        changed |= self.offset != before;
        Ok(changed)
    }

    fn reset(&mut self) {
        self.agg = Aggregator::new(self.opts.clone());
        self.offset = 0;
        self.identity = None;
    }

    /// The report as of the last refresh.
    pub fn report(&self) -> Report {
        self.agg.report()
    }
}
