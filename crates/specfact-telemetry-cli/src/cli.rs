//! Command-line arguments.

use clap::{Parser, Subcommand};

/// See, control and export the telemetry your command-line tools record.
///
/// Telemetry is off unless you opt in. Everything recorded is kept in a local
/// JSON Lines log that you own; it is sent to an OTLP collector only if you
/// configure one.
#[derive(Debug, Parser)]
#[command(name = "specfact-telemetry", version)]
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
        after_help = "Examples:\n  specfact-telemetry enable\n  specfact-telemetry enable \\\n      --endpoint http://localhost:4318/v1/traces\n  specfact-telemetry enable \\\n      --endpoint https://otlp.example.com/v1/traces \\\n      --header \"Authorization: Bearer $TOKEN\""
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

    /// Show the most recent events of the local log.
    #[command(after_help = "Examples:
  specfact-telemetry show
  specfact-telemetry show -n 100 --since 7d
  specfact-telemetry show --command plan --failed
  specfact-telemetry show --log ~/copy-of-telemetry.log
  specfact-telemetry show --json | jq .command
  specfact-telemetry show --follow")]
    Show(crate::cmd::show::Args),

    /// Record one event, for tools that are not written in Rust (shell scripts, CI jobs).
    ///
    /// Prints nothing and exits 0 whatever happens to telemetry (debug output aside);
    /// only a wrong use of the command exits 2.
    #[command(after_help = "Examples:
  specfact-telemetry record import.from_code \\
      --field files_analyzed=143 --duration-ms 4280
  specfact-telemetry record repro.run \\
      --failure --error TimeoutError
  echo '{\"checks_total\": 6, \"checks_failed\": 2}' |
      specfact-telemetry record repro.run --metadata -")]
    Record(crate::cmd::record::Args),

    /// Run a program and record its duration and success; exits with the program's status.
    ///
    /// The program's input and output are passed through untouched and nothing of its
    /// arguments or output is recorded. It may add metrics by writing a JSON object to the
    /// file named in SPECFACT_TELEMETRY_METRICS_FILE.
    #[command(after_help = "Examples:
  specfact-telemetry run --command repro.run \\
      --field mode=repro -- make check
  specfact-telemetry run --command analyze.contracts \\
      -- ./analyze.sh
  # analyze.sh may write {\"violations_detected\": 2}
  # to the file named in $SPECFACT_TELEMETRY_METRICS_FILE")]
    Run(crate::cmd::run::Args),

    /// Send events to the collector now, with a summary; --dry-run shows the payload.
    #[command(
        after_help = "Examples:\n  specfact-telemetry export\n  specfact-telemetry export --all\n  specfact-telemetry export --since 7d --dry-run |\n      jq .resourceSpans[0].scopeSpans[0].spans[0].name"
    )]
    Export(crate::cmd::export::Args),
    /// Check configuration, permissions, endpoint and collector (exit 1 on a problem).
    #[command(
        after_help = "Examples:\n  specfact-telemetry doctor\n  specfact-telemetry doctor --no-send --json"
    )]
    Doctor(crate::cmd::doctor::Args),
    /// Delete the local log and delivery state, or only old events.
    #[command(after_help = "Examples:
  specfact-telemetry purge
  specfact-telemetry purge --older-than 30d --yes")]
    Purge(crate::cmd::purge::Args),

    /// Print a shell completion script.
    #[command(after_help = "Examples:
  dir=~/.local/share/bash-completion/completions
  specfact-telemetry completions bash \\
      > \"$dir/specfact-telemetry\"
  specfact-telemetry completions zsh \\
      > \"${fpath[1]}/_specfact-telemetry\"
  specfact-telemetry completions fish \\
      > ~/.config/fish/completions/specfact-telemetry.fish")]
    Completions(crate::cmd::completions::Args),

    /// Headline figures: regressions prevented, most-used commands, weekly trends.
    ///
    /// Reads your own local log: regressions prevented split into contract violations and
    /// plan drift, the most-used command and its share of sessions, regressions prevented per
    /// week, success rates and durations per command, checks, features and stories.
    #[command(
        after_help = "Examples:\n  specfact-telemetry report\n  specfact-telemetry report --since 2026-01-01 \\\n      --until 2026-03-31\n  specfact-telemetry report --format json | jq .regressions\n  specfact-telemetry report --format markdown \\\n      >> pr-description.md\n  specfact-telemetry report --format html \\\n      --output telemetry.html"
    )]
    Report(crate::cmd::report::Args),
    /// Serve a live dashboard of your own log on 127.0.0.1.
    ///
    /// Prints the address and opens it in your browser when there is a display. The page
    /// updates itself as new events are recorded. Nothing is served beyond 127.0.0.1.
    #[command(
        after_help = "Examples:\n  specfact-telemetry view\n  specfact-telemetry view --port 8700 --no-open"
    )]
    View(crate::cmd::view::Args),
}
