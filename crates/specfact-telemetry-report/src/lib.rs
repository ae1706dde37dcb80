//! Insights from a telemetry log: the aggregations behind the `report` and `view`
//! commands, for the command-line tool and the server. Hosts that record telemetry
//! never compile this crate; they depend on `specfact-telemetry` alone.
//!
//! Everything is computed in one streaming pass with memory that does not depend on
//! the size of the log:
//!
//! * **sessions** (distinct `session_id`) are counted exactly up to 1,024 per counter,
//!   then estimated with HyperLogLog (0.81 % standard error) — see [`sessions`];
//! * **median and 95th-percentile durations** are exact up to 256 runs of a command,
//!   then read from a fixed log-scale histogram (within 0.99 %) — see [`quantile`];
//! * at most [`MAX_COMMANDS`] distinct commands are tracked one by one (the rest are
//!   summed under [`OTHER_COMMANDS`]) and at most [`MAX_WEEKS`] weeks.
//!
//! Large logs are split at line boundaries and read on several threads; the partial
//! results merge exactly as if one thread had read everything.
//!
//! The figures read the same wherever they are shown — the command-line tool's report and
//! dashboard, and the server's community page — through [`format`] (numbers, shares,
//! durations), [`html`] (escaping, cards, tables) and [`svg`] (the charts).
//!
//! ```
//! use specfact_telemetry_report::{Aggregator, ReportOptions};
//! use specfact_telemetry::Event;
//!
//! let line = br#"{"command":"repro.run","success":true,"duration_ms":12.5,"session_id":"a","violations_detected":3}"#;
//! let mut agg = Aggregator::new(ReportOptions::default());
//! agg.push(&Event::from_json_line(line).unwrap());
//! let report = agg.report();
//! assert_eq!(report.regressions.contract_violations.count, 3);
//! assert_eq!(report.most_used.unwrap().command, "repro.run");
//! ```
//!
//! A whole log, read in one pass ([`build`]), or followed as it grows ([`LiveReport`]):
//!
//! ```
//! use specfact_telemetry::LocalLog;
//! use specfact_telemetry_report::{ReportOptions, build};
//!
//! let dir = tempfile::tempdir()?;
//! let log = LocalLog::new(dir.path().join("telemetry.log"));
//! let report = build(&log, &ReportOptions::default())?; // a missing log is empty
//! assert_eq!(report.events, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod calendar;
pub mod community;
pub mod format;
pub mod html;
mod live;
pub mod quantile;
mod scan;
pub mod sessions;
pub mod svg;
pub mod time_bound;

use scan::{Parts, for_each_line};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

use specfact_telemetry::event::{Event, format_timestamp};
use specfact_telemetry::log::LocalLog;
use specfact_telemetry::settings::{RegressionCategory, default_regression_categories};

pub use calendar::{Date, IsoWeek};
pub use live::LiveReport;
pub use quantile::DurationSketch;
pub use sessions::DistinctCounter;
pub use specfact_telemetry::event::is_diagnostic;
pub use time_bound::{TimeBound, TimeRange};

/// At most this many distinct commands are reported one by one.
pub const MAX_COMMANDS: usize = 256;
/// Name under which commands beyond [`MAX_COMMANDS`] are summed.
pub const OTHER_COMMANDS: &str = "(other)";
/// At most this many weeks (about 20 years) are kept; older ones are dropped first.
pub const MAX_WEEKS: usize = 1040;
/// Logs smaller than this are read on one thread.
const PARALLEL_MIN_BYTES: u64 = 4 << 20;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading the log failed part-way.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A reading thread stopped unexpectedly.
    #[error("a thread reading {} stopped unexpectedly", path.display())]
    Thread {
        /// The log file.
        path: PathBuf,
    },
    /// Following the log failed.
    #[error(transparent)]
    Log(#[from] specfact_telemetry::log::LogError),
}

