//! `run`: runs a program as it is (the terminal passed through), records how long it
//! took and whether it succeeded, and exits with the program's own status.
//!
//! Nothing of the program's arguments, paths or output is recorded. The program may add
//! metrics by writing a JSON object to the file named in `SPECFACT_TELEMETRY_METRICS_FILE`.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus};
use std::time::Instant;

use specfact_telemetry::{MachineIdentity, Telemetry, Value, error_type_name};

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
    pub command: OsString,

    /// A metadata field; repeat for more. Values are typed by the field's kind.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<OsString>,

    /// The host's version, recorded as `cli_version`.
    #[arg(long, value_name = "V")]
    pub cli_version: Option<OsString>,

    /// The program to run and its arguments, after `--`.
    #[arg(value_name = "PROGRAM", last = true, required = true, num_args = 1..)]
    pub program: Vec<OsString>,
}

/// Runs `run`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    // From the start: a signal sent while telemetry is set up is passed on to the program
    // once it runs, and never leaves a metrics file behind.
    let signals = SignalsForwarded::install();
    let debug = ctx.settings.debug.value;
    // The program runs whatever happens to telemetry, even a bug in it.
    let telemetry = std::panic::catch_unwind(|| {
        if !ctx.settings.enabled {
            return Telemetry::builder(ctx.settings.clone()).build();
        }
        // The name is typed into a script, like `record`'s: refused when a whole
        // segment is the user's or host's name, and then nothing is recorded.
        let identity = MachineIdentity::detect(&ctx.env, ctx.home.as_deref());
        match fields::typed_command(&args.command, &identity) {
            Some(Ok(_)) => {}
            Some(Err(reason)) => {
                let why = format!("command name rejected ({reason}); event not recorded");
                output::debug(debug, why);
                return Telemetry::default();
            }
            None => {
                output::debug(debug, "command name is not valid UTF-8; event not recorded");
                return Telemetry::default();
            }
        }
        fields::telemetry(ctx, identity, args.cli_version.as_deref())
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
    let mut guard = telemetry.track_command(&args.command.to_string_lossy(), initial);

    let started = Instant::now();
    let status = signals.run(&mut command);
    let forwarded = signals.forwarded();
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
    // A signal passed on to the program names the failure, whatever the program did.
    let outcome = match forwarded {
        Some(signal) => Err(signal_name(signal)),
        None => outcome,
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
/// the signal's name (`SIGTERM`) for a program killed by a signal (reported as 128 + the
/// signal, as shells do).
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
            return (code, Err(signal_name(signal)));
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
    let file = match fields::open_regular(path) {
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

/// The signals `run` passes on to the program: what a CI timeout, a cancel button, a
/// closed terminal or a `kill` send to `run` itself.
#[cfg(unix)]
const FORWARDED: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// The program's process id while it runs (0 before it starts). A signal handler can
/// reach nothing but statics; these two are the only process-wide state of `run`.
#[cfg(unix)]
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// The first signal forwarded to the program (0 for none).
#[cfg(unix)]
static FORWARDED_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// A signal that arrived before the program started, to pass on as soon as it has.
#[cfg(unix)]
static PENDING_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering;
    // A signal the terminal sent (Ctrl-C, Ctrl-\, hang-up) went to the program's whole
    // process group, the program included: passing it on would deliver it twice. Signals
    // sent by a process (`kill`, a CI runner) have a code of 0 or less.
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let from_a_process = info.is_null() || unsafe { (*info).si_code } <= 0;
    if !from_a_process {
        return;
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        let _ = FORWARDED_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        // SAFETY: kill(2) is async-signal-safe; `child` is our own, not yet reaped child.
        unsafe {
            libc::kill(child, signal);
        }
    } else {
        let _ = PENDING_SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// While alive, the signals in [`FORWARDED`] do not stop `run`: they are passed on to
/// the program, `run` waits for it, records the event, removes the metrics file and
/// exits as the program did.
///
/// A handler is installed rather than `SIG_IGN`, because handlers are reset to the
/// default when the program is executed while ignored signals would stay ignored in it.
/// A signal this process already ignores (started with `nohup`, or in the background by
/// a shell) is left alone, so the program inherits that as usual.
struct SignalsForwarded {
    #[cfg(unix)]
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl SignalsForwarded {
    #[cfg(unix)]
    fn install() -> Self {
        let mut saved = Vec::new();
        for signal in FORWARDED {
            // SAFETY: plain sigaction calls with zero-initialised, fully written structs;
            // the handler only uses atomics and kill(2), which are async-signal-safe.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
                {
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = forward
                    as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                    as libc::sighandler_t;
                new.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
                libc::sigemptyset(&mut new.sa_mask);
                if libc::sigaction(signal, &new, std::ptr::null_mut()) == 0 {
                    saved.push((signal, old));
                }
            }
        }
        SignalsForwarded { saved }
    }

    #[cfg(not(unix))]
    fn install() -> Self {
        SignalsForwarded {}
    }

    /// Runs the program to its end, passing signals on while it runs.
    fn run(&self, command: &mut Command) -> io::Result<ExitStatus> {
        let status = self.spawn(command).and_then(|mut child| child.wait());
        #[cfg(unix)]
        CHILD.store(0, std::sync::atomic::Ordering::SeqCst);
        status
    }

    /// Starts the program with the forwarded signals blocked, so that one arriving while
    /// it starts waits until its pid is known, and is then passed on.
    fn spawn(&self, command: &mut Command) -> io::Result<std::process::Child> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            use std::sync::atomic::Ordering;
            // SAFETY: pthread_sigmask on fully initialised sets; the previous mask is
            // restored below, in this process and in the program.
            let mut block: libc::sigset_t = unsafe { std::mem::zeroed() };
            let mut previous: libc::sigset_t = unsafe { std::mem::zeroed() };
            unsafe {
                libc::sigemptyset(&mut block);
                for signal in FORWARDED {
                    libc::sigaddset(&mut block, signal);
                }
                libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut previous);
            }
            let inherited = previous;
            // SAFETY: between fork and exec only pthread_sigmask runs, which is
            // async-signal-safe; the program starts with the mask `run` started with.
            unsafe {
                command.pre_exec(move || {
                    libc::pthread_sigmask(libc::SIG_SETMASK, &inherited, std::ptr::null_mut());
                    Ok(())
                });
            }
            let child = command.spawn();
            if let Ok(child) = &child {
                let pid = i32::try_from(child.id()).unwrap_or(0);
                CHILD.store(pid, Ordering::SeqCst);
                // A signal that came before the program started is passed on now.
                let early = PENDING_SIGNAL.swap(0, Ordering::SeqCst);
                if early != 0 && pid > 0 {
                    let _ = FORWARDED_SIGNAL.compare_exchange(
                        0,
                        early,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    // SAFETY: kill(2) on our own child, just started.
                    unsafe {
                        libc::kill(pid, early);
                    }
                }
            }
            // SAFETY: restores the mask saved above.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
            }
            child
        }
        #[cfg(not(unix))]
        {
            command.spawn()
        }
    }

    /// The first signal passed on to the program, if any.
    fn forwarded(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            use std::sync::atomic::Ordering;
            Some(FORWARDED_SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

impl Drop for SignalsForwarded {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            CHILD.store(0, std::sync::atomic::Ordering::SeqCst);
            for (signal, old) in &self.saved {
                // SAFETY: restores the disposition saved by `install`.
                unsafe {
                    libc::sigaction(*signal, old, std::ptr::null_mut());
                }
            }
        }
    }
}

/// The conventional name of a signal, for the recorded error type (`SIGTERM`).
pub fn signal_name(signal: i32) -> String {
    #[cfg(unix)]
    {
        let name = match signal {
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            libc::SIGHUP => "SIGHUP",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGKILL => "SIGKILL",
            libc::SIGPIPE => "SIGPIPE",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGABRT => "SIGABRT",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGUSR2 => "SIGUSR2",
            _ => return "Signal".to_owned(),
        };
        name.to_owned()
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        "Signal".to_owned()
    }
}
