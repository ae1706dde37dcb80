//! `disable`: opt out so that neither file enables, and optionally delete the data. The
//! work is the library's ([`specfact_telemetry::optin`]); this module presents it.

use std::process::ExitCode;

use serde_json::json;
use specfact_telemetry::Settings;
use specfact_telemetry::optin;
use specfact_telemetry::settings::Source;

use super::{optin_files, purge};
use crate::context::Context;

/// Arguments of `disable`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also delete the recorded events and the delivery state.
    #[arg(long)]
    pub purge: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `disable`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let done = optin::disable(&ctx.settings)?;
    let mut changed = Vec::new();
    if let Some(p) = &done.removed_opt_in {
        changed.push(format!("removed {}", p.display()));
    }
    if let Some(p) = &done.config_set_false {
        changed.push(format!("set `enabled: false` in {}", p.display()));
    }
    let purged = if args.purge {
        Some(optin::purge(&ctx.settings))
    } else {
        None
    };
    let now = Settings::resolve(&ctx.env, ctx.home.as_deref());
    let still_by = now.enabled.then(|| match now.enabled_source {
        Source::Env(var) => format!("{var} in your environment"),
        other => other.to_string(),
    });

    if args.json {
        let purge_json = match &purged {
            None => serde_json::Value::Null,
            Some(Ok(p)) => purge::purged_json(p),
            Some(Err(e)) => json!({"error": e.to_string()}),
        };
        let doc = json!({
            "changed": changed,
            "enabled": now.enabled,
            "still_enabled_by": still_by,
            "files": done.files.as_ref().map_or(serde_json::Value::Null, optin_files::json),
            "purge": purge_json,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(match purged {
            Some(Err(_)) => ExitCode::FAILURE,
            _ => ExitCode::SUCCESS,
        });
    }

    if changed.is_empty() {
        println!("Nothing to change: no opt-in file or telemetry.yaml was found.");
    } else {
        for c in &changed {
            println!("{c}");
        }
    }
    if let Some(files) = &done.files {
        print!("{}", optin_files::text(files, "  "));
    }
    let mut code = ExitCode::SUCCESS;
    match purged {
        None => {}
        Some(Ok(p)) => print!("{}", purge::purged_text(&p)),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            code = ExitCode::FAILURE;
        }
    }
    match still_by {
        Some(by) => {
            eprintln!("warning: telemetry is still enabled by {by}; unset it to opt out completely")
        }
        None => println!("Telemetry is disabled."),
    }
    Ok(code)
}