/// What to count and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Only events at or after this time. When a bound is given, events without a
    /// timestamp cannot be placed in time and are left out (and counted in
    /// [`Report::outside_period`]).
    pub since: Option<SystemTime>,
    /// Only events before this time (exclusive).
    pub until: Option<SystemTime>,
    /// Command family → headline category (`settings.regression_categories`).
    pub categories: BTreeMap<String, RegressionCategory>,
    /// How many of the most recent events to keep in [`Report::recent`] (0 for none).
    pub recent_events: usize,
    /// Threads to read a large log with; 0 picks the number of cores (at most 4).
    pub threads: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            since: None,
            until: None,
            categories: default_regression_categories(),
            recent_events: 0,
            threads: 0,
        }
    }
}

impl ReportOptions {
    fn in_period(&self, t: Option<SystemTime>) -> bool {
        self.range().contains(t)
    }

    /// The period `since`..`until` as a [`TimeRange`].
    pub fn range(&self) -> TimeRange {
        TimeRange {
            since: self.since,
            until: self.until,
        }
    }
}

/// Where a family's violations count. `Other` is for families the map does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Contract,
    Drift,
    Other,
}

impl Category {
    fn of(family: &str, map: &BTreeMap<String, RegressionCategory>) -> Category {
        match map.get(family) {
            Some(RegressionCategory::ContractViolation) => Category::Contract,
            Some(RegressionCategory::PlanDrift) => Category::Drift,
            None => Category::Other,
        }
    }
}

/// Violations split by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Split {
    contract: u64,
    drift: u64,
    other: u64,
}

impl Split {
    fn add(&mut self, c: Category, n: u64) {
        match c {
            Category::Contract => self.contract += n,
            Category::Drift => self.drift += n,
            Category::Other => self.other += n,
        }
    }
    fn merge(&mut self, o: &Split) {
        self.contract += o.contract;
        self.drift += o.drift;
        self.other += o.other;
    }
    fn total(&self) -> u64 {
        self.contract + self.drift + self.other
    }
}

#[derive(Debug, Clone)]
struct CommandAgg {
    name: String,
    category: Category,
    runs: u64,
    successes: u64,
    sessions: DistinctCounter,
    durations: DurationSketch,
    violations: u64,
}

impl CommandAgg {
    fn new(name: String, category: Category) -> Self {
        CommandAgg {
            name,
            category,
            runs: 0,
            successes: 0,
            sessions: DistinctCounter::new(),
            durations: DurationSketch::new(),
            violations: 0,
        }
    }

