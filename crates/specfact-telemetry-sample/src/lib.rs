//! Synthetic, realistic telemetry logs for tests, benchmarks and demonstrations.
//!
//! The generator is deterministic: the same [`SampleOptions`] always give the same
//! events, byte for byte. Commands, their mix, durations and counts imitate SpecFact's
//! own (`import.from_code`, `repro.run`, `plan.compare`, …); most sessions run one
//! command, some run a few in a row.
//!
//! This crate is for development only (tests, benchmarks, the `generate_log` example:
//! `cargo run -p specfact-telemetry-sample --example generate_log -- N PATH`); it is
//! not published and not part of the telemetry library's API.
//!
//! ```
//! use specfact_telemetry_sample::{SampleOptions, events};
//! let first: Vec<_> = events(&SampleOptions { events: 3, ..SampleOptions::default() }).collect();
//! assert_eq!(first.len(), 3);
//! assert!(first.iter().all(|e| e.timestamp.is_some()));
//! ```

#![warn(missing_docs)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use specfact_telemetry::event::{Event, FieldValue, TELEMETRY_VERSION};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleOptions {
    /// Number of events.
    pub events: u64,
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// Time of the first event.
    pub start: SystemTime,
    /// Time between the first and the last event.
    pub span: Duration,
    /// How many of the first events look as the Python tool wrote them (no timestamp,
    /// no `event_id`).
    pub without_timestamp: u64,
}

impl Default for SampleOptions {
    /// 1,000 events over 12 weeks from Monday 2026-01-05, seed 1.
    fn default() -> Self {
        SampleOptions {
            events: 1000,
            seed: 1,
            start: UNIX_EPOCH + Duration::from_secs(1_767_571_200),
            span: Duration::from_secs(12 * 7 * 86_400),
            without_timestamp: 0,
        }
    }
}

/// splitmix64: small, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi]`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-normal with the given median and spread (σ of the underlying normal).
    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        let n = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        median * (sigma * n).exp()
    }
}

/// A command of the synthetic mix: name, weight, median duration (ms).
const COMMANDS: &[(&str, u32, f64)] = &[
    ("import.from_code", 20, 8000.0),
    ("repro.run", 24, 2500.0),
    ("plan.compare", 12, 60.0),
    ("plan.init", 5, 15.0),
    ("plan.add-feature", 3, 20.0),
    ("drift.detect", 6, 900.0),
    ("enforce.stage", 8, 6.0),
    ("contract.test", 6, 4000.0),
    ("analyze.contracts", 5, 1500.0),
    ("generate.fix-prompt", 4, 300.0),
    ("sync.bridge", 7, 700.0),
];

const ERRORS: &[&str] = &["Exit", "TimeoutError", "FileNotFoundError", "ValueError"];

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Two significant digits at and above 100, as the sanitizer writes `files_analyzed`.
fn round_files(n: i64) -> i64 {
    if n < 100 {
        return n;
    }
    let mut scale = 1;
    while n / scale >= 100 {
        scale *= 10;
    }
    (n + scale / 2) / scale * scale
}

/// The events, lazily.
pub fn events(opts: &SampleOptions) -> SampleEvents {
    SampleEvents {
        opts: opts.clone(),
        rng: Rng(opts.seed ^ 0x5eed_5eed_5eed_5eed),
        i: 0,
        session: String::new(),
        left_in_session: 0,
        total_weight: COMMANDS.iter().map(|c| c.1).sum(),
    }
}

/// Iterator over synthetic events; see [`events`].
#[derive(Debug, Clone)]
pub struct SampleEvents {
    opts: SampleOptions,
    rng: Rng,
    i: u64,
    session: String,
    left_in_session: u32,
    total_weight: u32,
}

impl SampleEvents {
    fn pick_command(&mut self) -> (&'static str, f64) {
        let mut x = (self.rng.next_u64() % u64::from(self.total_weight)) as u32;
        for &(name, w, median) in COMMANDS {
            if x < w {
                return (name, median);
            }
            x -= w;
        }
        ("repro.run", 2500.0)
    }

    fn timestamp(&mut self) -> SystemTime {
        let n = self.opts.events.max(1);
        let span = self.opts.span.as_secs_f64();
        let slot = span / n as f64;
        let t = span * self.i as f64 / n as f64 + self.rng.unit() * slot * 0.9;
        // Millisecond precision, as the log stores it.
        self.opts.start + Duration::from_millis((t.max(0.0) * 1000.0) as u64)
    }
}

