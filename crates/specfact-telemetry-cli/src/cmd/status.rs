//! `status`: whether telemetry is on, why, every setting with its source, the
//! local log, delivery, and any problem found in the configuration.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value as Json, json};
use specfact_telemetry::event::format_timestamp;
use specfact_telemetry::log::{LocalLog, LogStats};
use specfact_telemetry::settings::{Header, RegressionCategory, Setting, Source};
use specfact_telemetry::{Diagnostic, Settings};

use super::output;
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
    let log = s.local_path.value.as_ref().map(LocalLog::new);
    let stats = log.as_ref().map(|l| l.stats());
    let delivery = super::delivery_info::summary(ctx);
    if args.json {
        let doc = json!({
            "enabled": s.enabled,
            "opt_in_source": s.opt_in_source.as_str(),
            "disabled_reason": s.disabled_reason.as_ref().map(|r| json!({
                "code": r.code(),
                "message": r.to_string(),
            })),
            "settings": settings_json(s),
            "diagnostics": s.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
            "files": files_json(s),
            "log": log_json(log.as_ref(), stats.as_ref()),
            "delivery": delivery.to_json(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = String::new();
    out.push_str(&headline(s));
    out.push_str("\n\nFiles\n");
    out.push_str(&files_text(s));
    out.push_str("\nSettings\n");
    out.push_str(&settings_table(s));
    out.push_str("\nLocal log\n");
    out.push_str(&log_text(log.as_ref(), stats.as_ref()));
    out.push_str("\nDelivery\n");
    out.push_str(&delivery.to_text());
    if !s.diagnostics.is_empty() {
        out.push_str(
            "\nProblems in the configuration (the values above already work around them)\n",
        );
        for d in &s.diagnostics {
            out.push_str(&format!("  {d}\n"));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn headline(s: &Settings) -> String {
    if s.enabled {
        format!("Telemetry is ENABLED (opted in by {}).", s.enabled_source)
    } else {
        let reason = s
            .disabled_reason
            .as_ref()
            .map_or_else(|| "off".to_owned(), ToString::to_string);
        let hint = match s.disabled_reason {
            Some(specfact_telemetry::DisabledReason::NotOptedIn) => {
                "\nNothing is recorded. To opt in: specfact-telemetry enable"
            }
            _ => "\nNothing is recorded.",
        };
        format!("Telemetry is DISABLED: {reason}.{hint}")
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s}s")
    }
}

/// Every setting as (name, shown value, JSON value, source).
fn rows(s: &Settings) -> Vec<(&'static str, String, Json, String)> {
    fn row<T>(
        name: &'static str,
        setting: &Setting<T>,
        shown: String,
        json: Json,
    ) -> (&'static str, String, Json, String) {
        (name, shown, json, setting.source.to_string())
    }
    let enabled_source = s.enabled_source.to_string();
    let categories: serde_json::Map<String, Json> = s
        .regression_categories
        .value
        .iter()
        .map(|(family, cat)| (family.clone(), Json::from(category_name(*cat))))
        .collect();
    let categories_shown = s
        .regression_categories
        .value
        .iter()
        .map(|(family, cat)| format!("{family}={}", category_name(*cat)))
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        (
            "enabled",
            s.enabled.to_string(),
            Json::from(s.enabled),
            enabled_source,
        ),
        row(
            "endpoint",
            &s.endpoint,
            s.endpoint.value.as_deref().map_or_else(
                || "(none: local only)".to_owned(),
                specfact_telemetry::delivery::redact_endpoint,
            ),
            json!(
                s.endpoint
                    .value
                    .as_deref()
                    .map(specfact_telemetry::delivery::redact_endpoint)
            ),
        ),
        (
            "headers",
            if s.headers.is_empty() {
                "(none)".to_owned()
            } else {
                s.headers
                    .iter()
                    .map(|h| format!("{}: {}", h.name, h.value.redacted()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            Json::Object(
                s.headers
                    .iter()
                    .map(|h| (h.name.clone(), Json::from(h.value.redacted())))
                    .collect(),
            ),
            headers_source(&s.headers),
        ),
        row(
            "service_name",
            &s.service_name,
            s.service_name.value.clone(),
            json!(s.service_name.value),
        ),
        row(
            "service_namespace",
            &s.service_namespace,
            s.service_namespace.value.clone(),
            json!(s.service_namespace.value),
        ),
        row(
            "deployment_environment",
            &s.deployment_environment,
            s.deployment_environment.value.clone(),
            json!(s.deployment_environment.value),
        ),
        row(
            "batch_size",
            &s.batch_size,
            s.batch_size.value.to_string(),
            json!(s.batch_size.value),
        ),
        row(
            "batch_timeout",
            &s.batch_timeout,
            secs(s.batch_timeout.value),
            json!(s.batch_timeout.value.as_secs_f64()),
        ),
        row(
            "export_timeout",
            &s.export_timeout,
            secs(s.export_timeout.value),
            json!(s.export_timeout.value.as_secs_f64()),
        ),
        row(
            "debug",
            &s.debug,
            s.debug.value.to_string(),
            json!(s.debug.value),
        ),
        row(
            "local_path",
            &s.local_path,
            s.local_path.value.as_ref().map_or_else(
                || "(none: no home directory)".to_owned(),
                |p| p.display().to_string(),
            ),
            json!(s.local_path.value.as_ref().map(|p| p.display().to_string())),
        ),
        row(
            "allow_insecure_http",
            &s.allow_insecure_http,
            s.allow_insecure_http.value.to_string(),
            json!(s.allow_insecure_http.value),
        ),
        row(
            "regression_categories",
            &s.regression_categories,
            categories_shown,
            Json::Object(categories),
        ),
    ]
}

fn category_name(c: RegressionCategory) -> &'static str {
    match c {
        RegressionCategory::ContractViolation => "contract",
        RegressionCategory::PlanDrift => "drift",
    }
}

fn headers_source(headers: &[Header]) -> String {
    let mut sources: Vec<String> = headers.iter().map(|h| h.source.to_string()).collect();
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        Source::Default.to_string()
    } else {
        sources.join("+")
    }
}

fn settings_json(s: &Settings) -> Json {
    Json::Object(
        rows(s)
            .into_iter()
            .map(|(name, _, value, source)| {
                (name.to_owned(), json!({"value": value, "source": source}))
            })
            .collect(),
    )
}

/// One row per setting: name, source, value. The value comes last, so a long one (an
/// endpoint, many categories) never pushes the other columns out of line.
fn settings_table(s: &Settings) -> String {
    let rows = rows(s);
    let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let source_w = rows.iter().map(|r| r.3.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, shown, _, source) in rows {
        out.push_str(&format!(
            "  {name:<name_w$}  {source:<source_w$}  {shown}\n"
        ));
    }
    out
}

/// Where every file lives, whether it exists or not, and what the two opt-in files say.
fn files_text(s: &Settings) -> String {
    let files = s.opt_in_files();
    let mut rows = match &files {
        Some(files) => super::optin_files::rows(files),
        None => ["config", "opt-in"]
            .into_iter()
            .map(|n| {
                (
                    n,
                    "(none: there is no home directory)".to_owned(),
                    String::new(),
                )
            })
            .collect(),
    };
    let exists = |p: &std::path::Path| match p.symlink_metadata() {
        Err(_) => "absent".to_owned(),
        Ok(m) => specfact_telemetry::log::non_regular_kind(&m).map_or_else(
            || "present".to_owned(),
            |kind| format!("{kind}, not a regular file"),
        ),
    };
    rows.push(match &s.local_path.value {
        Some(p) => ("log", p.display().to_string(), exists(p)),
        None => (
            "log",
            "(none: no home directory and no local_path)".to_owned(),
            String::new(),
        ),
    });
    rows.push(match specfact_telemetry::delivery::state_dir(s) {
        Some(p) => ("state", p.display().to_string(), exists(&p)),
        None => (
            "state",
            "(none: there is no log path)".to_owned(),
            String::new(),
        ),
    });
    let note = files.as_ref().and_then(super::optin_files::note);
    super::optin_files::table(&rows, note, "  ")
}

fn files_json(s: &Settings) -> Json {
    let mut doc = super::optin_files::json_for(s);
    if let Json::Object(map) = &mut doc {
        map.insert(
            "delivery_state".to_owned(),
            json!(specfact_telemetry::delivery::state_dir(s).map(|p| p.display().to_string())),
        );
    }
    doc
}

fn diagnostic_json(d: &Diagnostic) -> Json {
    let (file, line, column, variable) = match &d.origin {
        specfact_telemetry::settings::Origin::Env(var) => (None, None, None, Some(*var)),
        specfact_telemetry::settings::Origin::File { path, line, column } => {
            (Some(path.display().to_string()), *line, *column, None)
        }
    };
    json!({
        "file": file,
        "line": line,
        "column": column,
        "variable": variable,
        "message": d.message,
        "text": d.to_string(),
    })
}

fn log_json(
    log: Option<&LocalLog>,
    stats: Option<&Result<LogStats, specfact_telemetry::log::LogError>>,
) -> Json {
    let Some(log) = log else {
        return json!({"path": null, "exists": false});
    };
    let mut doc = json!({
        "path": log.path().display().to_string(),
        "exists": log.exists(),
    });
    match stats {
        Some(Ok(st)) => {
            doc["bytes"] = json!(st.bytes);
            doc["events"] = json!(st.events);
            doc["malformed_lines"] = json!(st.malformed);
            doc["events_without_timestamp"] = json!(st.without_timestamp);
            doc["first_event"] = json!(st.first.map(format_timestamp));
            doc["last_event"] = json!(st.last.map(format_timestamp));
        }
        Some(Err(e)) => doc["error"] = json!(e.to_string()),
        None => {}
    }
    doc
}

fn log_text(
    log: Option<&LocalLog>,
    stats: Option<&Result<LogStats, specfact_telemetry::log::LogError>>,
) -> String {
    let Some(log) = log else {
        return "  no log path: there is no home directory and local_path is not set\n".to_owned();
    };
    let mut out = format!("  path      {}\n", log.path().display());
    match stats {
        Some(Ok(st)) if log.exists() => {
            out.push_str(&format!("  size      {}\n", output::human_bytes(st.bytes)));
            let mut events = output::plural(st.events, "event", "events");
            if st.malformed > 0 {
                events.push_str(&format!(
                    ", {} skipped",
                    output::plural(st.malformed, "malformed line", "malformed lines")
                ));
            }
            if st.without_timestamp > 0 {
                events.push_str(&format!(", {} without a timestamp", st.without_timestamp));
            }
            out.push_str(&format!("  events    {events}\n"));
            if let (Some(first), Some(last)) = (st.first, st.last) {
                out.push_str(&format!(
                    "  period    {} .. {}\n",
                    format_timestamp(first),
                    format_timestamp(last)
                ));
            }
        }
        Some(Err(e)) => out.push_str(&format!("  cannot read it: {e}\n")),
        _ => out.push_str("  (does not exist yet: nothing has been recorded)\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_have_no_fraction() {
        assert_eq!(secs(Duration::from_secs(5)), "5s");
        assert_eq!(secs(Duration::from_millis(2500)), "2.5s");
    }
}
