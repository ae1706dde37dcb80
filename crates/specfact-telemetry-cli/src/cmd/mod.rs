//! One module per subcommand.

mod config_file;
mod delivery_info;
mod optin_files;

pub mod completions;
pub mod disable;
pub mod doctor;
pub mod enable;
pub mod export;
pub mod fields;
pub mod init;
pub mod output;
pub mod purge;
pub mod record;
pub mod report;
pub mod run;
pub mod show;
pub mod status;
pub mod view;

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
        Command::Report(args) => report::run(&args, ctx),
        Command::View(args) => view::run(&args, ctx),
        Command::Show(args) => show::run(&args, ctx),
        Command::Record(args) => record::run(&args, ctx),
        Command::Run(args) => run::run(&args, ctx),
        Command::Export(args) => export::run(&args, ctx),
        Command::Purge(args) => purge::run(&args, ctx),
        Command::Doctor(args) => doctor::run(&args, ctx),
        Command::Completions(args) => completions::run(&args),
    }
}
