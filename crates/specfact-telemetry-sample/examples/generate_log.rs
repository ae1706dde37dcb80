//! Writes a synthetic telemetry log: `cargo run -p specfact-telemetry-sample --example generate_log -- N PATH [SEED] [WITHOUT_TIMESTAMP]`.
//!
//! The first WITHOUT_TIMESTAMP events look as the Python tool wrote them (no timestamp).

use std::path::PathBuf;
use std::process::ExitCode;

use specfact_telemetry_sample::{SampleOptions, write_log};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: generate_log N PATH [SEED] [WITHOUT_TIMESTAMP]";
    let (Some(n), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let number = |s: Option<&String>, default: u64| match s {
        None => Some(default),
        Some(s) => s.replace('_', "").parse::<u64>().ok(),
    };
    let (Some(events), Some(seed), Some(without_timestamp)) = (
        number(Some(n), 0),
        number(args.get(2), 1),
        number(args.get(3), 0),
    ) else {
        eprintln!("{usage}\nN, SEED and WITHOUT_TIMESTAMP are whole numbers");
        return ExitCode::from(2);
    };
    let opts = SampleOptions {
        events,
        seed,
        without_timestamp,
        // A year of data for large logs, twelve weeks for small ones.
        span: std::time::Duration::from_secs(if events > 100_000 { 52 } else { 12 } * 7 * 86_400),
        ..SampleOptions::default()
    };
    let path = PathBuf::from(path);
    match write_log(&path, &opts) {
        Ok(bytes) => {
            eprintln!(
                "wrote {events} events ({bytes} bytes) to {}",
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
