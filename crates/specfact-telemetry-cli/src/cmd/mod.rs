//! One module per subcommand.

pub mod status;

pub mod completions;
pub mod fields;
pub mod output;
pub mod purge;
pub mod record;
pub mod run;
pub mod show;

use std::process::ExitCode;

use crate::cli::Command;
use crate::context::Context;

/// Runs a parsed subcommand.
pub fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Status(args) => status::run(&args, ctx),
        Command::Show(args) => show::run(&args, ctx),
        Command::Record(args) => record::run(&args, ctx),
        Command::Run(args) => run::run(&args, ctx),
        Command::Purge(args) => purge::run(&args, ctx),
        Command::Completions(args) => completions::run(&args),
    }
}
