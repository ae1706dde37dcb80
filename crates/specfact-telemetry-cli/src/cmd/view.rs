//! `view`: a live dashboard of your own log, served on 127.0.0.1 only.
//!
//! The server answers three things and nothing else: the page (`/`), the report as JSON
//! (`/api/report`, which the page polls), and 404. Each poll reads only the lines
//! appended since the previous one. Requests whose `Host` is not this loopback address
//! are refused, so a web page elsewhere cannot read the dashboard through DNS rebinding.

use std::io::Cursor;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use specfact_telemetry::LocalLog;
use specfact_telemetry_report::{LiveReport, ReportOptions};
use tiny_http::{Header, Method, Request, Response, Server};

use super::report::{compare, html, log_path, options};
use crate::context::Context;

/// Recent events shown on the dashboard.
const RECENT_EVENTS: usize = 50;

/// Arguments of `view`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on, on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Do not open a browser; just print the address.
    #[arg(long)]
    pub no_open: bool,
    /// Read this log instead of the configured one.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Stop serving after this many seconds (for scripts and tests).
    #[arg(long, value_name = "SECONDS", hide = true)]
    pub stop_after: Option<u64>,
    /// Show your figures beside the community's: a specfact-telemetry-server's address or a
    /// saved copy of its /api/community.json (read once, at start).
    #[arg(long, value_name = "URL|FILE")]
    pub compare: Option<String>,
}

/// Runs `view` until interrupted (or `--stop-after`).
pub fn run(args: &Args, ctx: &Context) -> anyhow::Result<ExitCode> {
    let path = log_path(ctx, args.log.as_deref())?;
    let community = match &args.compare {
        Some(source) => Some(compare::load(source, compare::FETCH_TIMEOUT)?),
        None => None,
    };
    let server = Server::http(("127.0.0.1", args.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .context("the server has no IP address")?;
    let url = format!("http://127.0.0.1:{port}/");
    say(&format!("Dashboard: {url}"));
    say(&format!(
        "Serving figures from {} on 127.0.0.1 only. Press Ctrl-C to stop.",
        path.display()
    ));
    if !args.no_open {
        match open_browser(&url) {
            Ok(()) => say("Opening it in your browser."),
            Err(why) => say(&format!(
                "Not opening a browser ({why}); open the address above."
            )),
        }
    }
    let opts = ReportOptions {
        recent_events: RECENT_EVENTS,
        ..options(ctx)
    };
    let mut live = LiveReport::new(LocalLog::new(path), opts);
    let deadline = args
        .stop_after
        .map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let request = match deadline {
            None => server.recv().map(Some),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                server.recv_timeout(left)
            }
        }
        .context("the dashboard server stopped")?;
        if let Some(request) = request {
            // A client that hangs up early is no reason to stop serving.
            let _ = respond(request, &mut live, port, community.as_ref());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a line; a reader that went away (a script that only wanted the address) is
/// no reason to stop serving.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// Headers every answer carries.
fn common_headers(content_type: &str) -> Vec<Header> {
    [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ]
    .into_iter()
    .filter_map(|(n, v)| header(n, v))
    .collect()
}

fn answer(status: u16, content_type: &str, body: String) -> Response<Cursor<Vec<u8>>> {
    let mut r = Response::from_data(body.into_bytes()).with_status_code(status);
    for h in common_headers(content_type) {
        r.add_header(h);
    }
    r
}

/// Whether the request is addressed to this server by its loopback name.
fn host_allowed(request: &Request, port: u16) -> bool {
    let Some(host) = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_ascii_lowercase())
    else {
        return true;
    };
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

fn respond(
    request: Request,
    live: &mut LiveReport,
    port: u16,
    community: Option<&compare::Community>,
) -> std::io::Result<()> {
    const HTML: &str = "text/html; charset=utf-8";
    const JSON: &str = "application/json";
    if !host_allowed(&request, port) {
        let r = answer(403, "text/plain; charset=utf-8", "Forbidden host\n".into());
        return request.respond(r);
    }
    let head = *request.method() == Method::Head;
    if !matches!(request.method(), Method::Get | Method::Head) {
        let mut r = answer(
            405,
            "text/plain; charset=utf-8",
            "Method not allowed\n".into(),
        );
        if let Some(h) = header("Allow", "GET, HEAD") {
            r.add_header(h);
        }
        return request.respond(r);
    }
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    let response = match path.as_str() {
        "/" | "/api/report" => match live.refresh() {
            Err(e) => answer(500, JSON, json!({ "error": e.to_string() }).to_string()),
            Ok(_) => {
                let report = live.report();
                let compared = community.map(|c| compare::html(&report, c));
                if path == "/" {
                    let page = html::page(&report, true);
                    let page = match &compared {
                        Some(section) => compare::with_section(&page, section),
                        None => page,
                    };
                    answer(200, HTML, page)
                } else {
                    let mut sections = json!(html::sections(&report, true));
                    if let Some(section) = compared {
                        sections["compare"] = json!(section);
                    }
                    let body = json!({
                        "report": report,
                        "html": sections,
                    });
                    answer(200, JSON, body.to_string())
                }
            }
        },
        _ => answer(404, "text/plain; charset=utf-8", "Not found\n".into()),
    };
    if head {
        let status = response.status_code();
        let mut r = Response::empty(status);
        for h in response.headers() {
            r.add_header(h.clone());
        }
        return request.respond(r);
    }
    request.respond(response)
}

/// Opens `url` in the desktop's browser, if there is a desktop.
fn open_browser(url: &str) -> Result<(), String> {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        let display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        if !display {
            return Err("no display".to_owned());
        }
        ("xdg-open", vec![url])
    };
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    std::thread::spawn(move || child.wait());
    Ok(())
}