    fn merge(&mut self, o: &CommandAgg) {
        self.runs += o.runs;
        self.successes += o.successes;
        self.sessions.merge(&o.sessions);
        self.durations.merge(&o.durations);
        self.violations += o.violations;
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct WeekAgg {
    events: u64,
    violations: Split,
}

/// The streaming aggregation: feed it events (and malformed lines), then ask for a [`Report`].
#[derive(Debug, Clone)]
pub struct Aggregator {
    opts: ReportOptions,
    events: u64,
    malformed: u64,
    without_timestamp: u64,
    outside_period: u64,
    diagnostic: u64,
    without_session: u64,
    successes: u64,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
    sessions: DistinctCounter,
    commands: Vec<CommandAgg>,
    index: HashMap<String, usize>,
    violations: Split,
    weeks: BTreeMap<IsoWeek, WeekAgg>,
    weeks_dropped: u64,
    timestamped_violations: u64,
    checks: Checks,
    discovery: Discovery,
    /// The most recent events' JSON lines, oldest first.
    recent: VecDeque<Vec<u8>>,
}

impl Aggregator {
    /// An empty aggregation.
    pub fn new(opts: ReportOptions) -> Self {
        Aggregator {
            opts,
            events: 0,
            malformed: 0,
            without_timestamp: 0,
            outside_period: 0,
            diagnostic: 0,
            without_session: 0,
            successes: 0,
            first: None,
            last: None,
            sessions: DistinctCounter::new(),
            commands: Vec::new(),
            index: HashMap::new(),
            violations: Split::default(),
            weeks: BTreeMap::new(),
            weeks_dropped: 0,
            timestamped_violations: 0,
            checks: Checks::default(),
            discovery: Discovery::default(),
            recent: VecDeque::new(),
        }
    }

    /// The options this aggregation counts with.
    pub fn options(&self) -> &ReportOptions {
        &self.opts
    }

    /// Counts a line that is not an event.
    pub fn push_malformed(&mut self) {
        self.malformed += 1;
    }

    fn command_index(&mut self, name: &str, family: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let key = if self.commands.len() < MAX_COMMANDS {
            name
        } else {
            OTHER_COMMANDS
        };
        if let Some(&i) = self.index.get(key) {
            // Already folding: `name` joins the others without an entry of its own.
            return i;
        }
        let category = if key == OTHER_COMMANDS {
            Category::Other
        } else {
            Category::of(family, &self.opts.categories)
        };
        self.commands
            .push(CommandAgg::new(key.to_owned(), category));
        let i = self.commands.len() - 1;
        self.index.insert(key.to_owned(), i);
        i
    }

    /// Counts one event (if it falls in the period).
    pub fn push(&mut self, e: &Event) {
        if self.push_parts(&Parts::of(e)) && self.opts.recent_events > 0 {
            self.remember(e.to_json_line().as_bytes());
        }
    }

    /// Keeps a line among the recent ones.
    fn remember(&mut self, line: &[u8]) {
        let mut buf = if self.recent.len() >= self.opts.recent_events {
            self.recent.pop_front().unwrap_or_default()
        } else {
            Vec::new()
        };
        buf.clear();
        buf.extend_from_slice(line);
        self.recent.push_back(buf);
    }

    /// Counts one event; returns whether it was in the period.
    fn push_parts(&mut self, e: &Parts<'_>) -> bool {
        if e.diagnostic {
            self.diagnostic += 1;
            return false;
        }
        if !self.opts.in_period(e.timestamp) {
            self.outside_period += 1;
            return false;
        }
        self.events += 1;
        self.successes += u64::from(e.success);
        let family = e.command.split('.').next().unwrap_or(&e.command);
        let ci = self.command_index(&e.command, family);
        // Folded commands keep their own family's category for the headline split.
        let category = if self.commands[ci].name == e.command {
            self.commands[ci].category
        } else {
            Category::of(family, &self.opts.categories)
        };
        let violations = e.violations.count();
        self.violations.add(category, violations);

        let c = &mut self.commands[ci];
        c.runs += 1;
        c.successes += u64::from(e.success);
        // An unknown duration is not a duration of 0: it is left out of the figures.
        if let Some(ms) = e.duration_ms {
            c.durations.push(ms);
        }
        c.violations += violations;
        if e.session_id.is_empty() {
            self.without_session += 1;
        } else {
            let h = sessions::hash_id(&e.session_id);
            c.sessions.insert(h);
            self.sessions.insert(h);
        }

        if e.checks_total.is_present() || e.checks_failed.is_present() {
            self.checks.runs += 1;
            self.checks.total += e.checks_total.count();
            self.checks.failed += e.checks_failed.count();
        }
        if e.features.is_present() || e.stories.is_present() {
            self.discovery.runs += 1;
            self.discovery.features += e.features.count();
            self.discovery.stories += e.stories.count();
        }

        match e.timestamp {
            Some(t) => {
                self.first = Some(self.first.map_or(t, |f| f.min(t)));
                self.last = Some(self.last.map_or(t, |l| l.max(t)));
                let w = self.weeks.entry(IsoWeek::of(t)).or_default();
                w.events += 1;
                w.violations.add(category, violations);
                self.timestamped_violations += violations;
                if self.weeks.len() > MAX_WEEKS {
                    self.drop_oldest_week();
                }
            }
            None => self.without_timestamp += 1,
        }
        true
    }

    /// Counts one line of a log: an event, or a malformed line.
    fn push_line(&mut self, line: &[u8]) {
        let counted = match Parts::parse(line) {
            Some(p) => self.push_parts(&p),
            // Never call malformed a line the event parser accepts.
            None => match Event::from_json_line(line) {
                Ok(e) => self.push_parts(&Parts::of(&e)),
                Err(_) => {
                    self.malformed += 1;
                    false
                }
            },
        };
        if counted && self.opts.recent_events > 0 {
            self.remember(line);
        }
    }

    /// Counts the lines of `log` that start in `[start, end)`; returns the offset to resume at.
    fn read_lines(
        &mut self,
        log: &LocalLog,
        start: u64,
        end: Option<u64>,
    ) -> Result<u64, ReportError> {
        let mut offset = start;
        for_each_line(log.path(), start, end, |line| {
            if line.too_long {
                if !line.complete {
                    return false;
                }
                self.malformed += 1;
            } else if line.complete || Event::from_json_line(line.bytes).is_ok() {
                // A last line without its newline counts if it is a whole event.
                self.push_line(line.bytes);
            } else {
                // Torn, or still being written: read it again, whole, next time.
                return false;
            }
            offset = line.end;
            true
        })
        .map_err(|source| ReportError::Read {
            path: log.path().to_owned(),
            source,
        })?;
        Ok(offset)
    }

    fn drop_oldest_week(&mut self) {
        if let Some((_, w)) = self.weeks.pop_first() {
            self.weeks_dropped += w.events;
        }
    }

    /// Adds everything `later` counted; `later` covers lines after this one's (its
    /// recent events come last).
    pub fn merge(&mut self, later: &Aggregator) {
        self.events += later.events;
        self.malformed += later.malformed;
        self.without_timestamp += later.without_timestamp;
        self.outside_period += later.outside_period;
        self.diagnostic += later.diagnostic;
        self.without_session += later.without_session;
        self.successes += later.successes;
        self.first = match (self.first, later.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, later.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.sessions.merge(&later.sessions);
        for c in &later.commands {
            let family = c.name.split('.').next().unwrap_or(&c.name).to_owned();
            let i = self.command_index(&c.name, &family);
            self.commands[i].merge(c);
        }
        self.violations.merge(&later.violations);
        for (k, w) in &later.weeks {
            let mine = self.weeks.entry(*k).or_default();
            mine.events += w.events;
            mine.violations.merge(&w.violations);
        }
        self.weeks_dropped += later.weeks_dropped;
        self.timestamped_violations += later.timestamped_violations;
        while self.weeks.len() > MAX_WEEKS {
            self.drop_oldest_week();
        }
        self.checks.runs += later.checks.runs;
        self.checks.total += later.checks.total;
        self.checks.failed += later.checks.failed;
        self.discovery.runs += later.discovery.runs;
        self.discovery.features += later.discovery.features;
        self.discovery.stories += later.discovery.stories;
        self.recent.extend(later.recent.iter().cloned());
        while self.recent.len() > self.opts.recent_events {
            self.recent.pop_front();
        }
    }

    /// The report as of the events counted so far.
    pub fn report(&self) -> Report {
        let sessions = self.sessions.count();
        let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);

        let mut commands: Vec<CommandReport> = self
            .commands
            .iter()
            .map(|c| {
                let s = c.sessions.count();
                CommandReport {
                    command: c.name.clone(),
                    runs: c.runs,
                    sessions: s,
                    session_share: share(s, sessions),
                    successes: c.successes,
                    success_rate: share(c.successes, c.runs),
                    duration_ms: DurationStats {
                        median: c.durations.quantile(0.5),
                        p95: c.durations.quantile(0.95),
                        mean: c.durations.mean(),
                        min: c.durations.min(),
                        max: c.durations.max(),
                        exact: c.durations.is_exact(),
                    },
                    violations: c.violations,
                }
            })
            .collect();
        commands.sort_by(|a, b| {
            b.sessions
                .cmp(&a.sessions)
                .then(b.runs.cmp(&a.runs))
                .then_with(|| a.command.cmp(&b.command))
        });
        let most_used = commands
            .iter()
            .find(|c| c.command != OTHER_COMMANDS)
            .map(|c| MostUsed {
                command: c.command.clone(),
                sessions: c.sessions,
                session_share: c.session_share,
                runs: c.runs,
            });

        let total = self.violations.total();
        let regressions = Regressions {
            total,
            contract_violations: Share {
                count: self.violations.contract,
                share: share(self.violations.contract, total),
            },
            plan_drift: Share {
                count: self.violations.drift,
                share: share(self.violations.drift, total),
            },
            other: Share {
                count: self.violations.other,
                share: share(self.violations.other, total),
            },
            categories: self
                .opts
                .categories
                .iter()
                .map(|(k, v)| {
                    let name = match v {
                        RegressionCategory::ContractViolation => "contract_violation",
                        RegressionCategory::PlanDrift => "plan_drift",
                    };
                    (k.clone(), name)
                })
                .collect(),
        };

        let (weeks, weekly) = self.weekly();
        Report {
            period: Period {
                first: self.first,
                last: self.last,
                since: self.opts.since,
                until: self.opts.until,
            },
            events: self.events,
            malformed_lines: self.malformed,
            without_timestamp: self.without_timestamp,
            outside_period: self.outside_period,
            diagnostic_events: self.diagnostic,
            without_session: self.without_session,
            successes: self.successes,
            success_rate: share(self.successes, self.events),
            sessions: SessionCount {
                count: sessions,
                exact: self.sessions.is_exact(),
                standard_error: if self.sessions.is_exact() {
                    0.0
                } else {
                    sessions::STANDARD_ERROR
                },
            },
            most_used,
            commands,
            regressions,
            weeks,
            weekly,
            checks: Checks {
                failure_rate: share(self.checks.failed, self.checks.total),
                ..self.checks
            },
            discovery: self.discovery,
            recent: self
                .recent
                .iter()
                .rev()
                .filter_map(|l| Event::from_json_line(l).ok())
                .collect(),
        }
    }

    fn weekly(&self) -> (Vec<WeekReport>, WeeklySummary) {
        let row = |w: IsoWeek, a: &WeekAgg| WeekReport {
            week: w,
            start: w.monday(),
            events: a.events,
            violations: a.violations.total(),
            contract_violations: a.violations.contract,
            plan_drift: a.violations.drift,
        };
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return (Vec::new(), WeeklySummary::default());
        };
        let (first, last) = (IsoWeek::of(first), IsoWeek::of(last));
        let span = first.weeks_until(last).max(0) as u64 + 1;
        let mut rows = Vec::new();
        let oldest = self.weeks.keys().next().copied().unwrap_or(first);
        if first.weeks_until(last) < MAX_WEEKS as i64 {
            // Every calendar week of the period, empty ones included, so charts keep their scale.
            let mut w = oldest;
            let empty = WeekAgg::default();
            while w <= last {
                rows.push(row(w, self.weeks.get(&w).unwrap_or(&empty)));
                w = w.next();
            }
        } else {
            rows.extend(self.weeks.iter().map(|(w, a)| row(*w, a)));
        }
        let events = self.events - self.without_timestamp;
        let violations = self.timestamped_violations;
        let summary = WeeklySummary {
            weeks: span,
            events,
            violations,
            average_events: Some(events as f64 / span as f64),
            average_violations: Some(violations as f64 / span as f64),
            dropped_events: self.weeks_dropped,
        };
        (rows, summary)
    }
}

/// Reads `log` and aggregates it, on several threads when it is large.
pub fn build(log: &LocalLog, opts: &ReportOptions) -> Result<Report, ReportError> {
    Ok(aggregate(log, opts)?.0.report())
}

/// Reads `log` and returns the aggregation and the offset just past the last complete
/// line counted (where to resume reading).
pub fn aggregate(log: &LocalLog, opts: &ReportOptions) -> Result<(Aggregator, u64), ReportError> {
    let len = std::fs::metadata(log.path()).map(|m| m.len()).unwrap_or(0);
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
        n => n,
    };
    if threads <= 1 || len < PARALLEL_MIN_BYTES {
        return aggregate_range(log, opts, 0, None);
    }
    let read_err = |source| ReportError::Read {
        path: log.path().to_owned(),
        source,
    };
    let mut starts = vec![0u64];
    {
        let mut f = BufReader::new(File::open(log.path()).map_err(read_err)?);
        let mut skip = Vec::new();
        for i in 1..threads as u64 {
            let guess = (len * i / threads as u64).max(*starts.last().unwrap_or(&0));
            // The next line starts after the first newline at or after `guess - 1`.
            f.seek(SeekFrom::Start(guess.saturating_sub(1)))
                .map_err(read_err)?;
            skip.clear();
            let n = f.read_until(b'\n', &mut skip).map_err(read_err)?;
            let start = guess.saturating_sub(1) + n as u64;
            if start < len && start > *starts.last().unwrap_or(&0) {
                starts.push(start);
            }
        }
    }
    let ranges: Vec<(u64, Option<u64>)> = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, starts.get(i + 1).copied()))
        .collect();
    let results: Vec<Result<(Aggregator, u64), ReportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(start, end)| scope.spawn(move || aggregate_range(log, opts, start, end)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReportError::Thread {
                        path: log.path().to_owned(),
                    })
                })
            })
            .collect()
    });
    let mut merged: Option<(Aggregator, u64)> = None;
    for r in results {
        let (agg, offset) = r?;
        merged = Some(match merged {
            None => (agg, offset),
            Some((mut acc, _)) => {
                acc.merge(&agg);
                (acc, offset)
            }
        });
    }
    Ok(merged.unwrap_or_else(|| (Aggregator::new(opts.clone()), 0)))
}

