//! `init`: write a commented configuration template.

use std::process::ExitCode;

use anyhow::bail;
use specfact_telemetry::settings::CONFIG_FILE;

use super::config_file::write_private;
use crate::context::Context;

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Overwrite an existing telemetry.yaml.
    #[arg(long)]
    pub force: bool,
    /// Print the template to stdout instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Print one JSON object saying what was written instead of text.
    #[arg(long, conflicts_with = "print")]
    pub json: bool,
}

/// The configuration template: every key, commented out at its default.
pub const TEMPLATE: &str = r#"# specfact-telemetry configuration.
# Environment variables (SPECFACT_TELEMETRY_*) override every key here.
# `specfact-telemetry status` shows the value in force and where it came from.

# Record events in the local log. Off unless you say so.
enabled: false

# Send events to an OTLP/HTTP collector as well. Leave unset to keep everything local.
# endpoint: "http://localhost:4318/v1/traces"

# Headers sent with every export, e.g. credentials. This file is kept private (0600).
# Headers are only sent over https, or plain http to this machine, unless
# allow_insecure_http is true.
# headers:
#   Authorization: "Bearer <token>"
# allow_insecure_http: false

# Resource attributes of the exported spans.
# service_name: "specfact-cli"
# service_namespace: "cli"
# deployment_environment: "production"

# Export tuning: spans per request, seconds before a partial batch is sent by a
# long-running host, seconds per request.
# batch_size: 512
# batch_timeout: 5
# export_timeout: 10

# Print each event, each dropped field and each problem to stderr.
# debug: false

# Where the local log lives.
# local_path: "~/.specfact/telemetry.log"

# Which headline a command family's violations count towards in reports:
# contract (contract violations) or drift (plan drift). Merged over the defaults.
# regression_categories:
#   repro: contract
#   contract: contract
#   enforce: contract
#   analyze: contract
#   plan: drift
#   drift: drift
"#;

/// Runs `init`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    if args.print {
        print!("{TEMPLATE}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = &ctx.settings.config_dir else {
        bail!(
            "there is no home directory (HOME is not set); use --print and save the template yourself"
        );
    };
    let path = dir.join(CONFIG_FILE);
    if path.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to replace it, or --print to see the template",
            path.display()
        );
    }
    write_private(&path, TEMPLATE)?;
    if args.json {
        let doc = serde_json::json!({"written": path.display().to_string()});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Wrote {}. Edit it, then check it with `specfact-telemetry status`.",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
