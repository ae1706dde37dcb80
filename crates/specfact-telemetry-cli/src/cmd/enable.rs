//! `enable`: opt in — locally by default, or with an endpoint (and headers) in
//! `~/.specfact/telemetry.yaml`. The work is the library's ([`specfact_telemetry::optin`]);
//! this module presents it.

use std::process::ExitCode;

use serde_json::json;
use specfact_telemetry::Settings;
use specfact_telemetry::optin::{self, OptInError};
use specfact_telemetry::settings::Source;

use super::{optin_files, output};
use crate::context::Context;

/// Arguments of `enable`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also send events to this OTLP/HTTP traces endpoint (written to telemetry.yaml).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A header sent with every export, as "Name: Value" (repeatable; needs --endpoint
    /// or an endpoint already in telemetry.yaml).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What telemetry records, in one sentence per line, for `enable`'s confirmation.
pub const WHAT_IS_RECORDED: &str =
    "  Recorded:  per command: its name, mode, counts (files analyzed, features, stories,
             checks, violations), duration, success and the error type.
  Never:     paths, repository or file names, file contents, user or host names,
             error messages.";

/// Runs `enable`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let written = optin::parse_headers(&args.headers).and_then(|headers| {
        if args.endpoint.is_none() && headers.is_empty() {
            optin::enable_locally(&ctx.settings)
        } else {
            optin::enable_with_endpoint(&ctx.settings, args.endpoint.as_deref(), &headers)
        }
    });
    let written = match written {
        Ok(w) => w,
        // Malformed values on the command line are usage errors (exit 2).
        Err(e) if e.is_usage() => return Ok(output::usage_error("enable", e)),
        Err(e @ OptInError::NoHomeDirectory) => anyhow::bail!(e),
        Err(e) => return Err(e.into()),
    };

    // The settings as they now resolve, environment included.
    let now = Settings::resolve(&ctx.env, ctx.home.as_deref());
    let mut warnings = overrides(&now, args.endpoint.as_deref());
    if let Some(why) = specfact_telemetry::delivery::state(&now).refused {
        warnings.push(format!("nothing will be sent: {why}"));
    }
    if args.endpoint.is_some() && args.headers.is_empty() && !now.headers.is_empty() {
        let names: Vec<&str> = now.headers.iter().map(|h| h.name.as_str()).collect();
        warnings.push(format!(
            "the headers already configured ({}) will be sent to this endpoint too; \
             replace them with --header, or remove them from telemetry.yaml",
            names.join(", ")
        ));
    }
    let endpoint = now
        .endpoint
        .value
        .as_deref()
        .map(specfact_telemetry::delivery::redact_endpoint);
    let headers: Vec<String> = now
        .headers
        .iter()
        .map(|h| format!("{}: {}", h.name, h.value.redacted()))
        .collect();

    if args.json {
        let doc = json!({
            "written": written.path.display().to_string(),
            "enabled": now.enabled,
            "opt_in_source": now.opt_in_source.as_str(),
            "disabled_reason": now.disabled_reason.as_ref().map(|r| json!({
                "code": r.code(),
                "message": r.to_string(),
            })),
            "files": optin_files::json(&written.files),
            "log": now.local_path.value.as_ref().map(|p| p.display().to_string()),
            "endpoint": endpoint,
            "headers": headers,
            "warnings": warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }

    match (&now.disabled_reason, now.enabled) {
        (Some(reason), false) => {
            println!(
                "Telemetry stays OFF: {reason}, and the environment takes precedence over the files."
            );
            println!(
                "Your opt-in was written to {}; it takes effect once that is no longer so.",
                written.path.display()
            );
        }
        _ => println!(
            "Telemetry is enabled (written to {}).",
            written.path.display()
        ),
    }
    print!("{}", optin_files::text(&written.files, "  "));
    println!("{WHAT_IS_RECORDED}");
    match &now.local_path.value {
        Some(p) => println!(
            "  Stored in: {} (JSON Lines, yours to read, rotate or delete)",
            p.display()
        ),
        None => println!("  Stored in: nowhere: no local log path could be determined"),
    }
    match endpoint {
        None => println!("  Sent to:   nowhere (local only)"),
        Some(e) if headers.is_empty() => println!("  Sent to:   {e}"),
        Some(e) => println!("  Sent to:   {e} (with {})", headers.join(", ")),
    }
    println!(
        "See what is recorded with `specfact-telemetry show`; opt out with `specfact-telemetry disable`."
    );
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Warnings for environment settings that override what `enable` just wrote.
fn overrides(now: &Settings, endpoint: Option<&str>) -> Vec<String> {
    let mut w = Vec::new();
    if let (false, Some(reason)) = (now.enabled, &now.disabled_reason) {
        w.push(format!(
            "telemetry is still off: {reason}. The environment takes precedence over the files."
        ));
    }
    if let (Some(wanted), Source::Env(var)) = (endpoint, now.endpoint.source)
        && now.endpoint.value.as_deref() != Some(wanted.trim())
    {
        w.push(format!(
            "{var} is set and overrides the endpoint written to telemetry.yaml"
        ));
    }
    w
}
