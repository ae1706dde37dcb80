//! Booleans and numbers: counts, durations and measures.

use crate::schema::FieldKind;
use crate::value::Value;

use super::DropReason;

/// The largest count kept (10^12); anything above is taken for a mistake.
pub(super) const MAX_COUNT: u64 = 1_000_000_000_000;

/// The longest duration kept: 30 days, in milliseconds.
pub(super) const MAX_DURATION_MS: f64 = 30.0 * 24.0 * 60.0 * 60.0 * 1000.0;

fn wrong_type(kind: &FieldKind, value: &Value) -> DropReason {
    DropReason::WrongType {
        expected: kind.describe(),
        found: value.type_name(),
    }
}

/// `Bool`, the strings `true`/`false` (any case), or the integers 0 and 1.
pub(super) fn boolean(value: &Value, kind: &FieldKind) -> Result<bool, DropReason> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Int(0) | Value::UInt(0) => Ok(false),
        Value::Int(1) | Value::UInt(1) => Ok(true),
        Value::Str(s) => {
            let s = s.trim();
            if s.is_empty() {
                Err(DropReason::Empty)
            } else if s.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if s.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(wrong_type(kind, value))
            }
        }
        _ => Err(wrong_type(kind, value)),
    }
}

/// A whole number from 0 to [`MAX_COUNT`]: an integer, an integral float, a string of
/// ASCII digits, or a list (its length).
pub(super) fn count(value: &Value, kind: &FieldKind) -> Result<i64, DropReason> {
    let n: u64 = match value {
        Value::Int(i) => u64::try_from(*i).map_err(|_| DropReason::OutOfRange)?,
        Value::UInt(u) => *u,
        Value::List(len) => u64::try_from(*len).map_err(|_| DropReason::OutOfRange)?,
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(DropReason::NotFinite);
            }
            if *f < 0.0 {
                return Err(DropReason::OutOfRange);
            }
            if f.fract() != 0.0 {
                return Err(wrong_type(kind, value));
            }
            if *f > MAX_COUNT as f64 {
                return Err(DropReason::OutOfRange);
            }
            // Integral, non-negative and at most 10^12: the conversion is exact.
            *f as u64
        }
        Value::Str(s) => {
            let s = s.trim();
            let (negative, digits) = match s.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, s),
            };
            if s.is_empty() {
                return Err(DropReason::Empty);
            }
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(wrong_type(kind, value));
            }
            let is_zero = digits.bytes().all(|b| b == b'0');
            if negative && !is_zero {
                return Err(DropReason::OutOfRange);
            }
            // Only digits: the sole possible failure is overflow.
            digits.parse::<u64>().map_err(|_| DropReason::OutOfRange)?
        }
        Value::Null | Value::Bool(_) | Value::Map => return Err(wrong_type(kind, value)),
    };
    if n > MAX_COUNT {
        return Err(DropReason::OutOfRange);
    }
    i64::try_from(n).map_err(|_| DropReason::OutOfRange)
}

/// Rounds to two significant digits from 100 up, halves away from zero (143 → 140, 145 → 150).
pub(super) fn round_two_significant(n: i64) -> i64 {
    if n < 100 {
        return n;
    }
    let mut factor = 1i64;
    let mut top = n;
    while top >= 100 {
        top /= 10;
        factor *= 10;
    }
    // `n` is at most 10^12 here, so none of this can overflow.
    (n + factor / 2) / factor * factor
}

/// A finite number from an integer, a float or a numeric string.
fn finite(value: &Value, kind: &FieldKind) -> Result<f64, DropReason> {
    let x = match value {
        Value::Int(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Str(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(DropReason::Empty);
            }
            s.parse::<f64>().map_err(|_| wrong_type(kind, value))?
        }
        Value::Null | Value::Bool(_) | Value::List(_) | Value::Map => {
            return Err(wrong_type(kind, value));
        }
    };
    if x.is_finite() {
        Ok(x)
    } else {
        Err(DropReason::NotFinite)
    }
}

/// Rounds to `decimals` places; values too large to scale are already that precise.
fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    let rounded = (x * scale).round() / scale;
    // Adding 0.0 turns -0.0 into 0.0.
    if rounded.is_finite() {
        rounded + 0.0
    } else {
        x + 0.0
    }
}

/// A duration from 0 to 30 days in milliseconds, two decimals.
pub(super) fn duration_ms(value: &Value, kind: &FieldKind) -> Result<f64, DropReason> {
    let x = finite(value, kind)?;
    if !(0.0..=MAX_DURATION_MS).contains(&x) {
        return Err(DropReason::OutOfRange);
    }
    Ok(round_to(x, 2))
}

