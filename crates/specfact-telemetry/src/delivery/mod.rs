//! Delivery: every event in the local log reaches the configured OTLP collector,
//! and the host command never waits for the network.
//!
//! The local log is the spool. A cursor per (log, endpoint) records what the
//! collector acknowledged. After each append the host calls [`after_append`], which
//! notes the line and starts at most one uploader for the log, off the host's
//! critical path:
//!
//! - **process mode** (the default for hosts that call [`run_uploader_if_requested`]
//!   first thing in `main`): the host re-executes itself as a detached uploader
//!   (own session, standard streams on `/dev/null`), which sends what is pending and
//!   exits. The host hands its uploader lock to the child, so fifty processes
//!   finishing together start one uploader; the uploader re-checks the log after
//!   releasing the lock, so nothing appended meanwhile is stranded.
//! - **thread mode** (long-running hosts that cannot re-execute themselves): a
//!   background thread sends a batch when `batch_size` events are waiting or the
//!   oldest has waited `batch_timeout`; [`flush`] sends the rest on demand.
//!
//! Failures never reach the host: connection errors, 429, 502, 503 and 504 are
//! retried with exponential backoff and jitter (honouring `Retry-After`) for a
//! bounded time, then left for the next run; other 4xx answers reject the batch for
//! good (the events stay in the log); everything is recorded for [`state`]. Nothing
//! is printed unless `debug` is on, and credentials never appear in any message.
//!
//! Events logged before an endpoint was configured are not sent unless an export of
//! the whole log is asked for ([`export`] with [`Selection::All`]).

mod config;
mod cursor;
mod lock;

#[cfg(feature = "otlp")]
mod export;
#[cfg(feature = "otlp")]
mod http;
#[cfg(feature = "otlp")]
mod process;
#[cfg(feature = "otlp")]
mod thread;
#[cfg(feature = "otlp")]
mod uploader;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

pub use config::{
    Compression, DeliveryConfig, Protocol, RetryPolicy, STATE_DIR_NAME, redact_endpoint,
};
pub use cursor::event_identity;

use crate::log::{Appended, LocalLog};
use crate::settings::Settings;

/// Environment variable that carries an uploader job to the re-executed host.
pub const UPLOADER_JOB_VAR: &str = "SPECFACT_TELEMETRY_UPLOADER_JOB";
/// The single argument a re-executed host is started with.
pub const UPLOADER_ARG: &str = "--specfact-telemetry-uploader";

/// How uploads run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryMode {
    /// Process mode if the host called [`run_uploader_if_requested`] (so re-executing it
    /// is safe), thread mode otherwise.
    #[default]
    Auto,
    /// A detached uploader process per burst of events.
    Process,
    /// A background thread in this process.
    Thread,
    /// No automatic delivery: events wait in the log for [`export`].
    Manual,
}

/// Process-wide delivery options; the defaults suit most hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryOptions {
    /// How uploads run.
    pub mode: DeliveryMode,
    /// Request encoding.
    pub protocol: Protocol,
    /// Request compression.
    pub compression: Compression,
    /// Retry behaviour of one uploader run.
    pub retry: RetryPolicy,
    /// Arguments the re-executed host is started with instead of [`UPLOADER_ARG`], for
    /// hosts that parse arguments before they can call [`run_uploader_if_requested`]
    /// (e.g. a test harness that routes to the test calling it).
    pub uploader_args: Option<&'static [&'static str]>,
}

static OPTIONS: Mutex<Option<DeliveryOptions>> = Mutex::new(None);
static ENTRY_POINT_CALLED: AtomicBool = AtomicBool::new(false);

/// Sets the process-wide delivery options (call before the first event).
pub fn configure(options: DeliveryOptions) {
    if let Ok(mut o) = OPTIONS.lock() {
        *o = Some(options);
    }
}

/// The options in force.
pub fn options() -> DeliveryOptions {
    OPTIONS.lock().ok().and_then(|o| *o).unwrap_or_default()
}

