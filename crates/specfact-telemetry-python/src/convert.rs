//! Python values as the core's loose [`Value`]; the core's sanitizer decides what is kept.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString, PyTuple};
use specfact_telemetry::Value;

/// Converts one metadata value. `bool` before `int` (a Python `bool` is an `int`);
/// lists and tuples count as their length, as in the original tool; an integer beyond
/// 64 bits and every other object become [`Value::Map`], which no field accepts.
pub(crate) fn to_value(v: &Bound<'_, PyAny>) -> Value {
    if v.is_none() {
        Value::Null
    } else if let Ok(b) = v.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => v.extract::<u64>().map_or(Value::Map, Value::UInt),
        }
    } else if v.is_instance_of::<PyFloat>() {
        v.extract::<f64>().map_or(Value::Map, Value::Float)
    } else if let Ok(s) = v.cast::<PyString>() {
        s.to_cow()
            .map_or(Value::Map, |s| Value::Str(s.into_owned()))
    } else if let Ok(l) = v.cast::<PyList>() {
        Value::List(l.len())
    } else if let Ok(t) = v.cast::<PyTuple>() {
        Value::List(t.len())
    } else {
        Value::Map
    }
}
