//! `specfact-telemetry`: see, control and export the telemetry your command-line tools record.

mod cli;
mod cmd;
mod context;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // When this process was started as the detached uploader, this delivers and exits.
    specfact_telemetry::delivery::run_uploader_if_requested();
    restore_default_sigpipe();
    let cli = cli::Cli::parse();
    let ctx = context::Context::from_process();
    match cmd::run(cli.command, &ctx) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Like other command-line tools, end quietly when the reader of our output goes away
/// (`specfact-telemetry show --json | head`), instead of failing on a broken pipe.
/// Network writes are unaffected: the standard library sends with `MSG_NOSIGNAL`.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal's disposition to its default has no preconditions; it
    // happens before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
