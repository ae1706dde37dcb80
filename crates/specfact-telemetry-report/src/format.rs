//! How numbers, shares and durations read, in every output of the figures: the
//! command-line tool's report and dashboard, and the server's community page.
//!
//! ```
//! use specfact_telemetry_report::format::{count, duration, percent};
//!
//! assert_eq!(count(1_234_567), "1,234,567");
//! assert_eq!(percent(Some(0.071)), "7.1%");
//! assert_eq!(duration(Some(120.5)), "120.50 ms");
//! ```

/// What a figure that does not exist reads as: an en dash.
pub const NONE: &str = "–";

/// A count with thousands separators: `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

/// Puts a comma between each group of three digits of a run of digits.
fn group(digits: &str) -> String {
    let len = digits.chars().count();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with `places` decimals and thousands separators: `4152.34` → `4,152.3`.
/// A negative number that rounds to zero reads as zero, without a sign.
pub fn decimal(x: f64, places: usize) -> String {
    let s = format!("{:.places$}", x.abs());
    let (whole, fraction) = s.split_once('.').unwrap_or((&s, ""));
    let sign = if x < 0.0 && s.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{}", group(whole));
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A count and its noun, singular for one: `1 event`, `2,000 events`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// A share as a percentage: `0.667` → `67%`, `0.071` → `7.1%`, none → `–`. Shares under
/// 10 % keep one decimal unless it is zero.
pub fn percent(share: Option<f64>) -> String {
    match share {
        None => NONE.to_owned(),
        Some(s) => {
            let p = s * 100.0;
            if p == 0.0 || p >= 10.0 || (p - p.round()).abs() < 0.05 {
                format!("{p:.0}%")
            } else {
                format!("{p:.1}%")
            }
        }
    }
}

/// A duration in milliseconds: `12.98 ms` (two decimals, none when they are zero: `14 ms`),
/// `8.5 s`, `3.2 min`, `4,152.3 h`; none → `–`.
pub fn duration(ms: Option<f64>) -> String {
    match ms {
        None => NONE.to_owned(),
        Some(ms) if ms < 1000.0 => format!("{ms:.2} ms").replace(".00 ms", " ms"),
        Some(ms) if ms < 60_000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) if ms < 3_600_000.0 => format!("{:.1} min", ms / 60_000.0),
        Some(ms) => format!("{} h", decimal(ms / 3_600_000.0, 1)),
    }
}

/// An average with one decimal: `2.75` → `2.8`, `4152.34` → `4,152.3`; none → `–`.
pub fn average(x: Option<f64>) -> String {
    x.map_or_else(|| NONE.to_owned(), |x| decimal(x, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(Some(2.0 / 3.0)), "67%");
        assert_eq!(percent(Some(0.071)), "7.1%");
        assert_eq!(percent(Some(0.05)), "5%");
        assert_eq!(percent(Some(0.0)), "0%");
        assert_eq!(percent(None), "–");
        assert_eq!(duration(Some(12.98)), "12.98 ms");
        assert_eq!(duration(Some(14.0)), "14 ms");
        assert_eq!(duration(Some(8511.68)), "8.5 s");
        assert_eq!(duration(Some(192_000.0)), "3.2 min");
        assert_eq!(duration(Some(5_400_000.0)), "1.5 h");
        assert_eq!(average(Some(2.75)), "2.8");
        assert_eq!(average(Some(4152.34)), "4,152.3");
        assert_eq!(duration(Some(4152.3 * 3_600_000.0)), "4,152.3 h");
        assert_eq!(decimal(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(decimal(-1234.5, 1), "-1,234.5");
        assert_eq!(decimal(-0.01, 1), "0.0");
        assert_eq!(decimal(999.96, 1), "1,000.0");
        assert_eq!(decimal(12.0, 0), "12");
        assert_eq!(plural(1, "event", "events"), "1 event");
        assert_eq!(plural(0, "event", "events"), "0 events");
        assert_eq!(plural(1_000, "week", "weeks"), "1,000 weeks");
    }

    #[test]
    fn formats_read_well() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(percent(Some(0.667)), "67%");
        assert_eq!(percent(Some(0.071)), "7.1%");
        assert_eq!(duration(Some(4200.0)), "4.2 s");
        assert_eq!(duration(Some(13.0)), "13 ms");
    }

    #[test]
    fn short_durations_keep_two_decimals_and_none_reads_as_a_dash() {
        assert_eq!(duration(Some(13.5)), "13.50 ms");
        assert_eq!(duration(Some(0.01)), "0.01 ms");
        assert_eq!(duration(Some(999.994)), "999.99 ms");
        assert_eq!(duration(None), NONE);
        assert_eq!(average(None), NONE);
    }

    /// The digits of a number, read back from `count` or `decimal`.
    fn digits(s: &str) -> String {
        s.replace(',', "")
    }

    /// Whether the part before the decimal point is grouped by threes from the right.
    fn grouped(s: &str) -> bool {
        let whole = s.trim_start_matches('-').split('.').next().unwrap_or("");
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or("");
        (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
    }

    proptest! {
        #[test]
        fn counts_are_their_digits_grouped_by_three(n in any::<u64>()) {
            let s = count(n);
            prop_assert_eq!(digits(&s), n.to_string());
            prop_assert!(grouped(&s), "{}", s);
        }

        #[test]
        fn decimals_are_rust_s_rounding_grouped_by_three(
            x in -1e15f64..1e15,
            places in 0usize..4,
        ) {
            let s = decimal(x, places);
            prop_assert!(grouped(&s), "{}", s);
            let plain = format!("{x:.places$}");
            let zero = plain.trim_start_matches('-').bytes().all(|b| matches!(b, b'0' | b'.'));
            let expected = if zero { plain.trim_start_matches('-').to_owned() } else { plain };
            prop_assert_eq!(digits(&s), expected);
        }

        #[test]
        fn every_duration_has_a_unit(ms in 0f64..1e12) {
            let s = duration(Some(ms));
            prop_assert!(
                [" ms", " s", " min", " h"].iter().any(|u| s.ends_with(u)),
                "{}", s
            );
            prop_assert!(!s.contains("NaN") && !s.contains("inf"), "{}", s);
        }
    }
}