#[cfg(feature = "otlp")]
fn effective_mode() -> DeliveryMode {
    match options().mode {
        DeliveryMode::Auto if ENTRY_POINT_CALLED.load(Ordering::Relaxed) => DeliveryMode::Process,
        DeliveryMode::Auto => DeliveryMode::Thread,
        m => m,
    }
}

/// The delivery configuration for `settings` with the process-wide options applied.
pub fn config_for(settings: &Settings) -> Option<DeliveryConfig> {
    let mut cfg = DeliveryConfig::from_settings(settings)?;
    let o = options();
    cfg.protocol = o.protocol;
    cfg.compression = o.compression;
    cfg.retry = o.retry;
    Some(cfg)
}

/// Writes one debug line to stderr when debug is on (credentials scrubbed).
pub(crate) fn debug(cfg: &DeliveryConfig, msg: &str) {
    if cfg.debug {
        eprintln!("specfact-telemetry: {}", cfg.scrub(msg));
    }
}

/// Called by the tracker after every successful append when an endpoint is set.
///
/// Records the line for this endpoint and starts (at most) one uploader, or wakes the
/// background thread. Never touches the network and never fails: problems are
/// recorded for [`state`] and shown in debug output.
pub fn after_append(settings: &Settings, log: &LocalLog, appended: &Appended) {
    let Some(mut cfg) = config_for(settings) else {
        return;
    };
    // The log the tracker appended to is the spool, whatever the settings say.
    cfg.log_path = log.path().to_owned();
    if let Err(e) = after_append_inner(&cfg, log, appended) {
        debug(&cfg, &format!("delivery not started: {e}"));
    }
}

fn after_append_inner(
    cfg: &DeliveryConfig,
    log: &LocalLog,
    appended: &Appended,
) -> std::io::Result<()> {
    crate::log::create_private_dir(&cfg.state_dir).map_err(std::io::Error::other)?;
    let files = cfg.files();
    let refusal = cfg.refusal();
    let file = std::fs::metadata(log.path())
        .ok()
        .and_then(|m| cursor::FileId::of(&m));
    let retry_not_before = cursor::update(&files, |slot| {
        match slot {
            None => {
                *slot = Some(cursor::CursorFile::enrol(
                    cfg.endpoint_display(),
                    log.path(),
                    file,
                    appended.offset,
                ));
                if let Some(c) = slot.as_mut() {
                    c.note_event_time(cursor::event_time_at(log, appended.offset));
                }
            }
            Some(c) => {
                if c.note_append(file, appended.offset) {
                    c.note_event_time(cursor::event_time_at(log, appended.offset));
                }
            }
        }
        let c = slot.as_mut()?;
        if let Some(why) = &refusal {
            let already = c
                .stats
                .last_error
                .as_ref()
                .is_some_and(|e| e.kind == "refused" && &e.message == why);
            if !already {
                c.record_error("refused", None, why.clone());
            }
        }
        cursor::parse_time(&c.stats.retry_not_before)
    })?;
    if let Some(why) = refusal {
        debug(cfg, &why);
        return Ok(());
    }
    if retry_not_before.is_some_and(|t| t > SystemTime::now()) {
        debug(
            cfg,
            "the collector asked to wait (Retry-After); events stay queued in the log",
        );
        return Ok(());
    }
    start_upload(cfg, appended.offset)
}

#[cfg(feature = "otlp")]
fn start_upload(cfg: &DeliveryConfig, enrol_at: u64) -> std::io::Result<()> {
    match effective_mode() {
        DeliveryMode::Process => process::start(cfg, enrol_at),
        DeliveryMode::Thread => {
            thread::notify(cfg, enrol_at);
            Ok(())
        }
        DeliveryMode::Manual | DeliveryMode::Auto => Ok(()),
    }
}

#[cfg(not(feature = "otlp"))]
fn start_upload(cfg: &DeliveryConfig, _enrol_at: u64) -> std::io::Result<()> {
    debug(
        cfg,
        "built without the `otlp` feature: events stay in the local log",
    );
    Ok(())
}

