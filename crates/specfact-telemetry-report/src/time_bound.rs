//! Bounds of a period, as people type them after `--since` and `--until` (or an API's
//! query): one syntax everywhere.
//!
//! * `YYYY-MM-DD` — a whole day **in UTC** (as a lower bound from its first instant,
//!   as an upper bound up to and including its last);
//! * an RFC 3339 time with an offset — `2026-11-24T06:15:00Z`, `2026-11-24T07:15:00+01:00`
//!   — that instant, included either way;
//! * an age — `7d`, `12h`, `2w`, `1h 30m` — that long before now.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use specfact_telemetry_report::time_bound::{TimeBound, TimeRange};
//!
//! let day: TimeBound = "2026-01-05".parse()?;
//! let range = TimeRange::new(Some(day), Some(day))?; // all of 5 January, UTC
//! assert_eq!(range.since, Some(UNIX_EPOCH + Duration::from_secs(1_767_571_200)));
//! assert_eq!(range.until, Some(UNIX_EPOCH + Duration::from_secs(1_767_571_200 + 86_400)));
//! assert!("2026-01-05T10:00:00".parse::<TimeBound>().is_err()); // no offset: which zone?
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// What every bound may look like, for error messages and help texts.
pub const EXPECTED: &str = "expected a date (2026-11-24), an RFC 3339 time with an offset \
     (2026-11-24T06:15:00Z) or an age (7d, 12h); a date is that whole day in UTC";

const DAY: Duration = Duration::from_secs(86_400);

/// Why a bound or an age could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeBoundError {
    /// Not any of the accepted forms.
    #[error("{EXPECTED}")]
    Unrecognized,
    /// Shaped like a date, but no such day.
    #[error("{0} is not a valid date; {EXPECTED}")]
    InvalidDate(String),
    /// A date and time without an offset: the zone is unknown.
    #[error("the time has no offset (add Z for UTC, or e.g. +01:00); {EXPECTED}")]
    NoOffset,
    /// Outside what the system clock can represent.
    #[error("out of range; {EXPECTED}")]
    OutOfRange,
    /// An age without a unit or with an unknown one.
    #[error("expected a number and a unit, e.g. 30d, 12h or 2w")]
    BadAge,
    /// An age of zero.
    #[error("must be longer than zero")]
    ZeroAge,
}

/// One bound, as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// A calendar day in UTC, by the instant it starts.
    Day(SystemTime),
    /// An instant (an RFC 3339 time, or now minus an age).
    Instant(SystemTime),
}

impl TimeBound {
    /// Reads a bound; an age counts back from `now`.
    pub fn parse(s: &str, now: SystemTime) -> Result<TimeBound, TimeBoundError> {
        let s = s.trim();
        if let Ok(ts) = s.parse::<jiff::Timestamp>() {
            return SystemTime::try_from(ts)
                .map(TimeBound::Instant)
                .map_err(|_| TimeBoundError::OutOfRange);
        }
        if looks_like_date(s) {
            let date = s
                .parse::<jiff::civil::Date>()
                .map_err(|_| TimeBoundError::InvalidDate(s.to_owned()))?;
            let start = date
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map_err(|_| TimeBoundError::OutOfRange)?
                .timestamp();
            return SystemTime::try_from(start)
                .map(TimeBound::Day)
                .map_err(|_| TimeBoundError::OutOfRange);
        }
        if s.parse::<jiff::civil::DateTime>().is_ok() {
            return Err(TimeBoundError::NoOffset);
        }
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            let age = parse_age(s).map_err(|_| TimeBoundError::Unrecognized)?;
            return now
                .checked_sub(age)
                .map(TimeBound::Instant)
                .ok_or(TimeBoundError::OutOfRange);
        }
        Err(TimeBoundError::Unrecognized)
    }

    /// The first instant the bound includes: what `--since` means.
    pub fn start(self) -> SystemTime {
        match self {
            TimeBound::Day(t) | TimeBound::Instant(t) => t,
        }
    }

    /// The first instant after the bound: what `--until` means as an exclusive limit. A
    /// day is included whole; an instant is included (times are kept to the millisecond,
    /// so one nanosecond later excludes nothing else).
    pub fn end(self) -> SystemTime {
        match self {
            TimeBound::Day(t) => t.checked_add(DAY).unwrap_or(t),
            TimeBound::Instant(t) => t.checked_add(Duration::from_nanos(1)).unwrap_or(t),
        }
    }
}

