//! One module per subcommand.

pub mod status;

use std::process::ExitCode;

use crate::cli::Command;
use crate::context::Context;

/// Runs a parsed subcommand.
pub fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Status(args) => status::run(&args, ctx),
    }
}
