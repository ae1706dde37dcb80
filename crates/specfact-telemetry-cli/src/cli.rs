//! Command-line arguments.

use clap::{Parser, Subcommand};

/// See, control and export the telemetry your command-line tools record.
///
/// Telemetry is off unless you opt in. Everything recorded is kept in a local
/// JSON Lines log that you own; it is sent to an OTLP collector only if you
/// configure one.
#[derive(Debug, Parser)]
#[command(name = "specfact-telemetry", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show whether telemetry is on, why, and every setting with its source.
    #[command(
        after_help = "Examples:\n  specfact-telemetry status\n  specfact-telemetry status --json | jq .enabled"
    )]
    Status(crate::cmd::status::Args),
}