/// Aggregates the lines that start in `[start, end)` (to the end of the file without
/// `end`). A last line without its newline counts if it is a valid event (the next
/// append terminates it); otherwise it is torn or still being written, is not counted,
/// and the returned offset stops before it so that it is read again, whole, next time.
fn aggregate_range(
    log: &LocalLog,
    opts: &ReportOptions,
    start: u64,
    end: Option<u64>,
) -> Result<(Aggregator, u64), ReportError> {
    let mut agg = Aggregator::new(opts.clone());
    let offset = agg.read_lines(log, start, end)?;
    Ok((agg, offset))
}

fn ser_time<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_timestamp(*t)),
        None => s.serialize_none(),
    }
}

/// The answers, ready to render or to serialize as JSON (`report --format json`).
///
/// Shares and rates are fractions in `[0, 1]`, `null` when their denominator is 0.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The time covered.
    pub period: Period,
    /// Events counted (in the period, if one was given), with or without a timestamp.
    pub events: u64,
    /// Lines of the log that are not events.
    pub malformed_lines: u64,
    /// Counted events without a timestamp (written by the Python tool): in the totals,
    /// left out of the weekly figures.
    pub without_timestamp: u64,
    /// Events left out by `since`/`until`, including those without a timestamp.
    pub outside_period: u64,
    /// Diagnostic events (`doctor`'s test span, see [`is_diagnostic`]) left out of every
    /// figure.
    pub diagnostic_events: u64,
    /// Counted events without a `session_id` (not in any session count).
    pub without_session: u64,
    /// Counted events that succeeded.
    pub successes: u64,
    /// `successes / events`.
    pub success_rate: Option<f64>,
    /// Distinct sessions.
    pub sessions: SessionCount,
    /// The command used in the most sessions.
    pub most_used: Option<MostUsed>,
    /// Every command, most sessions first (then most runs, then by name).
    pub commands: Vec<CommandReport>,
    /// Regressions prevented: `violations_detected` by category.
    pub regressions: Regressions,
    /// Calendar weeks from the first to the last timestamped event, empty ones included.
    pub weeks: Vec<WeekReport>,
    /// Weekly averages.
    pub weekly: WeeklySummary,
    /// Validation checks run and failed.
    pub checks: Checks,
    /// Features and stories discovered (by `import.from_code`).
    pub discovery: Discovery,
    /// The most recent events, newest first (only when asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Event>,
}

