//! `specfact-telemetry`: see, control and export the telemetry your command-line tools record.

mod cli;
mod cmd;
mod context;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // When this process was started as the detached uploader, this delivers and exits.
    specfact_telemetry::delivery::run_uploader_if_requested();
    if asks_a_subcommand_for_the_version(std::env::args_os().skip(1)) {
        println!("specfact-telemetry {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cli = cli::Cli::parse();
    if writes_only_to_stdout(&cli.command) {
        restore_default_sigpipe();
    }
    let ctx = context::Context::from_process();
    match cmd::run(cli.command, &ctx) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `specfact-telemetry SUBCOMMAND --version` (or `-V`) and nothing else. It prints the
/// version as it always did, while subcommand help no longer lists `-V` and a mistyped
/// subcommand option (`status --verbose`) is not answered with "did you mean --version".
fn asks_a_subcommand_for_the_version(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    use clap::CommandFactory;
    let args: Vec<_> = args.collect();
    let [sub, flag] = args.as_slice() else {
        return false;
    };
    (flag == "--version" || flag == "-V")
        && cli::Cli::command()
            .get_subcommands()
            .any(|c| c.get_name() == sub.to_string_lossy())
}

/// Commands whose only writes are to stdout and local files. The others use sockets
/// (`view`, `export`, `doctor`) or run and deliver for other programs (`record`, `run`),
/// and socket writes rely on SIGPIPE staying ignored.
fn writes_only_to_stdout(command: &cli::Command) -> bool {
    use cli::Command as C;
    !matches!(
        command,
        C::View(_) | C::Export(_) | C::Doctor(_) | C::Record(_) | C::Run(_)
    )
}

/// Like other command-line tools, end quietly when the reader of our output goes away
/// (`specfact-telemetry show --json | head`), instead of failing on a broken pipe.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to its default has no preconditions; it
    // happens before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