/// Any finite number, four decimals.
pub(super) fn number(value: &Value, kind: &FieldKind) -> Result<f64, DropReason> {
    finite(value, kind).map(|x| round_to(x, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNT: FieldKind = FieldKind::Count;

    #[test]
    fn counts_accept_integers_integral_floats_digit_strings_and_lists() {
        assert_eq!(count(&Value::Int(0), &COUNT), Ok(0));
        assert_eq!(count(&Value::UInt(27), &COUNT), Ok(27));
        assert_eq!(count(&Value::Float(6.0), &COUNT), Ok(6));
        assert_eq!(count(&Value::Str(" 112 ".into()), &COUNT), Ok(112));
        assert_eq!(count(&Value::Str("-0".into()), &COUNT), Ok(0));
        assert_eq!(count(&Value::List(3), &COUNT), Ok(3));
        assert_eq!(
            count(&Value::Int(1_000_000_000_000), &COUNT),
            Ok(1_000_000_000_000)
        );
    }

    #[test]
    fn counts_refuse_negatives_huge_values_and_other_types() {
        assert_eq!(count(&Value::Int(-1), &COUNT), Err(DropReason::OutOfRange));
        assert_eq!(
            count(&Value::Float(-2.0), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Float(-0.5), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Str("-4".into()), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Int(1_000_000_000_001), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::UInt(u64::MAX), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Float(1e13), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Str("99999999999999999999999".into()), &COUNT),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            count(&Value::Float(f64::NAN), &COUNT),
            Err(DropReason::NotFinite)
        );
        assert_eq!(
            count(&Value::Float(f64::INFINITY), &COUNT),
            Err(DropReason::NotFinite)
        );
        assert_eq!(
            count(&Value::Str("  ".into()), &COUNT),
            Err(DropReason::Empty)
        );
        for v in [
            Value::Float(2.5),
            Value::Str("12a".into()),
            Value::Str("1e3".into()),
            Value::Str("+5".into()),
            Value::Str("-".into()),
            Value::Str("٣".into()),
            Value::Bool(true),
            Value::Null,
            Value::Map,
        ] {
            assert!(
                matches!(count(&v, &COUNT), Err(DropReason::WrongType { .. })),
                "{v:?}"
            );
        }
    }

    #[test]
    fn rounding_to_two_significant_digits() {
        let cases = [
            (0, 0),
            (99, 99),
            (100, 100),
            (104, 100),
            (105, 110),
            (143, 140),
            (145, 150),
            (149, 150),
            (999, 1000),
            (1_049, 1_000),
            (1_050, 1_100),
            (9_950, 10_000),
            (123_456, 120_000),
            (999_999_999_999, 1_000_000_000_000),
        ];
        for (n, rounded) in cases {
            assert_eq!(round_two_significant(n), rounded, "{n}");
        }
    }

    #[test]
    fn booleans() {
        let kind = FieldKind::Bool;
        assert_eq!(boolean(&Value::Bool(true), &kind), Ok(true));
        assert_eq!(boolean(&Value::Str(" FALSE ".into()), &kind), Ok(false));
        assert_eq!(boolean(&Value::Str("True".into()), &kind), Ok(true));
        assert_eq!(boolean(&Value::Int(1), &kind), Ok(true));
        assert_eq!(boolean(&Value::UInt(0), &kind), Ok(false));
        assert_eq!(
            boolean(&Value::Str("".into()), &kind),
            Err(DropReason::Empty)
        );
        for v in [
            Value::Int(2),
            Value::Int(-1),
            Value::Float(1.0),
            Value::Str("yes".into()),
            Value::Null,
            Value::List(1),
        ] {
            assert!(
                matches!(boolean(&v, &kind), Err(DropReason::WrongType { .. })),
                "{v:?}"
            );
        }
    }

    #[test]
    fn durations() {
        let kind = FieldKind::DurationMs;
        assert_eq!(duration_ms(&Value::Float(8511.68), &kind), Ok(8511.68));
        assert_eq!(duration_ms(&Value::Float(4.386), &kind), Ok(4.39));
        assert_eq!(duration_ms(&Value::Float(1.004), &kind), Ok(1.0));
        assert_eq!(duration_ms(&Value::Int(4280), &kind), Ok(4280.0));
        assert_eq!(duration_ms(&Value::Str("12.5".into()), &kind), Ok(12.5));
        assert_eq!(duration_ms(&Value::Float(0.0), &kind), Ok(0.0));
        let zero = duration_ms(&Value::Float(-0.0), &kind);
        assert!(zero.is_ok_and(|z| z.is_sign_positive()));
        assert_eq!(
            duration_ms(&Value::Float(MAX_DURATION_MS), &kind),
            Ok(MAX_DURATION_MS)
        );
        assert_eq!(
            duration_ms(&Value::Float(-1.0), &kind),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            duration_ms(&Value::Float(MAX_DURATION_MS + 1.0), &kind),
            Err(DropReason::OutOfRange)
        );
        assert_eq!(
            duration_ms(&Value::Float(f64::NAN), &kind),
            Err(DropReason::NotFinite)
        );
        assert_eq!(
            duration_ms(&Value::Str("inf".into()), &kind),
            Err(DropReason::NotFinite)
        );
        assert!(matches!(
            duration_ms(&Value::Str("fast".into()), &kind),
            Err(DropReason::WrongType { .. })
        ));
        assert!(matches!(
            duration_ms(&Value::List(3), &kind),
            Err(DropReason::WrongType { .. })
        ));
    }

    #[test]
    fn numbers() {
        let kind = FieldKind::Number;
        assert_eq!(number(&Value::Float(0.123456), &kind), Ok(0.1235));
        assert_eq!(number(&Value::Float(-2.00004), &kind), Ok(-2.0));
        assert_eq!(
            number(&Value::Float(-0.00001), &kind).map(f64::is_sign_positive),
            Ok(true)
        );
        assert_eq!(number(&Value::Int(-7), &kind), Ok(-7.0));
        assert_eq!(number(&Value::Float(f64::MAX), &kind), Ok(f64::MAX));
        assert_eq!(
            number(&Value::Float(f64::NEG_INFINITY), &kind),
            Err(DropReason::NotFinite)
        );
        assert_eq!(
            number(&Value::Str("NaN".into()), &kind),
            Err(DropReason::NotFinite)
        );
        assert!(matches!(
            number(&Value::Bool(false), &kind),
            Err(DropReason::WrongType { .. })
        ));
    }
}
