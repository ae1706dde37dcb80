//! `record`: records one event for a host that is not written in Rust (a shell script,
//! the Python SpecFact CLI, a CI job), through the same sanitizer as the library.
//!
//! Whatever happens to telemetry, the caller sees exit status 0: with telemetry off,
//! no output whatever the input; with it on, a warning on stderr for a value telemetry
//! cannot use. Only a misuse of the command line itself (an unknown option) exits 2.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use specfact_telemetry::{MachineIdentity, Telemetry};

use super::fields::{self, FieldArg};
use crate::context::Context;

/// Arguments of `record`.
///
/// Values are taken as they come and checked only when telemetry is on, so that a
/// script never fails over telemetry: only a misuse of the command line itself (an
/// unknown option, `--success` with `--failure`) is an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command to record, a dotted identifier such as `import.from_code`.
    #[arg(value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: OsString,

    /// A metadata field; repeat for more. Values are typed by the field's kind
    /// (`files_analyzed=143` is a count, `shadow_mode=true` a boolean); fields that are
    /// not allowed or do not fit their kind are dropped.
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<OsString>,

    /// The command succeeded (the default).
    #[arg(long, conflicts_with = "failure")]
    pub success: bool,

    /// The command failed.
    #[arg(long)]
    pub failure: bool,

    /// The type of error the command failed with (`Exit`, `TimeoutError`), never a message.
    #[arg(long, value_name = "TYPE", requires = "failure")]
    pub error: Option<OsString>,

    /// How long the command took, in milliseconds.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub duration_ms: Option<OsString>,

    /// A JSON object of metadata, read from FILE or from stdin with `-` (at most 1 MiB);
    /// `--field`s override its keys.
    #[arg(long, value_name = "FILE|-")]
    pub metadata: Option<OsString>,

    /// The host's version, recorded as `cli_version`.
    #[arg(long, value_name = "V")]
    pub cli_version: Option<OsString>,
}

/// The error type recorded for `--failure` without `--error`: the command exited unsuccessfully.
pub const DEFAULT_ERROR_TYPE: &str = "Exit";

/// Prints a warning about a value telemetry cannot use. The message never repeats the
/// value itself (it could be a path or a secret).
fn warn(message: impl std::fmt::Display) {
    eprintln!("warning: {message}");
}

/// Runs `record`. Always exits 0: with telemetry off it reads nothing it need not and
/// prints nothing; with it on, a value it cannot use is a warning on stderr.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    if !ctx.settings.enabled {
        // A producer piping metadata into us never sees a broken pipe.
        if args.metadata.as_deref() == Some(std::ffi::OsStr::new("-")) {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
        }
        // Builds the inert handle only for the library's debug line saying why.
        let _ = Telemetry::builder(ctx.settings.clone()).build();
        return Ok(ExitCode::SUCCESS);
    }
    let debug = ctx.settings.debug.value;
    let mut metadata = match &args.metadata {
        None => Vec::new(),
        Some(source) => read_source(source).unwrap_or_else(|why| {
            warn(format_args!("{why}; recording the event without it"));
            Vec::new()
        }),
    };
    let fields: Vec<FieldArg> = args
        .fields
        .iter()
        .filter_map(|f| {
            fields::split_field(f)
                .map_err(|why| warn(format_args!("{why}; field not recorded")))
                .ok()
        })
        .collect();
    metadata.extend(fields::field_metadata(&fields, debug));
    let duration = args.duration_ms.as_ref().and_then(|raw| {
        let parsed = raw
            .to_str()
            .ok_or_else(|| "is not a number".to_owned())
            .and_then(fields::parse_duration_ms);
        parsed
            .map_err(|why| warn(format_args!("--duration-ms {why}; not recorded")))
            .ok()
    });

    let identity = MachineIdentity::detect(&ctx.env, ctx.home.as_deref());
    let command = match fields::typed_command(&args.command, &identity) {
        Some(Ok(command)) => command,
        Some(Err(reason)) => {
            warn(format_args!(
                "the command name {reason}; nothing recorded. Use a dotted identifier such as \
                 import.from_code (lowercase letters, digits, '-' and '_', at most 64 characters)"
            ));
            return Ok(ExitCode::SUCCESS);
        }
        None => {
            warn("the command name is not valid UTF-8; nothing recorded");
            return Ok(ExitCode::SUCCESS);
        }
    };

    let telemetry = fields::telemetry(ctx, identity, args.cli_version.as_deref());
    let mut guard = telemetry.track_command(&command, metadata);
    // Without a usable --duration-ms nobody timed the command: record no duration rather
    // than how long this process took to write the event.
    match duration {
        Some(ms) => guard.set_duration(Duration::from_secs_f64(ms / 1000.0)),
        None => guard.unknown_duration(),
    }
    // The outcome is already explained in debug mode by the library; whatever it is,
    // the caller's result does not change.
    let _ = if args.failure {
        let error = match args.error.as_deref() {
            None => DEFAULT_ERROR_TYPE,
            Some(e) => e.to_str().unwrap_or(""),
        };
        guard.failure(error)
    } else {
        guard.success()
    };
    Ok(ExitCode::SUCCESS)
}

fn read_source(source: &OsString) -> Result<Vec<(String, specfact_telemetry::Value)>, String> {
    if source == "-" {
        fields::read_metadata(io::stdin().lock())
            .map_err(|e| format!("invalid --metadata from stdin: {e}"))
    } else {
        let shown = source.to_string_lossy();
        let file = match fields::open_regular(Path::new(source)) {
            Ok(Some(file)) => file,
            Ok(None) => return Err(format!("--metadata {shown} is not a regular file")),
            Err(e) => return Err(format!("cannot read --metadata file {shown}: {e}")),
        };
        fields::read_metadata(file).map_err(|e| format!("invalid --metadata file {shown}: {e}"))
    }
}
