//! `specfact-telemetry`: see, control and export the telemetry your command-line tools record.

mod cli;
mod cmd;
mod context;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // When this process was started as the detached uploader, this delivers and exits;
    // otherwise it names the command that starts this executable as the uploader.
    let uploader = specfact_telemetry::delivery::run_uploader_if_requested();
    let cli = cli::Cli::parse();
    if writes_only_to_stdout(&cli.command) {
        restore_default_sigpipe();
    }
    let ctx = context::Context::from_process().with_uploader(uploader);
    match cmd::run(cli.command, &ctx) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
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
