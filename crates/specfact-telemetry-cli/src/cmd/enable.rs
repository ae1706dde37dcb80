//! `enable`: opt in — locally by default, or with an endpoint (and headers) in
//! `~/.specfact/telemetry.yaml`.

use std::process::ExitCode;

use anyhow::bail;
use specfact_telemetry::Settings;
use specfact_telemetry::settings::{CONFIG_FILE, OPT_IN_FILE, Source, validate_endpoint};

use super::config_file::{quote, read_optional, set_top_level, write_private};
use super::output;
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
}

/// What telemetry records, in one sentence per line, for `enable`'s confirmation.
pub const WHAT_IS_RECORDED: &str =
    "  Recorded:  per command: its name, mode, counts (files analyzed, features, stories,
             checks, violations), duration, success and the error type.
  Never:     paths, repository or file names, file contents, user or host names,
             error messages.";

/// Runs `enable`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let Some(dir) = ctx.settings.config_dir.clone() else {
        bail!(
            "there is no home directory (HOME is not set), so there is nowhere to keep the opt-in"
        );
    };
    // Malformed values on the command line are usage errors (exit 2).
    let mut headers = Vec::new();
    for (i, h) in args.headers.iter().enumerate() {
        match parse_header(h) {
            Ok(h) => headers.push(h),
            Err(e) => {
                return Ok(output::usage_error(
                    "enable",
                    format_args!("--header number {}: {e}", i + 1),
                ));
            }
        }
    }
    if let Some(endpoint) = &args.endpoint
        && let Err(e) = check_endpoint(endpoint)
    {
        return Ok(output::usage_error("enable", e));
    }

    if args.endpoint.is_none() && headers.is_empty() {
        write_private(&dir.join(OPT_IN_FILE), "true\n")?;
        println!(
            "Telemetry is enabled (written to {}).",
            dir.join(OPT_IN_FILE).display()
        );
    } else {
        let config = dir.join(CONFIG_FILE);
        let mut text = read_optional(&config)?.unwrap_or_default();
        if let Some(endpoint) = &args.endpoint {
            check_endpoint(endpoint)?;
            text = set_top_level(&text, "endpoint", &quote(endpoint), &[]);
        } else if ctx.settings.endpoint.value.is_none() {
            return Ok(output::usage_error(
                "enable",
                "--header needs an endpoint: pass --endpoint URL as well",
            ));
        }
        if !headers.is_empty() {
            let block: Vec<String> = headers
                .iter()
                .map(|(name, value)| format!("{}: {}", quote(name), quote(value)))
                .collect();
            text = set_top_level(&text, "headers", "", &block);
        }
        text = set_top_level(&text, "enabled", "true", &[]);
        write_private(&config, &text)?;
        println!("Telemetry is enabled (written to {}).", config.display());
    }

    // Show the settings as they now resolve, environment included.
    let now = Settings::resolve(&ctx.env, ctx.home.as_deref());
    println!("{WHAT_IS_RECORDED}");
    match &now.local_path.value {
        Some(p) => println!(
            "  Stored in: {} (JSON Lines, yours to read, rotate or delete)",
            p.display()
        ),
        None => println!("  Stored in: nowhere: no local log path could be determined"),
    }
    match &now.endpoint.value {
        None => println!("  Sent to:   nowhere (local only)"),
        Some(e) => {
            let e = specfact_telemetry::delivery::redact_endpoint(e);
            let headers = now
                .headers
                .iter()
                .map(|h| format!("{}: {}", h.name, h.value.redacted()))
                .collect::<Vec<_>>();
            if headers.is_empty() {
                println!("  Sent to:   {e}");
            } else {
                println!("  Sent to:   {e} (with {})", headers.join(", "));
            }
        }
    }
    println!(
        "See what is recorded with `specfact-telemetry show`; opt out with `specfact-telemetry disable`."
    );

    let mut warnings = overrides(&now, args.endpoint.as_deref());
    if let Some(why) = specfact_telemetry::delivery::state(&now).refused {
        warnings.push(format!("nothing will be sent: {why}"));
    }
    if args.endpoint.is_some() && headers.is_empty() && !now.headers.is_empty() {
        let names: Vec<&str> = now.headers.iter().map(|h| h.name.as_str()).collect();
        warnings.push(format!(
            "the headers already configured ({}) will be sent to this endpoint too; \
             replace them with --header, or remove them from telemetry.yaml",
            names.join(", ")
        ));
    }
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
        && now.endpoint.value.as_deref() != Some(wanted)
    {
        w.push(format!(
            "{var} is set and overrides the endpoint written to telemetry.yaml"
        ));
    }
    w
}

/// Parses `Name: Value`.
fn parse_header(h: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = h.split_once(':') else {
        bail!("expected \"Name: Value\" (no ':' found)");
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        bail!("the header name must be letters, digits or one of !#$%&'*+-.^_`|~");
    }
    if value.is_empty() {
        bail!("the header value is empty");
    }
    if value.chars().any(char::is_control) {
        bail!("the header value contains control characters");
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks an endpoint with the rules the settings apply, so `enable` never writes
/// one that would then be ignored. The message never repeats the URL.
fn check_endpoint(url: &str) -> anyhow::Result<()> {
    validate_endpoint(url.trim()).map_err(|e| anyhow::anyhow!("--endpoint {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_and_reject_bad_input_without_echoing_it() {
        assert_eq!(
            parse_header(" Authorization :  Bearer abc ").unwrap(),
            ("Authorization".to_owned(), "Bearer abc".to_owned())
        );
        for bad in ["no colon", ": v", "Bad Name: v", "N:", "N: a\u{7}b"] {
            let err = parse_header(bad).unwrap_err().to_string();
            assert!(!err.contains("abc") && !err.contains(bad), "{err}");
        }
    }
}
