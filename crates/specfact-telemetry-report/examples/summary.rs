//! Prints the headline figures of a telemetry log:
//! `cargo run -p specfact-telemetry-report --example summary -- PATH`.

use std::process::ExitCode;

use specfact_telemetry::LocalLog;
use specfact_telemetry_report::{ReportOptions, build};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: summary PATH");
        return ExitCode::from(2);
    };
    let log = LocalLog::new(path);
    match build(&log, &ReportOptions::default()) {
        Ok(report) => {
            println!(
                "{} events, {} malformed lines",
                report.events, report.malformed_lines
            );
            for c in report.commands.iter().take(5) {
                println!("{:<24} {:>8} runs", c.command, c.runs);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
