//! Delivery: every event in the local log reaches the configured OTLP collector,
//! and the host command never waits for the network.
//!
//! The local log is the spool. A cursor per (log, endpoint) records what the
//! collector acknowledged. Each [`Telemetry`](crate::Telemetry) handle owns a
//! [`Delivery`] configured by its [`DeliveryOptions`]; after each append it notes the
//! line and starts at most one uploader for the log, off the host's critical path:
//!
//! - **process mode** (what [`DeliveryMode::Auto`] means when the options name an
//!   [`UploaderCommand`], e.g. the one [`run_uploader_if_requested`] returns): the
//!   handle starts that command as a detached uploader (own session, standard
//!   streams on `/dev/null`, debug lines to `uploader.log` beside the delivery
//!   state), which sends what is pending and exits. The host hands its uploader lock
//!   to the child, so fifty processes finishing together start one uploader; the
//!   uploader re-checks the log after releasing the lock, so nothing appended
//!   meanwhile is stranded.
//! - **thread mode** (no uploader command, or [`DeliveryMode::Thread`]): a background
//!   thread owned by the handle sends a batch when `batch_size` events are waiting or
//!   the oldest has waited `batch_timeout`; [`Delivery::flush`] (or
//!   [`Telemetry::flush`](crate::Telemetry::flush)) sends the rest on demand. Dropping
//!   the last clone of the handle stops the thread once it has sent what was noted.
//!
//! No state is shared between handles except the files on disk, so two handles in
//! one process can use different settings, endpoints and modes.
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
mod uploader_log;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use config::{
    Compression, DeliveryConfig, Protocol, RetryPolicy, STATE_DIR_NAME, redact_endpoint,
};
pub use cursor::event_identity;

use crate::log::{Appended, LocalLog};
use crate::settings::Settings;

/// Environment variable that carries an uploader job to the uploader process.
pub const UPLOADER_JOB_VAR: &str = "SPECFACT_TELEMETRY_UPLOADER_JOB";
/// The argument [`UploaderCommand::current_exe`] starts the host's executable with.
pub const UPLOADER_ARG: &str = "--specfact-telemetry-uploader";

/// How uploads run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliveryMode {
    /// Process mode when [`DeliveryOptions::uploader`] names a command, thread mode
    /// otherwise.
    #[default]
    Auto,
    /// A detached uploader process per burst of events (needs
    /// [`DeliveryOptions::uploader`]; without one, events wait in the log).
    Process,
    /// A background thread owned by the [`Telemetry`](crate::Telemetry) handle.
    Thread,
    /// No automatic delivery: events wait in the log for [`export`].
    Manual,
}

/// The program (and its arguments) the detached uploader process runs.
///
/// The started program must call [`run_uploader_if_requested`] before anything else:
/// it finds its job in [`UPLOADER_JOB_VAR`], delivers and exits. A host written in
/// Rust names itself ([`UploaderCommand::current_exe`], which is what
/// [`run_uploader_if_requested`] returns); a host that is an interpreter names a
/// program that is safe to start, such as the `specfact-telemetry` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploaderCommand {
    /// The executable to start.
    pub program: PathBuf,
    /// Its arguments (not including the program name).
    pub args: Vec<OsString>,
}

impl UploaderCommand {
    /// A command that starts `program` with `args`.
    pub fn new<P, I, A>(program: P, args: I) -> UploaderCommand
    where
        P: Into<PathBuf>,
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        UploaderCommand {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// This process's own executable with [`UPLOADER_ARG`]: right for a host whose
    /// `main` calls [`run_uploader_if_requested`] first thing.
    pub fn current_exe() -> std::io::Result<UploaderCommand> {
        Ok(UploaderCommand::new(
            std::env::current_exe()?,
            [UPLOADER_ARG],
        ))
    }
}

/// How a [`Telemetry`](crate::Telemetry) handle delivers; set with
/// [`TelemetryBuilder::delivery`](crate::TelemetryBuilder::delivery). Each handle has
/// its own: two handles in one process may deliver differently.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryOptions {
    /// How uploads run.
    pub mode: DeliveryMode,
    /// Request encoding.
    pub protocol: Protocol,
    /// Request compression.
    pub compression: Compression,
    /// Retry behaviour of one uploader run.
    pub retry: RetryPolicy,
    /// What the detached uploader process runs. `None`: no uploader process can be
    /// started, so [`DeliveryMode::Auto`] means a background thread.
    pub uploader: Option<UploaderCommand>,
}

impl DeliveryOptions {
    /// The mode [`DeliveryMode::Auto`] stands for with these options.
    pub fn effective_mode(&self) -> DeliveryMode {
        match self.mode {
            DeliveryMode::Auto if self.uploader.is_some() => DeliveryMode::Process,
            DeliveryMode::Auto => DeliveryMode::Thread,
            m => m,
        }
    }
}

/// The delivery configuration for `settings` with `options` applied.
pub fn config_for(settings: &Settings, options: &DeliveryOptions) -> Option<DeliveryConfig> {
    let mut cfg = DeliveryConfig::from_settings(settings)?;
    cfg.protocol = options.protocol;
    cfg.compression = options.compression;
    cfg.retry = options.retry;
    Some(cfg)
}

/// Writes one debug line to stderr when debug is on (credentials scrubbed).
pub(crate) fn debug(cfg: &DeliveryConfig, msg: &str) {
    if cfg.debug {
        eprintln!("specfact-telemetry: {}", cfg.scrub(msg));
    }
}

