//! A report that follows the log as it grows, for a dashboard that polls.

use specfact_telemetry::LocalLog;
use specfact_telemetry::log::tail::LogTail;

use super::{Aggregator, Report, ReportError, ReportOptions, aggregate};

/// Keeps an [`Aggregator`] up to date with a log that grows.
///
/// [`refresh`](Self::refresh) reads only the lines appended since the last call. When the
/// log is truncated, replaced (rotated, purged), overwritten in place or deleted, it
/// starts over from the beginning (see [`LogTail`]), so it never counts events that are
/// no longer in the file.
#[derive(Debug, Clone)]
pub struct LiveReport {
    tail: LogTail,
    opts: ReportOptions,
    agg: Aggregator,
}

impl LiveReport {
    /// A report on `log` that has read nothing yet.
    pub fn new(log: LocalLog, opts: ReportOptions) -> Self {
        LiveReport {
            agg: Aggregator::new(opts.clone()),
            tail: LogTail::new(log),
            opts,
        }
    }

    /// The log followed.
    pub fn log(&self) -> &LocalLog {
        self.tail.log()
    }

    /// Reads what was appended since the last call. Returns whether anything changed.
    pub fn refresh(&mut self) -> Result<bool, ReportError> {
        let poll = self.tail.poll()?;
        let mut changed = false;
        if poll.restart.is_some() {
            changed = self.agg.events > 0 || self.agg.malformed > 0;
            self.agg = Aggregator::new(self.opts.clone());
        }
        let before = self.tail.offset();
        if !poll.has_new_bytes(before) {
            return Ok(changed);
        }
        let offset = if before == 0 {
            let (agg, offset) = aggregate(self.tail.log(), &self.opts)?;
            self.agg = agg;
            offset
        } else {
            self.agg.read_lines(self.tail.log(), before, None)?
        };
        self.tail.advance(offset)?;
        Ok(changed || offset != before)
    }

    /// The report as of the last refresh.
    pub fn report(&self) -> Report {
        self.agg.report()
    }
}