/// The time covered by a report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Period {
    /// Earliest timestamp counted.
    #[serde(serialize_with = "ser_time")]
    pub first: Option<SystemTime>,
    /// Latest timestamp counted.
    #[serde(serialize_with = "ser_time")]
    pub last: Option<SystemTime>,
    /// The requested lower bound, if any.
    #[serde(serialize_with = "ser_time")]
    pub since: Option<SystemTime>,
    /// The requested upper bound (exclusive), if any.
    #[serde(serialize_with = "ser_time")]
    pub until: Option<SystemTime>,
}

/// The number of distinct sessions and how exact it is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SessionCount {
    /// Distinct `session_id` values.
    pub count: u64,
    /// Whether `count` is exact (otherwise a HyperLogLog estimate).
    pub exact: bool,
    /// Relative standard error of `count` (0 when exact).
    pub standard_error: f64,
}

/// The most-used command.
#[derive(Debug, Clone, Serialize)]
pub struct MostUsed {
    /// Its name.
    pub command: String,
    /// Sessions it ran in.
    pub sessions: u64,
    /// Share of all sessions.
    pub session_share: Option<f64>,
    /// Times it ran.
    pub runs: u64,
}

/// One command's figures.
#[derive(Debug, Clone, Serialize)]
pub struct CommandReport {
    /// The command (or [`OTHER_COMMANDS`]).
    pub command: String,
    /// Times it ran.
    pub runs: u64,
    /// Distinct sessions it ran in.
    pub sessions: u64,
    /// `sessions` / all sessions.
    pub session_share: Option<f64>,
    /// Runs that succeeded.
    pub successes: u64,
    /// `successes / runs`.
    pub success_rate: Option<f64>,
    /// Duration statistics, milliseconds.
    pub duration_ms: DurationStats,
    /// `violations_detected` summed.
    pub violations: u64,
}

