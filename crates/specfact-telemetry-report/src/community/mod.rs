//! Community figures: the same numbers as [`Report`](crate::Report), over many users'
//! events, published only where they single out no one.
//!
//! [`CommunityAggregator`] counts events with the report's own [`Aggregator`] (so every
//! figure means what it means in `report`) and, beside it, which sessions stand behind each
//! publishable cell. [`CommunityAggregator::publish`] then applies k-anonymity (see
//! [`anonymity`]): a cell covering fewer than k distinct sessions is published neither by
//! number nor by name, and cells whose sum is published are suppressed in pairs so that no
//! held-back figure can be computed by subtraction. The result is a [`Publication`], the
//! `specfact-community/1` document.
//!
//! ```
//! use specfact_telemetry::Event;
//! use specfact_telemetry_report::ReportOptions;
//! use specfact_telemetry_report::community::CommunityAggregator;
//!
//! let mut agg = CommunityAggregator::new(ReportOptions::default());
//! let event = |command: &str, s: u32| {
//!     let line = format!(r#"{{"command":"{command}","success":true,"duration_ms":10,"session_id":"{s:032x}","violations_detected":2,"timestamp":"2026-03-02T10:00:00Z"}}"#);
//!     Event::from_json_line(line.as_bytes()).unwrap()
//! };
//! (0..20).for_each(|s| agg.push(&event("repro.run", s)));
//! (0..12).for_each(|s| agg.push(&event("plan.init", s)));
//! let rare = r#"{"command":"acme.secret-tool","success":true,"duration_ms":5,"session_id":"ffffffffffffffffffffffffffffffff","timestamp":"2026-03-02T10:00:00Z"}"#;
//! agg.push(&Event::from_json_line(rare.as_bytes()).unwrap());
//! let p = agg.publish(10, std::time::SystemTime::now(), None);
//! assert_eq!(p.commands.len(), 1);
//! assert_eq!(p.commands[0].command, "repro.run");
//! assert!(!serde_json::to_string(&p).unwrap().contains("secret"));
//! // The rare command is held back, and plan.init with it: otherwise "all events minus
//! // the rows shown" would give the rare command's runs.
//! assert_eq!(p.held_back.commands, 2);
//! ```

pub mod anonymity;
pub mod schema;

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use specfact_telemetry::event::{Event, format_timestamp, is_diagnostic};

use crate::scan::Parts;
use crate::sessions::{DistinctCounter, hash_id};
use crate::{Aggregator, Category, IsoWeek, MAX_COMMANDS, OTHER_COMMANDS, ReportOptions};
use anonymity::{Candidate, decide};
pub use schema::{Publication, SCHEMA};

/// The default k: every published figure covers at least this many distinct sessions.
pub const DEFAULT_MIN_SESSIONS: u64 = 10;

/// Which sessions stand behind each cell that may be published.
#[derive(Debug, Clone, Default)]
struct Coverage {
    /// Sessions per command, folded past [`MAX_COMMANDS`] like the report's rows.
    commands: HashMap<String, DistinctCounter>,
    /// Sessions that prevented regressions, per category.
    contract: DistinctCounter,
    drift: DistinctCounter,
    other: DistinctCounter,
    /// Sessions that prevented regressions, per week.
    weeks: BTreeMap<IsoWeek, DistinctCounter>,
    /// Sessions that reported checks, and discovery.
    checks: DistinctCounter,
    discovery: DistinctCounter,
}

/// Streams events into community figures. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct CommunityAggregator {
    report: Aggregator,
    coverage: Coverage,
    diagnostics: u64,
}

impl CommunityAggregator {
    /// An empty aggregation counting with `opts` (period, category map).
    pub fn new(opts: ReportOptions) -> Self {
        CommunityAggregator {
            report: Aggregator::new(ReportOptions {
                recent_events: 0,
                ..opts
            }),
            coverage: Coverage::default(),
            diagnostics: 0,
        }
    }

    /// Diagnostic events seen and left out.
    pub fn diagnostics(&self) -> u64 {
        self.diagnostics
    }