impl FromStr for TimeBound {
    type Err = TimeBoundError;

    /// Reads a bound; an age counts back from the current time.
    fn from_str(s: &str) -> Result<TimeBound, TimeBoundError> {
        TimeBound::parse(s, SystemTime::now())
    }
}

/// `YYYY-MM-DD`, possibly with a sign or more year digits: a date, valid or not.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[b.len() - 3] == b'-'
        && b[b.len() - 6] == b'-'
        && b.iter()
            .all(|c| c.is_ascii_digit() || *c == b'-' || *c == b'+')
}

/// Reads an age: a number and a unit (`30d`, `12h`, `2w`, `1h 30m`); longer than zero.
pub fn parse_age(s: &str) -> Result<Duration, TimeBoundError> {
    let s = s.trim();
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(TimeBoundError::BadAge);
    }
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err(TimeBoundError::ZeroAge),
        Ok(d) => Ok(d),
        Err(_) => Err(TimeBoundError::BadAge),
    }
}

/// A period: events at or after `since` and before `until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive lower limit.
    pub since: Option<SystemTime>,
    /// Exclusive upper limit.
    pub until: Option<SystemTime>,
}

/// `--since` is not before `--until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("--since must be before --until")]
pub struct EmptyRange;

impl TimeRange {
    /// The period from `since` (its start) up to and including `until`.
    pub fn new(
        since: Option<TimeBound>,
        until: Option<TimeBound>,
    ) -> Result<TimeRange, EmptyRange> {
        let range = TimeRange {
            since: since.map(TimeBound::start),
            until: until.map(TimeBound::end),
        };
        match (range.since, range.until) {
            (Some(s), Some(u)) if s >= u => Err(EmptyRange),
            _ => Ok(range),
        }
    }

    /// Whether `t` is in the period. A time that is unknown (`None`) is in it only when
    /// the period is unbounded.
    pub fn contains(&self, t: Option<SystemTime>) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Some(t) = t else { return false };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether neither limit is set.
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use specfact_telemetry::event::{format_timestamp, parse_timestamp};
    use std::time::UNIX_EPOCH;

    fn at(s: &str) -> SystemTime {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn a_date_is_a_whole_utc_day() {
        let b: TimeBound = "2026-11-24".parse().unwrap();
        assert_eq!(b, TimeBound::Day(at("2026-11-24T00:00:00Z")));
        assert_eq!(b.start(), at("2026-11-24T00:00:00Z"));
        assert_eq!(b.end(), at("2026-11-25T00:00:00Z"));
    }

    #[test]
    fn times_need_an_offset_and_include_their_instant() {
        let t = at("2026-11-24T06:15:00Z");
        assert_eq!("2026-11-24T06:15:00Z".parse(), Ok(TimeBound::Instant(t)));
        assert_eq!(
            "2026-11-24T07:15:00+01:00".parse(),
            Ok(TimeBound::Instant(t))
        );
        let r = TimeRange::new(None, Some(TimeBound::Instant(t))).unwrap();
        assert!(r.contains(Some(t)));
        assert!(!r.contains(Some(t + Duration::from_millis(1))));
        assert_eq!(
            "2026-11-24T06:15:00".parse::<TimeBound>(),
            Err(TimeBoundError::NoOffset)
        );
    }

    #[test]
    fn ages_count_back_from_now() {
        let now = at("2026-11-24T12:00:00Z");
        assert_eq!(
            TimeBound::parse("7d", now),
            Ok(TimeBound::Instant(at("2026-11-17T12:00:00Z")))
        );
        assert_eq!(
            TimeBound::parse("12h", now),
            Ok(TimeBound::Instant(at("2026-11-24T00:00:00Z")))
        );
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("0d"), Err(TimeBoundError::ZeroAge));
        assert_eq!(parse_age("30"), Err(TimeBoundError::BadAge));
        assert_eq!(parse_age("-3d"), Err(TimeBoundError::BadAge));
    }