/// The uploader entry point: call it first thing in the host's `main`.
///
/// In a process started as an uploader (by [`after_append`]) it sends what is pending
/// and exits the process; everywhere else it returns at once, and tells delivery that
/// this host can be re-executed, so uploads run in a detached process.
pub fn run_uploader_if_requested() {
    ENTRY_POINT_CALLED.store(true, Ordering::Relaxed);
    // Only `after_append` sets the job variable, on the child it starts.
    if std::env::var_os(UPLOADER_JOB_VAR).is_none() {
        return;
    }
    #[cfg(feature = "otlp")]
    let code = process::run_child();
    #[cfg(not(feature = "otlp"))]
    let code = 0;
    std::process::exit(code)
}

/// In thread mode, sends every pending event now and waits up to `timeout` for it.
/// Returns whether the background thread finished. A no-op in process mode.
pub fn flush(timeout: Duration) -> bool {
    #[cfg(feature = "otlp")]
    {
        thread::flush(timeout)
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = timeout;
        true
    }
}

/// A recorded delivery error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryErrorRecord {
    /// When it happened.
    pub at: Option<SystemTime>,
    /// `transient` (retried, then left for the next run), `rejected` (a 4xx: the batch is
    /// not retried), `config` (endpoint or credentials), `server` (a 5xx not to retry),
    /// or `refused` (credentials over plain http).
    pub kind: String,
    /// The HTTP status, when the collector answered.
    pub status: Option<u16>,
    /// What went wrong; never holds a credential.
    pub message: String,
}

/// What `status` shows about delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// The endpoint, redacted; `None` when delivery is off (local only).
    pub endpoint: Option<String>,
    /// Why nothing is sent, when the configuration forbids it.
    pub refused: Option<String>,
    /// Whether any event was ever queued for this endpoint.
    pub enrolled: bool,
    /// Events waiting to be sent.
    pub pending: u64,
    /// Last time a request was made.
    pub last_attempt: Option<SystemTime>,
    /// Last time a request was acknowledged.
    pub last_success: Option<SystemTime>,
    /// The most recent error since the last success.
    pub last_error: Option<DeliveryErrorRecord>,
    /// Spans acknowledged so far.
    pub sent_spans: u64,
    /// Spans whose batch the collector rejected with a 4xx (still in the log).
    pub rejected_spans: u64,
    /// Spans the collector reported rejected in partial-success answers.
    pub partial_rejected_spans: u64,
    /// The collector's last partial-success message.
    pub last_partial_message: Option<String>,
    /// When the collector asked to be left alone until (`Retry-After`).
    pub retry_not_before: Option<SystemTime>,
    /// How often the log was found replaced or truncated.
    pub log_resets: u64,
    /// Whether an uploader is working on this log right now.
    pub uploader_running: bool,
    /// The cursor/state file.
    pub state_file: Option<PathBuf>,
}

/// The directory holding delivery state (cursors and locks) for `settings`' log,
/// whether or not an endpoint is configured now; `None` without a log path.
pub fn state_dir(settings: &Settings) -> Option<PathBuf> {
    let log = settings.local_path.value.as_deref()?;
    Some(config::state_dir_for(settings.config_dir.as_deref(), log))
}

/// The delivery state for `settings`' endpoint and log. Reads files only.
pub fn state(settings: &Settings) -> DeliveryState {
    let Some(cfg) = config_for(settings) else {
        return DeliveryState::default();
    };
    let files = cfg.files();
    let log = LocalLog::new(&cfg.log_path);
    let mut st = DeliveryState {
        endpoint: Some(cfg.endpoint_display()),
        refused: cfg.refusal(),
        uploader_running: lock::is_held(&files.uploader_lock),
        state_file: Some(files.cursor.clone()),
        ..DeliveryState::default()
    };
    if let Some(c) = cursor::load(&files.cursor) {
        st.enrolled = true;
        st.pending = cursor::pending_events(&c, &log).unwrap_or(0);
        let s = &c.stats;
        st.last_attempt = cursor::parse_time(&s.last_attempt);
        st.last_success = cursor::parse_time(&s.last_success);
        st.last_error = s.last_error.as_ref().map(|e| DeliveryErrorRecord {
            at: crate::event::parse_timestamp(&e.at),
            kind: e.kind.clone(),
            status: e.status,
            message: cfg.scrub(&e.message),
        });
        st.sent_spans = s.sent_spans;
        st.rejected_spans = s.rejected_spans;
        st.partial_rejected_spans = s.partial_rejected_spans;
        st.last_partial_message = s.last_partial_message.clone();
        st.retry_not_before = cursor::parse_time(&s.retry_not_before);
        st.log_resets = s.log_resets;
    }
    st
}

