//! The published document, `specfact-community/1`: what `GET /api/community.json` serves and
//! `report --compare` reads. Every field is documented in the README ("Community numbers").
//!
//! Readers accept documents with fields they do not know (a later minor change adds fields)
//! and documents missing optional ones; a different `schema` major is refused.

use serde::{Deserialize, Serialize};

/// The schema name and version written in [`Publication::schema`].
pub const SCHEMA: &str = "specfact-community/1";

/// Whether a `schema` value can be read by this version (same name and major).
pub fn is_supported(schema: &str) -> bool {
    schema == SCHEMA
}

/// The community figures, k-anonymous. Shares and rates are fractions in `[0, 1]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Publication {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the figures were computed (RFC 3339, UTC).
    pub generated_at: String,
    /// Events before this time are counted (RFC 3339, UTC; exclusive). `null`: everything stored.
    pub data_until: Option<String>,
    /// k: every published figure covers at least this many distinct sessions.
    pub min_sessions: u64,
    /// `false` when all the data together covers fewer than k sessions: then nothing else
    /// is filled in.
    pub available: bool,
    /// Events counted (the `doctor` command's test events are never counted).
    pub events: Option<u64>,
    /// Distinct sessions.
    pub sessions: Option<u64>,
    /// Whether `sessions` is exact (otherwise a HyperLogLog estimate, 0.81 % standard error).
    pub sessions_exact: bool,
    /// Events that succeeded / events.
    pub success_rate: Option<f64>,
    /// Regressions prevented (`violations_detected`) by category.
    pub regressions: Option<Regressions>,
    /// The command used in the most sessions.
    pub most_used: Option<MostUsed>,
    /// Commands covering at least k sessions, most sessions first.
    pub commands: Vec<Command>,
    /// Commands held back, pooled into one row (present only when the pool covers at
    /// least k sessions; otherwise its figures stay unpublished too).
    pub other_commands: Option<PooledCommands>,
    /// ISO weeks, oldest first, with the regressions prevented that week. Held-back weeks
    /// are missing.
    pub weeks: Vec<Week>,
    /// Weekly average over the calendar weeks from `first_week` to `last_week`.
    pub weekly: Option<Weekly>,
    /// Validation checks run and failed.
    pub checks: Option<Checks>,
    /// Features and stories discovered.
    pub discovery: Option<Discovery>,
    /// What was not published because it covers fewer than k sessions.
    pub held_back: HeldBack,
}

/// A count and its share of a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Share {
    /// The count.
    pub count: u64,
    /// `count / total`, `null` when the total is 0.
    pub share: Option<f64>,
}

/// Regressions prevented by category; a category held back is `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Regressions {
    /// All violations detected.
    pub total: u64,
    /// From command families mapped to contract violations (`repro`, `contract`, `enforce`, `analyze`).
    pub contract_violations: Option<Share>,
    /// From families mapped to plan drift (`plan`, `drift`).
    pub plan_drift: Option<Share>,
    /// From families mapped to neither.
    pub other: Option<Share>,
}

/// The most-used command.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MostUsed {
    /// Its name.
    pub command: String,
    /// Sessions it ran in.
    pub sessions: u64,
    /// Share of all sessions.
    pub session_share: Option<f64>,
}

/// One command's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Command {
    /// The command (`repro.run`).
    pub command: String,
    /// Times it ran.
    pub runs: u64,
    /// Distinct sessions it ran in (at least k).
    pub sessions: u64,
    /// `sessions` / all sessions.
    pub session_share: Option<f64>,
    /// Runs that succeeded / runs.
    pub success_rate: Option<f64>,
    /// Median and 95th-percentile duration, milliseconds, two significant digits.
    pub duration_ms: Durations,
}

/// Duration quantiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Durations {
    /// Median (nearest rank).
    pub median: Option<f64>,
    /// 95th percentile (nearest rank).
    pub p95: Option<f64>,
}

/// Held-back commands, pooled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PooledCommands {
    /// How many command cells are in the pool.
    pub commands: u64,
    /// Their runs together.
    pub runs: u64,
    /// Distinct sessions that ran any of them.
    pub sessions: u64,
    /// Runs that succeeded / runs.
    pub success_rate: Option<f64>,
}

/// One ISO week.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Week {
    /// `YYYY-Www`.
    pub week: String,
    /// Its Monday, `YYYY-MM-DD`.
    pub start: String,
    /// Regressions prevented that week.
    pub regressions: u64,
    /// Of which contract violations.
    pub contract_violations: u64,
    /// Of which plan drift.
    pub plan_drift: u64,
}

/// Weekly average.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Weekly {
    /// First week of the range (`YYYY-Www`).
    pub first_week: String,
    /// Last week of the range.
    pub last_week: String,
    /// Calendar weeks in the range, empty and held-back ones included.
    pub weeks: u64,
    /// Regressions prevented in the range / `weeks`.
    pub average_regressions: Option<f64>,
}

/// Validation checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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

/// Discovery by `import.from_code`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Discovery {
    /// Events that reported features or stories.
    pub runs: u64,
    /// Features discovered.
    pub features: u64,
    /// Stories discovered.
    pub stories: u64,
}

/// How many cells were held back, by kind. A cell is one published unit: a command's row,
/// a week, a regression category, the checks, the discovery figures, or the whole totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeldBack {
    /// All cells held back.
    pub cells: u64,
    /// Command rows (each command under k sessions, the rows pooled with them so that
    /// no held-back row can be computed from the totals, and the `(other)` row of
    /// commands beyond the 256 tracked).
    pub commands: u64,
    /// Weeks.
    pub weeks: u64,
    /// Regression categories.
    pub regression_categories: u64,
    /// Other figures (totals, checks, discovery).
    pub figures: u64,
}
