//! `disable`: opt out everywhere this tool wrote an opt-in, and optionally delete the data.

use std::fs;
use std::process::ExitCode;

use anyhow::Context as _;
use specfact_telemetry::Settings;
use specfact_telemetry::settings::{CONFIG_FILE, OPT_IN_FILE, Source};

use super::config_file::{read_optional, set_top_level, write_private};
use crate::context::Context;

/// Arguments of `disable`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also delete the recorded events and the delivery state.
    #[arg(long)]
    pub purge: bool,
}

/// Runs `disable`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let mut changed = Vec::new();
    if let Some(dir) = &ctx.settings.config_dir {
        let opt_in = dir.join(OPT_IN_FILE);
        if opt_in.exists() {
            fs::remove_file(&opt_in)
                .with_context(|| format!("cannot remove {}", opt_in.display()))?;
            changed.push(format!("removed {}", opt_in.display()));
        }
        let config = dir.join(CONFIG_FILE);
        if let Some(text) = read_optional(&config)? {
            write_private(&config, &set_top_level(&text, "enabled", "false", &[]))?;
            changed.push(format!("set `enabled: false` in {}", config.display()));
        }
    }
    if changed.is_empty() {
        println!("Nothing to change: no opt-in file or telemetry.yaml was found.");
    } else {
        for c in &changed {
            println!("{c}");
        }
    }
    if let (true, Some(log)) = (args.purge, ctx.local_log()) {
        for deleted in super::purge::delete_everything(ctx, &log)? {
            println!("deleted {}", deleted.display());
        }
    }
    let now = Settings::resolve(&ctx.env, ctx.home.as_deref());
    if now.enabled {
        let by = match now.enabled_source {
            Source::Env(var) => format!("{var} in your environment"),
            other => other.to_string(),
        };
        eprintln!("warning: telemetry is still enabled by {by}; unset it to opt out completely");
    } else {
        println!("Telemetry is disabled.");
    }
    Ok(ExitCode::SUCCESS)
}
