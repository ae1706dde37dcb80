//! Which monthly partition a span goes to, and splitting an insert so that none touches too
//! many partitions.
//!
//! Current ClickHouse refuses an `INSERT` whose rows fall into more than
//! `max_partitions_per_insert_block` partitions (100 by default; 18.16 has no such limit, and
//! refuses the setting by name, so it cannot simply be raised). Start times come from clients,
//! so one request could spread its spans over hundreds of months and make every insert it is
//! grouped with fail. And every partition an insert touches costs ClickHouse about 10 MB of
//! buffers while it writes (18.16 ran out of a 1 GB query limit at 90 months). Rows are
//! therefore written in as many inserts as it takes to keep each within
//! [`MAX_MONTHS_PER_INSERT`]; the usual batch, all of this month or two, is one insert.

/// Months one insert may touch.
pub(super) const MAX_MONTHS_PER_INSERT: usize = 12;

/// The partition of a span starting at `unix_nano`: its UTC month as `YYYYMM`, as
/// [`super::schema::PARTITION_KEY`] computes it.
pub(super) fn month_of(unix_nano: u64) -> u32 {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let days = (unix_nano / 1_000_000_000 / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u32::try_from(year * 100 + month).unwrap_or(u32::MAX)
}

/// The first nanosecond of month `yyyymm` (UTC), Unix time; `None` for a month that is not
/// one or lies outside what a `u64` of nanoseconds holds (1970 to 2554).
pub(super) fn month_start(yyyymm: u32) -> Option<u64> {
    let (year, month) = (i64::from(yyyymm / 100), i64::from(yyyymm % 100));
    if !(1..=12).contains(&month) {
        return None;
    }
    // A civil date to days since 1970-01-01 (Howard Hinnant's `days_from_civil`), day 1.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok()?.checked_mul(86_400_000_000_000)
}

/// The nanoseconds month `yyyymm` covers: first and last, inclusive.
pub(super) fn month_range(yyyymm: u32) -> Option<(u64, u64)> {
    let next = if yyyymm % 100 == 12 {
        (yyyymm / 100 + 1) * 100 + 1
    } else {
        yyyymm + 1
    };
    Some((month_start(yyyymm)?, month_start(next)?.checked_sub(1)?))
}

/// The request bodies for `rows` (each a month and one encoded row): all in one body, in
/// order, when they touch at most `max_months` months; else grouped by month, at most
/// `max_months` months per body.
pub(super) fn insert_bodies(rows: &[(u32, &[u8])], max_months: usize) -> Vec<Vec<u8>> {
    let mut months: Vec<u32> = rows.iter().map(|(m, _)| *m).collect();
    months.sort_unstable();
    months.dedup();
    if months.len() <= max_months {
        return vec![rows.iter().flat_map(|(_, r)| r.iter().copied()).collect()];
    }
    let mut sorted: Vec<&(u32, &[u8])> = rows.iter().collect();
    sorted.sort_by_key(|(m, _)| *m);
    let mut bodies = Vec::new();
    let mut body = Vec::new();
    let mut in_body = 0;
    let mut last = None;
    for (month, row) in sorted {
        if last != Some(*month) {
            if in_body == max_months {
                bodies.push(std::mem::take(&mut body));
                in_body = 0;
            }
            in_body += 1;
            last = Some(*month);
        }
        body.extend_from_slice(row);
    }
    bodies.push(body);
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1_000_000_000;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(0), 197001);
        assert_eq!(month_of(1_800_000_000 * NS), 202701); // 2027-01-15T08:00:00Z
        assert_eq!(month_of(1_709_164_799 * NS), 202402); // 2024-02-28T23:59:59Z
        assert_eq!(month_of(1_709_251_199 * NS), 202402); // 2024-02-29T23:59:59Z
        assert_eq!(month_of(1_709_251_200 * NS), 202403); // 2024-03-01T00:00:00Z
        assert_eq!(month_of(951_868_800 * NS), 200003); // 2000-03-01
        assert_eq!(month_of(946_684_799 * NS), 199912); // 1999-12-31T23:59:59Z
        assert_eq!(month_of(4_107_542_399 * NS), 210002); // 2100-02-28T23:59:59Z (not leap)
        assert_eq!(month_of(4_107_542_400 * NS), 210003);
    }

    #[test]
    fn months_start_where_month_of_changes() {
        assert_eq!(month_start(197001), Some(0));
        assert_eq!(month_start(202403), Some(1_709_251_200 * NS));
        assert_eq!(month_start(210003), Some(4_107_542_400 * NS));
        assert_eq!(
            month_range(202412),
            Some((1_733_011_200 * NS, 1_735_689_600 * NS - 1))
        );
        for m in [197001, 199912, 200002, 202402, 202412, 210002] {
            let (first, last) = month_range(m).unwrap();
            assert_eq!(month_of(first), m);
            assert_eq!(month_of(last), m);
            if first > 0 {
                assert_ne!(month_of(first - 1), m);
            }
            assert_ne!(month_of(last + 1), m);
        }
        assert_eq!(month_start(196912), None);
        assert_eq!(month_start(202413), None);
        assert_eq!(month_start(999_912), None);
    }

    #[test]
    fn one_month_is_one_body_in_order() {
        let rows = [(202701, &b"a"[..]), (202701, b"bb"), (202612, b"c")];
        assert_eq!(insert_bodies(&rows, 2), vec![b"abbc".to_vec()]);
    }

    #[test]
    fn many_months_are_split_by_month() {
        let rows: Vec<(u32, Vec<u8>)> = (0..10u8)
            .map(|i| (200_001 + u32::from(i % 5), vec![i]))
            .collect();
        let rows: Vec<(u32, &[u8])> = rows.iter().map(|(m, r)| (*m, &r[..])).collect();
        let bodies = insert_bodies(&rows, 2);
        // Months 1,2 | 3,4 | 5, each month's rows together.
        assert_eq!(bodies, vec![vec![0, 5, 1, 6], vec![2, 7, 3, 8], vec![4, 9]]);
        let total: usize = bodies.iter().map(Vec::len).sum();
        assert_eq!(total, 10);
    }
}
