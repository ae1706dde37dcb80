//! Helpers for the end-to-end tests of show, record, run and purge: opted-in commands,
//! reading the log back, and log lines with fixed content.

#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;

use crate::common::Home;

/// The binary, opted in through the environment, times shown in UTC.
pub fn opted_in(home: &Home) -> Command {
    let mut c = home.cmd();
    c.env("SPECFACT_TELEMETRY_OPT_IN", "true").env("TZ", "UTC");
    c
}

/// The binary with debug output on as well.
pub fn debug(home: &Home) -> Command {
    let mut c = opted_in(home);
    c.env("SPECFACT_TELEMETRY_DEBUG", "true");
    c
}

/// `~/.specfact/telemetry.log`.
pub fn log_path(home: &Home) -> PathBuf {
    home.specfact("telemetry.log")
}

/// The raw bytes of the log (empty when missing).
pub fn log_bytes(home: &Home) -> Vec<u8> {
    fs::read(log_path(home)).unwrap_or_default()
}

/// Every line of the log as JSON.
pub fn events(home: &Home) -> Vec<serde_json::Value> {
    String::from_utf8(log_bytes(home))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The only event in the log.
pub fn only_event(home: &Home) -> serde_json::Value {
    let mut all = events(home);
    assert_eq!(all.len(), 1, "expected one event, got {all:?}");
    all.remove(0)
}

/// One event line as this library writes it, with fixed ids.
pub fn line(
    n: u32,
    command: &str,
    timestamp: &str,
    success: bool,
    error: Option<&str>,
    duration_ms: f64,
    fields: &str,
) -> String {
    let error = error.map_or(String::new(), |e| format!(r#""error":"{e}","#));
    let fields = if fields.is_empty() {
        String::new()
    } else {
        format!("{fields},")
    };
    format!(
        r#"{{{fields}"session_id":"{n:032x}","success":{success},{error}"duration_ms":{duration_ms},"command":"{command}","telemetry_version":"1.0","cli_version":"0.21.0","opt_in_source":"env","timestamp":"{timestamp}","event_id":"01a20c3d-0000-7000-8000-{n:012x}"}}"#
    )
}

/// Writes the log with these lines.
pub fn write_log(home: &Home, lines: &[String]) -> PathBuf {
    let mut text = lines.join("\n");
    text.push('\n');
    home.write("telemetry.log", text)
}

/// The Python tool's own log (SpecFact CLI 0.20.5): six events without timestamps.
pub fn python_log() -> String {
    fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specfact-telemetry/tests/fixtures/python-specfact-0.20.5/telemetry.log"
    ))
    .unwrap()
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
