//! One module per subcommand.

mod config_file;
mod delivery_info;
pub mod disable;
pub mod enable;
pub mod init;
pub mod status;

use std::process::ExitCode;

use crate::cli::Command;
use crate::context::Context;

/// Runs a parsed subcommand.
pub fn run(command: Command, ctx: &Context) -> anyhow::Result<ExitCode> {
    match command {
        Command::Status(args) => status::run(&args, ctx),
        Command::Enable(args) => enable::run(&args, ctx),
        Command::Disable(args) => disable::run(&args, ctx),
        Command::Init(args) => init::run(&args, ctx),
    }
}