/// The delivery machinery of one [`Telemetry`](crate::Telemetry) handle: its options,
/// its background thread (started on first use, stopped when the handle is dropped)
/// and the uploader processes it started.
#[derive(Debug, Default)]
pub struct Delivery {
    options: DeliveryOptions,
    #[cfg(feature = "otlp")]
    worker: std::sync::OnceLock<Option<thread::Worker>>,
    #[cfg(feature = "otlp")]
    children: process::Children,
}

impl Delivery {
    /// Delivery with these options; starts nothing.
    #[cfg_attr(not(feature = "otlp"), allow(clippy::needless_update))]
    pub fn new(options: DeliveryOptions) -> Delivery {
        Delivery {
            options,
            ..Delivery::default()
        }
    }

    /// The options in force.
    pub fn options(&self) -> &DeliveryOptions {
        &self.options
    }

    /// Called after every successful append when an endpoint is set.
    ///
    /// Records the line for this endpoint and starts (at most) one uploader, or wakes the
    /// background thread. Never touches the network and never fails: problems are
    /// recorded for [`state`] and shown in debug output.
    pub fn after_append(&self, settings: &Settings, log: &LocalLog, appended: &Appended) {
        let Some(mut cfg) = config_for(settings, &self.options) else {
            return;
        };
        // The log the tracker appended to is the spool, whatever the settings say.
        cfg.log_path = log.path().to_owned();
        if let Err(e) = self.after_append_inner(&cfg, log, appended) {
            debug(&cfg, &format!("delivery not started: {e}"));
        }
    }

    /// In thread mode, sends every pending event now and waits up to `timeout` for it.
    /// Returns whether the background thread finished. `true` at once when this handle
    /// has no background thread (process or manual mode, or nothing recorded yet).
    pub fn flush(&self, timeout: Duration) -> bool {
        #[cfg(feature = "otlp")]
        {
            match self.worker.get() {
                Some(Some(w)) => w.flush(timeout),
                _ => true,
            }
        }
        #[cfg(not(feature = "otlp"))]
        {
            let _ = timeout;
            true
        }
    }

    fn after_append_inner(
        &self,
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
        self.start_upload(cfg, appended.offset)
    }

    #[cfg(feature = "otlp")]
    fn start_upload(&self, cfg: &DeliveryConfig, enrol_at: u64) -> std::io::Result<()> {
        match self.options.effective_mode() {
            DeliveryMode::Process => match &self.options.uploader {
                Some(command) => process::start(cfg, enrol_at, command, &self.children),
                None => {
                    debug(
                        cfg,
                        "process mode without an uploader command: events stay in the log",
                    );
                    Ok(())
                }
            },
            DeliveryMode::Thread => {
                if let Some(w) = self.worker.get_or_init(thread::Worker::start) {
                    w.notify(cfg, enrol_at);
                }
                Ok(())
            }
            DeliveryMode::Manual | DeliveryMode::Auto => Ok(()),
        }
    }

    #[cfg(not(feature = "otlp"))]
    fn start_upload(&self, cfg: &DeliveryConfig, _enrol_at: u64) -> std::io::Result<()> {
        debug(
            cfg,
            "built without the `otlp` feature: events stay in the local log",
        );
        Ok(())
    }
}

/// The uploader entry point: call it first thing in the host's `main`.
///
/// In a process started as an uploader (by a handle in process mode) it sends what is
/// pending and exits the process. Everywhere else it returns at once, with the
/// command that starts this executable as the uploader — hand it to the handle
/// ([`DeliveryOptions::uploader`]) so uploads run in a detached process:
///
/// ```no_run
/// use specfact_telemetry::Telemetry;
/// use specfact_telemetry::delivery::{self, DeliveryOptions};
///
/// let uploader = delivery::run_uploader_if_requested();
/// let telemetry = Telemetry::from_env_with("1.2.3", DeliveryOptions { uploader, ..DeliveryOptions::default() });
/// ```
///
/// `None` when the path of this executable cannot be found (then delivery runs in a
/// thread).
#[must_use = "pass it to DeliveryOptions::uploader, or uploads run in a thread of this process"]
pub fn run_uploader_if_requested() -> Option<UploaderCommand> {
    // Only a handle in process mode sets the job variable, on the child it starts.
    if std::env::var_os(UPLOADER_JOB_VAR).is_some() {
        #[cfg(feature = "otlp")]
        let code = process::run_child();
        #[cfg(not(feature = "otlp"))]
        let code = 0;
        std::process::exit(code)
    }
    UploaderCommand::current_exe().ok()
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
    /// The latest line the detached uploader wrote in debug mode (credentials
    /// scrubbed), and when its log was last written.
    pub uploader_said: Option<(String, Option<SystemTime>)>,
    /// The detached uploader's debug log (`<key>.uploader.log` beside the state file).
    pub uploader_log: Option<PathBuf>,
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
    let Some(cfg) = DeliveryConfig::from_settings(settings) else {
        return DeliveryState::default();
    };
    let files = cfg.files();
    let log = LocalLog::new(&cfg.log_path);
    let mut st = DeliveryState {
        endpoint: Some(cfg.endpoint_display()),
        refused: cfg.refusal(),
        uploader_running: lock::is_held(&files.uploader_lock),
        uploader_said: uploader_log::latest(&files.uploader_log)
            .map(|(line, at)| (cfg.scrub(&line), at)),
        uploader_log: Some(files.uploader_log.clone()),
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
    /// Retry behaviour.
    pub retry: RetryPolicy,
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
    let options = DeliveryOptions {
        protocol: request.protocol,
        compression: request.compression,
        retry: request.retry,
        ..DeliveryOptions::default()
    };
    let Some(cfg) = config_for(settings, &options) else {
        return Err(DeliveryError::NoLocalLog);
    };
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
