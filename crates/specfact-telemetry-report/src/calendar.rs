//! Civil dates and ISO 8601 weeks in UTC: just enough calendar for weekly figures,
//! without time-zone data.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

const SECS_PER_DAY: u64 = 86_400;

/// Days since 1970-01-01 (UTC) of the day that contains `t`; negative before 1970.
pub fn day_number(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() / SECS_PER_DAY) as i64,
        Err(e) => {
            // Round towards the past: 1969-12-31T23:59:59Z is day -1.
            let d = e.duration();
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            -(secs.div_ceil(SECS_PER_DAY) as i64)
        }
    }
}

/// A calendar date (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
}

impl Date {
    /// The date of day number `days` (days since 1970-01-01).
    pub fn from_day_number(days: i64) -> Date {
        // Howard Hinnant's `civil_from_days`.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// The date of a point in time, in UTC.
    pub fn of(t: SystemTime) -> Date {
        Date::from_day_number(day_number(t))
    }

    /// Days since 1970-01-01 of this date.
    pub fn day_number(self) -> i64 {
        // Howard Hinnant's `days_from_civil`.
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday), in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    /// Day number of the week's Monday; orders weeks.
    monday: i64,
    /// ISO week-numbering year (may differ from the calendar year near New Year).
    year: i64,
    /// Week of that year, 1–53.
    week: u32,
}

impl IsoWeek {
    /// The week that contains day number `days`.
    pub fn of_day(days: i64) -> IsoWeek {
        // 1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays.
        let monday = days - (days + 3).rem_euclid(7);
        Self::starting(monday)
    }

    /// The week that contains `t` (UTC).
    pub fn of(t: SystemTime) -> IsoWeek {
        Self::of_day(day_number(t))
    }

    fn starting(monday: i64) -> IsoWeek {
        let thursday = monday + 3;
        let year = Date::from_day_number(thursday).year;
        let jan1 = Date {
            year,
            month: 1,
            day: 1,
        }
        .day_number();
        let week = ((thursday - jan1) / 7 + 1) as u32;
        IsoWeek { monday, year, week }
    }

    /// The week after this one.
    pub fn next(self) -> IsoWeek {
        Self::starting(self.monday + 7)
    }

    /// The number of weeks from `self` to `later` (0 for the same week).
    pub fn weeks_until(self, later: IsoWeek) -> i64 {
        (later.monday - self.monday) / 7
    }

    /// The ISO week-numbering year.
    pub fn year(self) -> i64 {
        self.year
    }

    /// The week number, 1–53.
    pub fn week(self) -> u32 {
        self.week
    }

    /// The week's Monday.
    pub fn monday(self) -> Date {
        Date::from_day_number(self.monday)
    }
}

impl fmt::Display for IsoWeek {
    /// `YYYY-Www`, e.g. `2026-W05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl Serialize for IsoWeek {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn date(y: i64, m: u32, d: u32) -> Date {
        Date {
            year: y,
            month: m,
            day: d,
        }
    }

    #[test]
    fn day_numbers_round_trip_across_four_centuries() {
        for days in (-200_000..200_000).step_by(7) {
            assert_eq!(Date::from_day_number(days).day_number(), days);
        }
        assert_eq!(date(1970, 1, 1).day_number(), 0);
        assert_eq!(date(2000, 3, 1).day_number(), 11_017);
        assert_eq!(Date::from_day_number(-1), date(1969, 12, 31));
        assert_eq!(Date::from_day_number(20_513).to_string(), "2026-03-01");
    }

    #[test]
    fn times_before_1970_fall_on_the_right_day() {
        let t = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(day_number(t), -1);
        assert_eq!(day_number(UNIX_EPOCH - Duration::from_secs(86_400)), -1);
        assert_eq!(day_number(UNIX_EPOCH + Duration::from_secs(86_399)), 0);
    }

    #[test]
    fn iso_weeks_match_the_calendar() {
        // (date, ISO year, week), checked against a printed calendar.
        let cases = [
            (date(2026, 1, 1), 2026, 1),   // Thursday
            (date(2025, 12, 29), 2026, 1), // Monday of 2026-W01
            (date(2025, 12, 28), 2025, 52),
            (date(2021, 1, 3), 2020, 53), // Sunday, end of a 53-week year
            (date(2021, 1, 4), 2021, 1),
            (date(2026, 3, 1), 2026, 9),
            (date(2024, 12, 30), 2025, 1),
        ];
        for (d, year, week) in cases {
            let w = IsoWeek::of_day(d.day_number());
            assert_eq!((w.year(), w.week()), (year, week), "{d}");
        }
        let w = IsoWeek::of_day(date(2026, 1, 28).day_number());
        assert_eq!(w.to_string(), "2026-W05");
        assert_eq!(w.monday(), date(2026, 1, 26));
        assert_eq!(w.next().to_string(), "2026-W06");
        let dec = IsoWeek::of_day(date(2020, 12, 28).day_number());
        assert_eq!(dec.next().to_string(), "2021-W01");
        assert_eq!(dec.weeks_until(w), 265);
    }
}
