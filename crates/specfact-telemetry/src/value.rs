//! Raw metadata values as a host hands them over, before sanitizing.
//!
//! A [`Value`] is deliberately loose: hosts pass whatever they have (a count, a
//! string, a list, a JSON document read from another language). The sanitizer
//! decides, field by field, whether and how a value may be kept.

/// One metadata value, as the host supplied it.
///
/// Nothing of a `Value` reaches disk or the network directly: the sanitizer turns
/// it into a typed [`FieldValue`](crate::FieldValue) or drops it with a reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`, `()` or a missing value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer that may not fit in `i64`.
    UInt(u64),
    /// A floating-point number (may be NaN or infinite; the sanitizer rejects those).
    Float(f64),
    /// A string.
    Str(String),
    /// A list; only its length is ever kept, as in the reference implementation.
    List(usize),
    /// A nested object; never kept.
    Map,
}

impl Value {
    /// A short name of the value's type, for drop reasons (never the value itself).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map => "object",
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64);

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::UInt(u64::from(v))
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64);

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::UInt(u64::try_from(v).unwrap_or(u64::MAX))
    }
}

impl From<isize> for Value {
    fn from(v: isize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Str(v.clone())
    }
}

impl<T> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.len())
    }
}

impl<T> From<&[T]> for Value {
    fn from(v: &[T]) -> Self {
        Value::List(v.len())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.len()),
            serde_json::Value::Object(_) => Value::Map,
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::String(s) => Value::Str(s),
            other => Value::from(&other),
        }
    }
}

/// Builds a metadata list for [`Telemetry::track_command`](crate::Telemetry::track_command)
/// and [`CommandGuard::record`](crate::CommandGuard::record).
///
/// ```
/// use specfact_telemetry::{metadata, Value};
/// let m = metadata! { "mode" => "repro", "checks_total" => 6, "shadow_mode" => false };
/// assert_eq!(m[1], ("checks_total", Value::Int(6)));
/// ```
#[macro_export]
macro_rules! metadata {
    () => { ::std::vec::Vec::<(&str, $crate::Value)>::new() };
    ($($key:expr => $value:expr),+ $(,)?) => {
        ::std::vec![$(($key, $crate::Value::from($value))),+]
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_only_their_length() {
        assert_eq!(Value::from(vec!["a", "b", "c"]), Value::List(3));
        assert_eq!(
            Value::from(serde_json::json!(["x", {"secret": 1}])),
            Value::List(2)
        );
    }

    #[test]
    fn json_numbers_keep_their_kind() {
        assert_eq!(Value::from(serde_json::json!(7)), Value::Int(7));
        assert_eq!(
            Value::from(serde_json::json!(u64::MAX)),
            Value::UInt(u64::MAX)
        );
        assert_eq!(Value::from(serde_json::json!(1.5)), Value::Float(1.5));
        assert_eq!(Value::from(serde_json::json!({"a": 1})), Value::Map);
    }

    #[test]
    fn options_map_none_to_null() {
        assert_eq!(Value::from(None::<i32>), Value::Null);
        assert_eq!(Value::from(Some(3u8)), Value::UInt(3));
    }
}