    #[test]
    fn bad_input_says_what_is_expected() {
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "24/11/2026",
            "",
            "7",
            "last tuesday",
        ] {
            let e = bad.parse::<TimeBound>().unwrap_err().to_string();
            assert!(
                e.contains("expected a date (2026-11-24), an RFC 3339 time"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            "2026-02-30".parse::<TimeBound>(),
            Err(TimeBoundError::InvalidDate("2026-02-30".to_owned()))
        );
    }

    #[test]
    fn an_empty_range_is_refused_and_an_unbounded_one_holds_everything() {
        let d = |s: &str| s.parse::<TimeBound>().unwrap();
        assert_eq!(
            TimeRange::new(Some(d("2026-02-01")), Some(d("2026-01-01"))),
            Err(EmptyRange)
        );
        assert!(TimeRange::new(Some(d("2026-01-01")), Some(d("2026-01-01"))).is_ok());
        let all = TimeRange::default();
        assert!(all.is_unbounded() && all.contains(None));
        let r = TimeRange::new(Some(d("2026-01-01")), None).unwrap();
        assert!(!r.contains(None));
    }

    proptest! {
        #[test]
        fn any_valid_date_is_its_utc_day(days in -700_000i64..2_900_000) {
            let start = if days >= 0 {
                UNIX_EPOCH + DAY * days as u32
            } else {
                UNIX_EPOCH - DAY * (-days) as u32
            };
            let date = jiff::Timestamp::try_from(start).unwrap()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            let text = date.to_string();
            let bound: TimeBound = text.parse().unwrap();
            prop_assert_eq!(bound, TimeBound::Day(start));
            prop_assert_eq!(bound.end(), start + DAY);
        }

        #[test]
        fn any_rfc3339_time_with_an_offset_is_its_instant(
            ms in 0u64..253_402_300_799_999,
            offset_minutes in -1079i32..1080,
        ) {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let ts = jiff::Timestamp::try_from(t).unwrap();
            let zone = jiff::tz::TimeZone::fixed(
                jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap(),
            );
            let text = ts.to_zoned_datetime(zone).strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
            prop_assert_eq!(text.parse::<TimeBound>(), Ok(TimeBound::Instant(t)), "{}", text);
            let z = format_timestamp(t);
            prop_assert_eq!(z.parse::<TimeBound>(), Ok(TimeBound::Instant(t)));
        }

        #[test]
        fn any_age_counts_back_from_now(n in 1u64..100_000, unit in prop::sample::select(vec![("m", 60u64), ("h", 3600), ("d", 86_400), ("w", 604_800)])) {
            let now = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
            let text = format!("{n}{}", unit.0);
            prop_assert_eq!(
                TimeBound::parse(&text, now),
                Ok(TimeBound::Instant(now - Duration::from_secs(n * unit.1)))
            );
        }

        #[test]
        fn anything_else_is_an_error_not_a_panic(s in "\\PC{0,40}") {
            let _ = TimeBound::parse(&s, SystemTime::now());
        }

        #[test]
        fn a_range_contains_exactly_what_lies_between(a in 0u64..1_000_000, b in 0u64..1_000_000, t in 0u64..1_000_000) {
            let sec = |n: u64| UNIX_EPOCH + Duration::from_secs(n);
            match TimeRange::new(Some(TimeBound::Instant(sec(a))), Some(TimeBound::Instant(sec(b)))) {
                Ok(r) => prop_assert_eq!(r.contains(Some(sec(t))), a <= t && t <= b),
                Err(EmptyRange) => prop_assert!(a > b),
            }
        }
    }
}
