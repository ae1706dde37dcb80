//! `completions`: shell completion scripts, generated from the command-line definition.

use std::io;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: Shell,
}

/// Runs `completions`: prints the script on stdout.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut cli = crate::cli::Cli::command();
    let name = cli.get_name().to_owned();
    clap_complete::generate(args.shell, &mut cli, name, &mut io::stdout().lock());
    Ok(ExitCode::SUCCESS)
}