impl Iterator for SampleEvents {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.i >= self.opts.events {
            return None;
        }
        let python = self.i < self.opts.without_timestamp;
        let timestamp = (!python).then(|| self.timestamp());
        self.i += 1;
        let rng = &mut self.rng;
        if self.left_in_session == 0 {
            self.session = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
            self.left_in_session = if rng.chance(0.75) {
                1
            } else {
                rng.range(2, 4) as u32
            };
        }
        self.left_in_session -= 1;
        let (command, median) = self.pick_command();
        let rng = &mut self.rng;
        let mut fields: Vec<(String, FieldValue)> = Vec::new();
        let mut f = |k: &str, v: FieldValue| fields.push((k.to_owned(), v));
        let mut success = rng.chance(0.93);
        let family = command.split('.').next().unwrap_or(command);
        match family {
            "import" => {
                let mode = if rng.chance(0.6) { "cicd" } else { "copilot" };
                f("mode", FieldValue::Str(mode.into()));
                let exec = if rng.chance(0.5) { "agent" } else { "direct" };
                f("execution_mode", FieldValue::Str(exec.into()));
                f(
                    "files_analyzed",
                    FieldValue::Int(round_files(rng.log_normal(120.0, 1.0) as i64 + 1)),
                );
                f("shadow_mode", FieldValue::Bool(rng.chance(0.1)));
                let features = rng.range(1, 40);
                f("features_detected", FieldValue::Int(features));
                f(
                    "stories_detected",
                    FieldValue::Int(features * rng.range(2, 6)),
                );
            }
            "repro" | "contract" | "analyze" => {
                f("mode", FieldValue::Str("repro".into()));
                f(
                    "files_analyzed",
                    FieldValue::Int(round_files(rng.range(2, 400))),
                );
                let total = rng.range(3, 8);
                let failed = if rng.chance(0.25) {
                    rng.range(1, 2).min(total)
                } else {
                    0
                };
                f("checks_total", FieldValue::Int(total));
                f("checks_failed", FieldValue::Int(failed));
                let violations = if failed > 0 { rng.range(1, 6) } else { 0 };
                f("violations_detected", FieldValue::Int(violations));
                success = success && failed == 0;
            }
            "plan" | "drift" => {
                let violations = if command == "plan.compare" || family == "drift" {
                    if rng.chance(0.35) { rng.range(1, 4) } else { 0 }
                } else {
                    0
                };
                if violations > 0 || command == "plan.compare" || family == "drift" {
                    f("violations_detected", FieldValue::Int(violations));
                }
            }
            "enforce" => {
                let violations = if rng.chance(0.2) { rng.range(1, 3) } else { 0 };
                f("violations_detected", FieldValue::Int(violations));
            }
            _ => {}
        }
        let error = (!success).then(|| {
            let i = (rng.next_u64() % ERRORS.len() as u64) as usize;
            ERRORS[i].to_owned()
        });
        let duration_ms = round2(rng.log_normal(median, 0.6));
        let event_id = timestamp.map(|t| {
            let ms = t
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let mut bytes = [0u8; 10];
            bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes()[..2]);
            uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
        });
        Some(Event {
            command: command.to_owned(),
            success,
            error,
            duration_ms,
            session_id: self.session.clone(),
            telemetry_version: Some(TELEMETRY_VERSION.to_owned()),
            cli_version: Some(if python { "0.20.5" } else { "0.21.0" }.to_owned()),
            opt_in_source: Some("env".to_owned()),
            timestamp,
            event_id,
            fields,
        })
    }
}

/// Writes a log of synthetic events to `path` (replacing it). Returns its size in bytes.
pub fn write_log(path: &Path, opts: &SampleOptions) -> io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut bytes = 0u64;
    for e in events(opts) {
        let line = e.to_json_line();
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
        bytes += line.len() as u64 + 1;
    }
    w.flush()?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_options_same_events() {
        let o = SampleOptions {
            events: 200,
            without_timestamp: 20,
            ..SampleOptions::default()
        };
        let a: Vec<_> = events(&o).collect();
        let b: Vec<_> = events(&o).collect();
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|e| e.timestamp.is_none()).count(), 20);
        let other: Vec<_> = events(&SampleOptions { seed: 2, ..o }).collect();
        assert_ne!(a, other);
    }

    #[test]
    fn events_parse_back_and_stay_in_the_span() {
        let o = SampleOptions::default();
        let end = o.start + o.span;
        let mut last = o.start;
        for e in events(&o) {
            let back = Event::from_json_line(e.to_json_line().as_bytes()).unwrap();
            assert_eq!(back, e);
            let t = e.timestamp.unwrap();
            assert!(t >= last && t < end);
            last = t;
            assert_eq!(e.session_id.len(), 32);
        }
    }

    #[test]
    fn the_mix_has_every_family_and_some_failures() {
        let all: Vec<_> = events(&SampleOptions::default()).collect();
        for family in [
            "import", "repro", "plan", "drift", "enforce", "contract", "analyze",
        ] {
            assert!(all.iter().any(|e| e.family() == family), "{family}");
        }
        let failed = all.iter().filter(|e| !e.success).count();
        assert!(failed > 20 && failed < 300, "{failed}");
        assert!(
            all.iter()
                .any(|e| e.count("violations_detected").unwrap_or(0) > 0)
        );
        assert_eq!(round_files(143), 140);
        assert_eq!(round_files(1_049), 1_000);
        assert_eq!(round_files(99), 99);
    }
}
