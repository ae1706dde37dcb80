//! `run`: runs a program as it is (the terminal passed through), records how long it
//! took and whether it succeeded, and exits with the program's own status.
//!
//! Nothing of the program's arguments, paths or output is recorded. The program may add
//! metrics by writing a JSON object to the file named in `SPECFACT_TELEMETRY_METRICS_FILE`.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Instant;

use specfact_telemetry::{Telemetry, Value, error_type_name};

use super::fields::{self, FieldArg};
use super::output;
use crate::context::Context;

/// The variable naming the file a program may write metrics to.
pub const METRICS_FILE_VAR: &str = "SPECFACT_TELEMETRY_METRICS_FILE";

/// Exit status for a program that cannot be found, as shells use it.
const NOT_FOUND: u8 = 127;
/// Exit status for a program that cannot be executed, as shells use it.
const NOT_EXECUTABLE: u8 = 126;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command to record, a dotted identifier such as `repro.run`.
    #[arg(long = "command", value_name = "NAME")]
    pub command: String,

    /// A metadata field; repeat for more. Values are typed by the field's kind.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<OsString>,

    /// The host's version, recorded as `cli_version`.
    #[arg(long, value_name = "V")]
    pub cli_version: Option<String>,

    /// The program to run and its arguments, after `--`.
    #[arg(value_name = "PROGRAM", last = true, required = true, num_args = 1..)]
    pub program: Vec<OsString>,
}

/// Runs `run`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let debug = ctx.settings.debug.value;
    // The program runs whatever happens to telemetry, even a bug in it.
    let telemetry = std::panic::catch_unwind(|| {
        let mut builder = Telemetry::builder(ctx.settings.clone()).delivery(ctx.delivery_options());
        if let Some(v) = &args.cli_version {
            builder = builder.cli_version(v);
        }
        builder.build()
    })
    .unwrap_or_default();

    // Metrics file only when recording: disabled telemetry creates nothing.
    let metrics = if telemetry.is_enabled() {
        match metrics_file() {
            Ok(path) => Some(path),
            Err(e) => {
                output::debug(debug, format_args!("no metrics file: {e}"));
                None
            }
        }
    } else {
        None
    };

    let (program, program_args) = args.program.split_first().expect("clap requires a program");
    let mut command = Command::new(program);
    command.args(program_args);
    if let Some(path) = &metrics {
        command.env(METRICS_FILE_VAR, path);
    }

    // Names and fields only matter to telemetry: one it cannot use is dropped (said in
    // debug mode) and never stops the program from running.
    let initial = if telemetry.is_enabled() {
        let parsed: Vec<FieldArg> = args
            .fields
            .iter()
            .filter_map(|f| {
                fields::split_field(f)
                    .map_err(|why| output::debug(debug, format_args!("{why}; field not recorded")))
                    .ok()
            })
            .collect();
        fields::field_metadata(&parsed, debug)
    } else {
        Vec::new()
    };
    let mut guard = telemetry.track_command(&args.command, initial);

    let started = Instant::now();
    let status = {
        let _interrupts = InterruptsIgnored::install();
        command.status()
    };
    let elapsed = started.elapsed();

    if let Some(path) = &metrics {
        guard.record(read_metrics(path, debug));
    }
    guard.set_duration(elapsed);

    let (code, outcome) = match status {
        Ok(status) => exit_of(status),
        Err(err) => {
            let shown = program.to_string_lossy();
            let code = match err.kind() {
                io::ErrorKind::NotFound => {
                    eprintln!("specfact-telemetry: {shown}: command not found");
                    NOT_FOUND
                }
                io::ErrorKind::PermissionDenied => {
                    eprintln!("specfact-telemetry: {shown}: permission denied");
                    NOT_EXECUTABLE
                }
                _ => {
                    eprintln!("specfact-telemetry: {shown}: cannot execute: {err}");
                    NOT_EXECUTABLE
                }
            };
            (code, Err(error_type_name(&err)))
        }
    };
    // Whatever telemetry does here, the exit status is the program's.
    let _ = match outcome {
        Ok(()) => guard.success(),
        Err(error_type) => guard.failure(&error_type),
    };
    drop(metrics);
    Ok(ExitCode::from(code))
}

/// The exit status to pass on, and the outcome to record: `Exit` for a non-zero status,
/// `Signal` for a program killed by a signal (reported as 128 + the signal, as shells do).
fn exit_of(status: ExitStatus) -> (u8, Result<(), String>) {
    if let Some(code) = status.code() {
        let code = u8::try_from(code).unwrap_or(1);
        return if code == 0 {
            (0, Ok(()))
        } else {
            (code, Err("Exit".to_owned()))
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let code = u8::try_from(128 + signal).unwrap_or(255);
            return (code, Err("Signal".to_owned()));
        }
    }
    (1, Err("Exit".to_owned()))
}

/// Creates the private (0600), empty metrics file in the temporary directory. The file
/// is removed when the returned path is dropped.
fn metrics_file() -> io::Result<tempfile::TempPath> {
    Ok(tempfile::Builder::new()
        .prefix("specfact-telemetry-metrics-")
        .suffix(".json")
        .tempfile()?
        .into_temp_path())
}

/// Reads the metrics the program left, if any. Anything wrong (not a regular file,
/// too large, not a JSON object) is ignored with a debug note.
fn read_metrics(path: &Path, debug: bool) -> Vec<(String, Value)> {
    let note = |why: &dyn std::fmt::Display| {
        output::debug(debug, format_args!("metrics file ignored: {why}"));
    };
    let file = match open_regular(path) {
        Ok(Some(f)) => f,
        Ok(None) => {
            note(&"not a regular file");
            return Vec::new();
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            note(&e);
            return Vec::new();
        }
    };
    match file.metadata() {
        Ok(m) if m.len() == 0 => return Vec::new(),
        _ => {}
    }
    match fields::read_metadata(file) {
        Ok(metrics) => metrics,
        Err(e) => {
            note(&e);
            Vec::new()
        }
    }
}

/// Opens `path` for reading without blocking on a FIFO the program may have put there;
/// `None` when it is not a regular file.
fn open_regular(path: &Path) -> io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Ok(None);
    }
    Ok(Some(file))
}

/// While alive, Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT) do not stop this process, so they
/// reach the program alone and its result is still recorded.
///
/// A do-nothing handler is installed rather than `SIG_IGN`, because handlers are reset
/// to the default when the program is executed while ignored signals would stay
/// ignored in it. A signal this process already ignores (started in the background by
/// a shell) is left alone, so the program inherits that as usual.
struct InterruptsIgnored {
    #[cfg(unix)]
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

#[cfg(unix)]
extern "C" fn do_nothing(_: libc::c_int) {}

impl InterruptsIgnored {
    #[cfg(unix)]
    fn install() -> Self {
        let mut saved = Vec::new();
        for signal in [libc::SIGINT, libc::SIGQUIT] {
            // SAFETY: plain sigaction calls with zero-initialised, fully written structs;
            // the handler does nothing, so it is async-signal-safe.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = do_nothing as extern "C" fn(libc::c_int) as libc::sighandler_t;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                if libc::sigaction(signal, &new, std::ptr::null_mut()) == 0 {
                    saved.push((signal, old));
                }
            }
        }
        InterruptsIgnored { saved }
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        InterruptsIgnored {}
    }
}

impl Drop for InterruptsIgnored {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, old) in &self.saved {
            // SAFETY: restores the disposition saved by `install`.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}
