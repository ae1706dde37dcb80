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
    /// Opt in: record locally, or also send to a collector with --endpoint.
    #[command(
        after_help = "Examples:\n  specfact-telemetry enable\n  specfact-telemetry enable --endpoint http://localhost:4318/v1/traces\n  specfact-telemetry enable --endpoint https://otlp.example.com/v1/traces --header \"Authorization: Bearer $TOKEN\""
    )]
    Enable(crate::cmd::enable::Args),
    /// Opt out everywhere this tool opted in; --purge also deletes the data.
    #[command(
        after_help = "Examples:\n  specfact-telemetry disable\n  specfact-telemetry disable --purge"
    )]
    Disable(crate::cmd::disable::Args),
    /// Write a commented configuration template to ~/.specfact/telemetry.yaml.
    #[command(
        after_help = "Examples:\n  specfact-telemetry init\n  specfact-telemetry init --print > my-telemetry.yaml"
    )]
    Init(crate::cmd::init::Args),
}