/// Which events an [`export`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// What automatic delivery has not sent yet (moves the cursor).
    #[default]
    Pending,
    /// Every event in the log, including those logged before the endpoint was configured.
    All,
    /// Events whose `timestamp` is at or after this time (events without one are left out).
    Since(SystemTime),
}

/// An on-demand export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportRequest {
    /// Which events.
    pub selection: Selection,
    /// Build the requests without sending them; the summary holds each as OTLP/JSON.
    pub dry_run: bool,
    /// Request encoding (the dry run always shows OTLP/JSON).
    pub protocol: Protocol,
    /// Request compression.
    pub compression: Compression,
}

/// Progress of an export, reported after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportProgress {
    /// Events acknowledged so far (built, in a dry run).
    pub sent: u64,
    /// Events rejected so far.
    pub rejected: u64,
    /// Events selected, when known.
    pub total: Option<u64>,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// The endpoint, redacted.
    pub endpoint: String,
    /// Events selected.
    pub selected: u64,
    /// Events acknowledged (in a dry run: put in a request).
    pub sent: u64,
    /// Events in batches the collector rejected for good (a 4xx); they stay in the log.
    pub rejected: u64,
    /// Events the collector reported rejected in partial-success answers.
    pub partially_rejected: u64,
    /// Events not sent because delivery stopped (collector down, bad credentials, …).
    pub unsent: u64,
    /// Malformed log lines skipped.
    pub skipped_malformed: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Dry run: each request, as OTLP/JSON.
    pub payloads: Vec<String>,
    /// What failed and why, in order; never holds a credential.
    pub errors: Vec<String>,
}

/// Why an export could not run.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No endpoint is configured.
    #[error(
        "no OTLP endpoint is configured (set `endpoint` in telemetry.yaml or SPECFACT_TELEMETRY_ENDPOINT)"
    )]
    NoEndpoint,
    /// The local log path is unknown.
    #[error(
        "the local log path is unknown (no home directory and no SPECFACT_TELEMETRY_LOCAL_PATH)"
    )]
    NoLocalLog,
    /// The configuration forbids sending.
    #[error("{0}")]
    Refused(String),
    /// Another uploader kept the log busy.
    #[error("another upload to this endpoint is running; try again when it has finished")]
    Busy,
    /// Reading the log or the state failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The library was built without the `otlp` feature.
    #[error("this build has no OTLP support (the `otlp` feature is off)")]
    NotCompiled,
}

/// Sends (or, as a dry run, builds) the selected events now, in the foreground.
///
/// `progress` is called after every batch. Waits for a running uploader of the same
/// log and endpoint to finish (up to twice the export timeout) rather than race it.
pub fn export(
    settings: &Settings,
    request: &ExportRequest,
    progress: &mut dyn FnMut(&ExportProgress),
) -> Result<ExportSummary, DeliveryError> {
    if settings.endpoint.value.is_none() {
        return Err(DeliveryError::NoEndpoint);
    }
    let Some(mut cfg) = config_for(settings) else {
        return Err(DeliveryError::NoLocalLog);
    };
    cfg.protocol = request.protocol;
    cfg.compression = request.compression;
    #[cfg(feature = "otlp")]
    {
        export::run(&cfg, request, progress)
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = (cfg, progress);
        Err(DeliveryError::NotCompiled)
    }
}