    /// Counts one event (unless it is a diagnostic, by the core's [`is_diagnostic`] as in
    /// `report`, or outside the period).
    pub fn push(&mut self, e: &Event) {
        if is_diagnostic(e) {
            self.diagnostics += 1;
            return;
        }
        if !self.report.options().in_period(e.timestamp) {
            self.report.push(e);
            return;
        }
        self.report.push(e);
        let p = Parts::of(e);
        if p.session_id.is_empty() {
            return;
        }
        let h = hash_id(&p.session_id);
        let cov = &mut self.coverage;
        let key =
            if cov.commands.contains_key(e.command.as_str()) || cov.commands.len() < MAX_COMMANDS {
                e.command.as_str()
            } else {
                OTHER_COMMANDS
            };
        cov.commands.entry(key.to_owned()).or_default().insert(h);
        let violations = p.violations.count();
        if violations > 0 {
            let family = e.command.split('.').next().unwrap_or(&e.command);
            match Category::of(family, &self.report.options().categories) {
                Category::Contract => cov.contract.insert(h),
                Category::Drift => cov.drift.insert(h),
                Category::Other => cov.other.insert(h),
            }
            if let Some(t) = p.timestamp {
                cov.weeks.entry(IsoWeek::of(t)).or_default().insert(h);
            }
        }
        if p.checks_total.is_present() || p.checks_failed.is_present() {
            cov.checks.insert(h);
        }
        if p.features.is_present() || p.stories.is_present() {
            cov.discovery.insert(h);
        }
    }

    /// The k-anonymous publication with `min_sessions` = k, stamped `generated_at`;
    /// `data_until` is the exclusive end of the data counted, when there is one.
    pub fn publish(
        &self,
        min_sessions: u64,
        generated_at: SystemTime,
        data_until: Option<SystemTime>,
    ) -> Publication {
        publish(self, min_sessions.max(1), generated_at, data_until)
    }
}

/// Two significant digits: a published duration is one real run's, blurred.
fn two_significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(1 - magnitude);
    (x * scale).round() / scale
}

