//! `record`: records one event for a host that is not written in Rust (a shell script,
//! the Python SpecFact CLI, a CI job), through the same sanitizer as the library.
//!
//! Whatever happens to telemetry, the caller sees exit status 0 and no output, unless
//! it used the command wrongly (exit status 2) or turned debug output on.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::process::ExitCode;
use std::time::Duration;

use specfact_telemetry::Telemetry;

use super::fields::{self, FieldArg, FieldParser};
use super::output;
use crate::context::Context;

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command to record, a dotted identifier such as `import.from_code`.
    #[arg(value_name = "COMMAND", value_parser = fields::parse_command)]
    pub command: String,

    /// A metadata field; repeat for more. Values are typed by the field's kind
    /// (`files_analyzed=143` is a count, `shadow_mode=true` a boolean); fields that are
    /// not allowed or do not fit their kind are dropped.
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = FieldParser)]
    pub fields: Vec<FieldArg>,

    /// The command succeeded (the default).
    #[arg(long, conflicts_with = "failure")]
    pub success: bool,

    /// The command failed.
    #[arg(long)]
    pub failure: bool,

    /// The type of error the command failed with (`Exit`, `TimeoutError`), never a message.
    #[arg(long, value_name = "TYPE", requires = "failure")]
    pub error: Option<String>,

    /// How long the command took, in milliseconds.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = fields::parse_duration_ms)]
    pub duration_ms: Option<f64>,

    /// A JSON object of metadata, read from FILE or from stdin with `-` (at most 1 MiB);
    /// `--field`s override its keys.
    #[arg(long, value_name = "FILE|-")]
    pub metadata: Option<OsString>,

    /// The host's version, recorded as `cli_version`.
    #[arg(long, value_name = "V")]
    pub cli_version: Option<String>,
}

/// The error type recorded for `--failure` without `--error`: the command exited unsuccessfully.
pub const DEFAULT_ERROR_TYPE: &str = "Exit";

/// Runs `record`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    // The metadata is read and checked even when telemetry is off: a mistake shows up
    // while the caller is written, not only on the machines of people who opted in, and
    // a producer piping into us never sees a broken pipe.
    let mut metadata = match &args.metadata {
        None => Vec::new(),
        Some(source) => match read_source(source) {
            Ok(m) => m,
            Err(why) => return Ok(output::usage_error("record", why)),
        },
    };
    if !ctx.settings.enabled {
        // Builds the inert handle only for the library's debug line saying why.
        let _ = Telemetry::builder(ctx.settings.clone()).build();
        return Ok(ExitCode::SUCCESS);
    }
    let debug = ctx.settings.debug.value;
    metadata.extend(fields::field_metadata(&args.fields, debug));

    let mut builder = Telemetry::builder(ctx.settings.clone()).delivery(ctx.delivery_options());
    if let Some(v) = &args.cli_version {
        builder = builder.cli_version(v);
    }
    let telemetry = builder.build();
    let mut guard = telemetry.track_command(&args.command, metadata);
    if let Some(ms) = args.duration_ms {
        guard.set_duration(Duration::from_secs_f64(ms / 1000.0));
    }
    // The outcome is already explained in debug mode by the library; whatever it is,
    // the caller's result does not change.
    let _ = if args.failure {
        guard.failure(args.error.as_deref().unwrap_or(DEFAULT_ERROR_TYPE))
    } else {
        guard.success()
    };
    Ok(ExitCode::SUCCESS)
}

fn read_source(source: &OsString) -> Result<Vec<(String, specfact_telemetry::Value)>, String> {
    let shown = source.to_string_lossy();
    if source == "-" {
        fields::read_metadata(io::stdin().lock())
            .map_err(|e| format!("invalid --metadata from stdin: {e}"))
    } else {
        let file =
            File::open(source).map_err(|e| format!("cannot read --metadata file {shown}: {e}"))?;
        fields::read_metadata(file).map_err(|e| format!("invalid --metadata file {shown}: {e}"))
    }
}
