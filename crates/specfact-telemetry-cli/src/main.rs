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
    if asks_a_subcommand_for_the_version(std::env::args_os().skip(1)) {
        println!("specfact-telemetry {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cli = cli::Cli::parse();
    if writes_only_to_stdout(&cli.command) {
        restore_default_sigpipe();
    }
    let ctx = context::Context::from_process().with_uploader(uploader);
    match cmd::run(cli.command, &ctx) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message
/// already ends with (many errors print their cause themselves), so nothing is said twice.
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its cause and also returns it as its source.
    #[derive(Debug)]
    struct Open {
        source: std::io::Error,
    }

    impl std::fmt::Display for Open {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot open /x: {}", self.source)
        }
    }

    impl std::error::Error for Open {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(21);
        let shown = io.to_string();
        let err = anyhow::Error::new(Open { source: io }).context("cannot purge");
        assert_eq!(
            error_chain(&err),
            format!("cannot purge: cannot open /x: {shown}")
        );
        let err = anyhow::anyhow!("plain");
        assert_eq!(error_chain(&err), "plain");
    }
}