/// Duration statistics in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DurationStats {
    /// Median (nearest rank).
    pub median: Option<f64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<f64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Shortest.
    pub min: Option<f64>,
    /// Longest.
    pub max: Option<f64>,
    /// Whether median and p95 are exact (otherwise within 0.99 %).
    pub exact: bool,
}

/// A count and its share of a whole.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Share {
    /// The count.
    pub count: u64,
    /// `count / total`.
    pub share: Option<f64>,
}

/// Regressions prevented (`violations_detected`), by category.
#[derive(Debug, Clone, Serialize)]
pub struct Regressions {
    /// All violations detected.
    pub total: u64,
    /// By families mapped to contract violations.
    pub contract_violations: Share,
    /// By families mapped to plan drift.
    pub plan_drift: Share,
    /// By families the map does not name.
    pub other: Share,
    /// The family → category map used.
    pub categories: BTreeMap<String, &'static str>,
}

/// One ISO week.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WeekReport {
    /// The week, `YYYY-Www`.
    pub week: IsoWeek,
    /// Its Monday.
    pub start: Date,
    /// Events that week.
    pub events: u64,
    /// Violations detected that week (regressions prevented).
    pub violations: u64,
    /// Of which contract violations.
    pub contract_violations: u64,
    /// Of which plan drift.
    pub plan_drift: u64,
}

/// Weekly averages over the calendar weeks from the first to the last timestamped event.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WeeklySummary {
    /// Calendar weeks in the period (empty ones included).
    pub weeks: u64,
    /// Timestamped events.
    pub events: u64,
    /// Violations detected by timestamped events.
    pub violations: u64,
    /// Events per week.
    pub average_events: Option<f64>,
    /// Regressions prevented per week.
    pub average_violations: Option<f64>,
    /// Events in weeks older than the [`MAX_WEEKS`] listed (counted in the averages).
    pub dropped_events: u64,
}

/// Validation checks (`checks_total`, `checks_failed`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Checks {
    /// Events that reported checks.
    pub runs: u64,
    /// Checks run.
    pub total: u64,
    /// Checks failed.
    pub failed: u64,
    /// `failed / total`.
    pub failure_rate: Option<f64>,
}

/// Discovery by `import.from_code` (`features_detected`, `stories_detected`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Discovery {
    /// Events that reported features or stories.
    pub runs: u64,
    /// Features discovered.
    pub features: u64,
    /// Stories discovered.
    pub stories: u64,
}