fn share(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

fn publish(
    agg: &CommunityAggregator,
    k: u64,
    generated_at: SystemTime,
    data_until: Option<SystemTime>,
) -> Publication {
    let r = agg.report.report();
    let cov = &agg.coverage;
    let mut out = Publication {
        schema: SCHEMA.to_owned(),
        generated_at: format_timestamp(generated_at),
        data_until: data_until.map(format_timestamp),
        min_sessions: k,
        ..Publication::default()
    };
    let mut held = schema::HeldBack::default();

    // Totals: all sessions together.
    if r.sessions.count < k {
        held.figures += 1;
        held.commands += r.commands.len() as u64;
        held.weeks += r.weeks.iter().filter(|w| w.violations > 0).count() as u64;
        held.cells = held.figures + held.commands + held.weeks;
        out.held_back = held;
        return out;
    }
    out.available = true;
    out.events = Some(r.events);
    out.sessions = Some(r.sessions.count);
    out.sessions_exact = r.sessions.exact;
    out.success_rate = r.success_rate;

    // Commands: the report's rows, most sessions first.
    let empty = DistinctCounter::new();
    let rows: Vec<&DistinctCounter> = r
        .commands
        .iter()
        .map(|c| cov.commands.get(&c.command).unwrap_or(&empty))
        .collect();
    let candidates: Vec<Candidate<'_>> = r
        .commands
        .iter()
        .zip(&rows)
        .map(|(c, s)| Candidate {
            sessions: s,
            forced: c.command == OTHER_COMMANDS,
        })
        .collect();
    let decision = decide(&candidates, k);
    let (mut pool_runs, mut pool_successes) = (0u64, 0u64);
    for (c, published) in r.commands.iter().zip(&decision.published) {
        if *published {
            out.commands.push(schema::Command {
                command: c.command.clone(),
                runs: c.runs,
                sessions: c.sessions,
                session_share: c.session_share,
                success_rate: c.success_rate,
                duration_ms: schema::Durations {
                    median: c.duration_ms.median.map(two_significant),
                    p95: c.duration_ms.p95.map(two_significant),
                },
            });
        } else {
            pool_runs += c.runs;
            pool_successes += c.successes;
        }
    }
    held.commands = decision.held_back();
    if held.commands > 0 && decision.pool_sessions >= k {
        out.other_commands = Some(schema::PooledCommands {
            commands: held.commands,
            runs: pool_runs,
            sessions: decision.pool_sessions,
            success_rate: share(pool_successes, pool_runs),
        });
    }
    out.most_used = out.commands.first().map(|c| schema::MostUsed {
        command: c.command.clone(),
        sessions: c.sessions,
        session_share: c.session_share,
    });

    // Regressions: the total needs k sessions that prevented some; each category too
    // (a category with none is published as 0: it is about no one).
    let mut all_regressions = cov.contract.clone();
    all_regressions.merge(&cov.drift);
    all_regressions.merge(&cov.other);
    let reg = &r.regressions;
    if reg.total > 0 && all_regressions.count() < k {
        held.figures += 1;
    } else {
        let cats = [
            (&cov.contract, reg.contract_violations),
            (&cov.drift, reg.plan_drift),
            (&cov.other, reg.other),
        ];
        let nonzero: Vec<usize> = (0..3).filter(|&i| cats[i].1.count > 0).collect();
        let candidates: Vec<Candidate<'_>> = nonzero
            .iter()
            .map(|&i| Candidate {
                sessions: cats[i].0,
                forced: false,
            })
            .collect();
        let d = decide(&candidates, k);
        held.regression_categories = d.held_back();
        let mut shown = [true; 3];
        for (&i, p) in nonzero.iter().zip(&d.published) {
            shown[i] = *p;
        }
        let cell = |i: usize| {
            shown[i].then_some(schema::Share {
                count: cats[i].1.count,
                share: cats[i].1.share,
            })
        };
        out.regressions = Some(schema::Regressions {
            total: reg.total,
            contract_violations: cell(0),
            plan_drift: cell(1),
            other: cell(2),
        });
    }

    // Weeks: every calendar week of the data; a week whose regressions come from fewer
    // than k sessions is held back (with a partner if needed).
    if out.regressions.is_some() && !r.weeks.is_empty() {
        let nonzero: Vec<usize> = (0..r.weeks.len())
            .filter(|&i| r.weeks[i].violations > 0)
            .collect();
        let candidates: Vec<Candidate<'_>> = nonzero
            .iter()
            .map(|&i| Candidate {
                sessions: cov.weeks.get(&r.weeks[i].week).unwrap_or(&empty),
                forced: false,
            })
            .collect();
        let d = decide(&candidates, k);
        held.weeks = d.held_back();
        let mut shown = vec![true; r.weeks.len()];
        for (&i, p) in nonzero.iter().zip(&d.published) {
            shown[i] = *p;
        }
        out.weeks = r
            .weeks
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s)
            .map(|(w, _)| schema::Week {
                week: w.week.to_string(),
                start: w.start.to_string(),
                regressions: w.violations,
                contract_violations: w.contract_violations,
                plan_drift: w.plan_drift,
            })
            .collect();
        if let (Some(first), Some(last)) = (r.weeks.first(), r.weeks.last()) {
            out.weekly = Some(schema::Weekly {
                first_week: first.week.to_string(),
                last_week: last.week.to_string(),
                weeks: r.weekly.weeks,
                average_regressions: r.weekly.average_violations,
            });
        }
    } else if out.regressions.is_none() {
        held.weeks = r.weeks.iter().filter(|w| w.violations > 0).count() as u64;
    }

    if r.checks.runs > 0 {
        if cov.checks.count() >= k {
            out.checks = Some(schema::Checks {
                runs: r.checks.runs,
                total: r.checks.total,
                failed: r.checks.failed,
                failure_rate: r.checks.failure_rate,
            });
        } else {
            held.figures += 1;
        }
    }
    if r.discovery.runs > 0 {
        if cov.discovery.count() >= k {
            out.discovery = Some(schema::Discovery {
                runs: r.discovery.runs,
                features: r.discovery.features,
                stories: r.discovery.stories,
            });
        } else {
            held.figures += 1;
        }
    }
    held.cells = held.commands + held.weeks + held.regression_categories + held.figures;
    out.held_back = held;
    out
}

#[cfg(test)]
mod tests;
