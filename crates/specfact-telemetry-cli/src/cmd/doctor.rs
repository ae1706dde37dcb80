//! `doctor`: a checklist of everything that can stop telemetry from working as the
//! user intends, each with what to do about it.

use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde_json::json;
use specfact_telemetry::delivery::{self, ExportRequest, RetryPolicy, Selection};
use specfact_telemetry::event::{DIAGNOSTIC_COMMAND, DIAGNOSTIC_MODE, TELEMETRY_VERSION};
use specfact_telemetry::{Event, FieldValue, LocalLog, Settings};

use crate::context::Context;

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not send the test span to the collector.
    #[arg(long)]
    pub no_send: bool,
    /// Print the checklist as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Needs fixing; `doctor` exits 1.
    Fail,
    /// For information only.
    Info,
    /// Not checked.
    Skip,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, and what to do about it.
    pub detail: String,
}

fn check(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        name,
        verdict,
        detail: detail.into(),
    }
}

/// Runs `doctor`.
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let s = &ctx.settings;
    let mut checks = vec![
        configuration(s),
        enabled(s),
        permissions(s),
        local_log(s),
        endpoint(s),
        credentials(s),
        delivery_backlog(s),
    ];
    checks.push(collector(s, args.no_send));

    let healthy = checks.iter().all(|c| c.verdict != Verdict::Fail);
    if args.json {
        let doc = json!({
            "healthy": healthy,
            "checks": checks.iter().map(|c| json!({
                "name": c.name,
                "status": c.verdict.as_str(),
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for c in &checks {
            let mut lines = c.detail.lines();
            println!(
                "[{:<4}] {:<13} {}",
                c.verdict.as_str(),
                c.name,
                lines.next().unwrap_or("")
            );
            for more in lines {
                println!("{:21}{more}", "");
            }
        }
        println!();
        let warned = checks.iter().any(|c| c.verdict == Verdict::Warn);
        println!(
            "{}",
            match (healthy, warned) {
                (true, false) => "No problems found.",
                (true, true) => "Nothing is broken, but see the lines marked warn.",
                (false, _) => "Something needs fixing (see the lines marked fail).",
            }
        );
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn configuration(s: &Settings) -> Check {
    let exists = s.config_path().is_some_and(|p| p.exists());
    if !s.diagnostics.is_empty() {
        let list = s
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        return check("configuration", Verdict::Fail, list);
    }
    match s.config_path() {
        Some(p) if exists => check(
            "configuration",
            Verdict::Ok,
            format!("{} parses", p.display()),
        ),
        _ => check(
            "configuration",
            Verdict::Ok,
            "no telemetry.yaml; environment variables and defaults apply",
        ),
    }
}

fn enabled(s: &Settings) -> Check {
    let mut detail = if s.enabled {
        format!("yes, opted in by {}", s.enabled_source)
    } else {
        let why = s
            .disabled_reason
            .as_ref()
            .map_or_else(|| "off".to_owned(), ToString::to_string);
        format!("no: {why}")
    };
    // Both files and what each says, so a surprise (`enabled: false` while the opt-in
    // file still records) is visible here.
    if let Some(files) = s.opt_in_files() {
        detail.push('\n');
        detail.push_str(super::optin_files::text(&files, "").trim_end());
    }
    check("enabled", Verdict::Info, detail)
}

/// Events waiting for the collector, the last error and when delivery tries again
/// (from the delivery state; nothing is contacted).
fn delivery_backlog(s: &Settings) -> Check {
    let st = delivery::state(s);
    if st.endpoint.is_none() {
        return check("delivery", Verdict::Skip, "no endpoint");
    }
    if !st.enrolled {
        return check("delivery", Verdict::Info, "nothing sent yet");
    }
    let pending = crate::cmd::output::plural(st.pending, "event", "events");
    let next = next_retry(&st);
    match (&st.last_error, st.pending) {
        (Some(e), n) if n > 0 => {
            let status = e.status.map(|c| format!(" (HTTP {c})")).unwrap_or_default();
            check(
                "delivery",
                Verdict::Fail,
                format!(
                    "{pending} pending; the last attempt failed: {}{status}: {}\n{next}",
                    e.kind, e.message
                ),
            )
        }
        (_, 0) => check("delivery", Verdict::Ok, "nothing pending"),
        _ => check(
            "delivery",
            Verdict::Info,
            format!("{pending} pending\n{next}"),
        ),
    }
}

/// When delivery tries again, in words.
pub fn next_retry(st: &specfact_telemetry::DeliveryState) -> String {
    if st.uploader_running {
        return "an upload is running now".to_owned();
    }
    match st.retry_not_before {
        Some(t) if t > SystemTime::now() => format!(
            "next retry not before {} (the collector asked to wait)",
            specfact_telemetry::event::format_timestamp(t)
        ),
        _ => "next retry: with the next recorded command, or now with `specfact-telemetry export`"
            .to_owned(),
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).ok().map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

fn permissions(s: &Settings) -> Check {
    let mut problems = Vec::new();
    let mut worst = Verdict::Ok;
    let mut note = |v: Verdict, text: String| {
        if v == Verdict::Fail || (v == Verdict::Warn && worst == Verdict::Ok) {
            worst = v;
        }
        problems.push(text);
    };
    if let Some(dir) = &s.config_dir
        && let Some(m) = mode(dir)
        && m & 0o077 != 0
    {
        note(
            Verdict::Warn,
            format!(
                "{} is mode {m:o}; run: chmod 700 {}",
                dir.display(),
                dir.display()
            ),
        );
    }
    if let Some(cfg) = s.config_path()
        && let Some(m) = mode(&cfg)
        && m & 0o077 != 0
    {
        let verdict = if s
            .headers
            .iter()
            .any(|h| h.source == specfact_telemetry::Source::Config)
        {
            Verdict::Fail
        } else {
            Verdict::Warn
        };
        let why = if verdict == Verdict::Fail {
            " and holds credentials"
        } else {
            ""
        };
        note(
            verdict,
            format!(
                "{} is mode {m:o}, readable by others{why}; run: chmod 600 {}",
                cfg.display(),
                cfg.display()
            ),
        );
    }
    if let Some(log) = &s.local_path.value
        && let Some(m) = mode(log)
        && m & 0o077 != 0
    {
        note(
            Verdict::Warn,
            format!(
                "{} is mode {m:o}; run: chmod 600 {}",
                log.display(),
                log.display()
            ),
        );
    }
    if problems.is_empty() {
        check(
            "permissions",
            Verdict::Ok,
            "telemetry files are private to you",
        )
    } else {
        check("permissions", worst, problems.join("\n"))
    }
}

fn local_log(s: &Settings) -> Check {
    let Some(path) = &s.local_path.value else {
        return check(
            "local log",
            Verdict::Fail,
            "no path: set HOME or SPECFACT_TELEMETRY_LOCAL_PATH",
        );
    };
    // A log that cannot be used fails the check when telemetry is on, and warns when off.
    let problem = if s.enabled {
        Verdict::Fail
    } else {
        Verdict::Warn
    };
    // Never open something that is not a regular file: a FIFO would block until a
    // writer or reader appears, and this is the command people run to find out why.
    if let Ok(meta) = fs::metadata(path)
        && let Some(kind) = specfact_telemetry::log::non_regular_kind(&meta)
    {
        return check(
            "local log",
            problem,
            format!(
                "{} is {kind}, not a regular file: nothing can be recorded into it; \
                 point local_path at a file",
                path.display()
            ),
        );
    }
    if path.exists() {
        return match fs::OpenOptions::new().append(true).open(path) {
            Ok(_) => check(
                "local log",
                Verdict::Ok,
                format!("{} is writable", path.display()),
            ),
            Err(e) => check(
                "local log",
                problem,
                format!("{} cannot be written: {e}", path.display()),
            ),
        };
    }
    // Not created yet: check that the nearest existing ancestor is a directory.
    let ancestor = path.ancestors().skip(1).find(|a| a.exists());
    match ancestor {
        Some(a) if a.is_dir() => check(
            "local log",
            Verdict::Ok,
            format!("{} will be created with the first event", path.display()),
        ),
        Some(a) => check(
            "local log",
            problem,
            format!(
                "{} cannot be created: {} is not a directory",
                path.display(),
                a.display()
            ),
        ),
        None => check(
            "local log",
            Verdict::Fail,
            format!("{} has no existing parent", path.display()),
        ),
    }
}

fn endpoint(s: &Settings) -> Check {
    let Some(cfg) = delivery::DeliveryConfig::from_settings(s) else {
        return check(
            "endpoint",
            Verdict::Info,
            "none: events stay on this machine",
        );
    };
    let shown = cfg.endpoint_display();
    if cfg.plain_http_to_remote() {
        check(
            "endpoint",
            Verdict::Warn,
            format!(
                "{shown} is plain http to another machine: events travel unencrypted; prefer https"
            ),
        )
    } else {
        check(
            "endpoint",
            Verdict::Ok,
            format!("{shown} ({})", s.endpoint.source),
        )
    }
}

fn credentials(s: &Settings) -> Check {
    let state = delivery::state(s);
    if state.endpoint.is_none() {
        return check("credentials", Verdict::Skip, "no endpoint");
    }
    if let Some(why) = state.refused {
        return check("credentials", Verdict::Fail, why);
    }
    if s.headers.is_empty() {
        check("credentials", Verdict::Info, "no headers are sent")
    } else {
        let names = s
            .headers
            .iter()
            .map(|h| format!("{}: {}", h.name, h.value.redacted()))
            .collect::<Vec<_>>()
            .join(", ");
        check(
            "credentials",
            Verdict::Ok,
            format!("sent over a safe channel: {names}"),
        )
    }
}

fn collector(s: &Settings, no_send: bool) -> Check {
    if s.endpoint.value.is_none() {
        return check("collector", Verdict::Skip, "no endpoint");
    }
    if no_send {
        return check("collector", Verdict::Skip, "not contacted (--no-send)");
    }
    if !s.enabled {
        let why = s
            .disabled_reason
            .as_ref()
            .map_or_else(|| "off".to_owned(), ToString::to_string);
        return check(
            "collector",
            Verdict::Skip,
            format!("not contacted: telemetry is disabled ({why})"),
        );
    }
    if delivery::state(s).refused.is_some() {
        return check(
            "collector",
            Verdict::Skip,
            "not contacted: sending is refused (see credentials)",
        );
    }
    match send_test_span(s) {
        Ok(detail) => check("collector", Verdict::Ok, detail),
        Err(detail) => check("collector", Verdict::Fail, detail),
    }
}

/// Sends one `specfact.doctor.check` span through the real delivery path (encoding,
/// headers, TLS, proxy), from a scratch log so the user's log and cursor are untouched.
/// The span is marked as a diagnostic (command `doctor.check` and `mode: diagnostic`,
/// see [`specfact_telemetry::event::is_diagnostic`]), so reports and servers leave it out of every figure.
fn send_test_span(s: &Settings) -> Result<String, String> {
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let log = LocalLog::new(scratch.path().join("doctor.log"));
    let event = Event {
        command: DIAGNOSTIC_COMMAND.to_owned(),
        success: true,
        error: None,
        duration_ms: None,
        session_id: uuid::Uuid::new_v4().simple().to_string(),
        telemetry_version: Some(TELEMETRY_VERSION.to_owned()),
        cli_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        opt_in_source: Some(s.opt_in_source.as_str().to_owned()),
        timestamp: Some(SystemTime::now()),
        event_id: None,
        fields: vec![(
            "mode".to_owned(),
            FieldValue::Str(DIAGNOSTIC_MODE.to_owned()),
        )],
    };
    log.append(&event)
        .map_err(|e| format!("cannot write the test event: {e}"))?;
    let mut probe = s.clone();
    probe.local_path.value = Some(log.path().to_owned());
    probe.config_dir = Some(scratch.path().to_owned());
    let timeout = s.export_timeout.value;
    let request = ExportRequest {
        selection: Selection::All,
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(1),
            max_elapsed: timeout,
        },
        ..ExportRequest::default()
    };
    let summary = delivery::export(&probe, &request, &mut |_| {}).map_err(|e| e.to_string())?;
    if summary.sent == 1 {
        Ok(format!(
            "{} accepted a test span (specfact.doctor.check)",
            summary.endpoint
        ))
    } else {
        let why = if summary.errors.is_empty() {
            "no answer".to_owned()
        } else {
            summary.errors.join("; ")
        };
        Err(format!(
            "{} did not accept the test span: {why}",
            summary.endpoint
        ))
    }
}
