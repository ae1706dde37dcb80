//! The host-facing API: a [`Telemetry`] handle and the [`CommandGuard`] that times one command.
//!
//! Disabled telemetry is a `None` inside the handle: tracking a command then
//! allocates nothing, touches no file and starts nothing. Enabled, finishing a
//! command sanitizes its metadata, builds one [`Event`], appends it to the local
//! log and hands over to delivery. No panic and no I/O error ever reaches the host.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::delivery::{Delivery, DeliveryOptions};
use crate::env::EnvSnapshot;
use crate::event::{Event, TELEMETRY_VERSION};
use crate::log::LocalLog;
use crate::sanitize::{Dropped, MachineIdentity, Sanitizer};
use crate::schema::Schema;
use crate::settings::Settings;
use crate::value::Value;

/// The longest duration a host may set with [`CommandGuard::set_duration`] (30 days, the
/// bound of the `duration_ms` field); longer ones are cut to it.
pub const MAX_GIVEN_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Prefix of every debug line written to stderr.
pub(crate) const DEBUG_PREFIX: &str = "specfact-telemetry:";

/// The telemetry handle a host creates once, at start-up.
///
/// Cheap to clone; clones share the session.
#[derive(Clone, Default)]
pub struct Telemetry {
    active: Option<Arc<Active>>,
}

struct Active {
    settings: Settings,
    schema: Schema,
    identity: MachineIdentity,
    session_id: String,
    cli_version: Option<String>,
    log: Option<LocalLog>,
    delivery: Delivery,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.active {
            None => f.write_str("Telemetry(disabled)"),
            Some(a) => f
                .debug_struct("Telemetry")
                .field("session_id", &a.session_id)
                .field("log", &a.log.as_ref().map(LocalLog::path))
                .finish_non_exhaustive(),
        }
    }
}

impl Telemetry {
    /// Resolves settings from the process environment and `$HOME` and builds the handle,
    /// with the default [`DeliveryOptions`]: no uploader command, so events are delivered
    /// by a background thread of this handle. A host that calls
    /// [`run_uploader_if_requested`](crate::delivery::run_uploader_if_requested) uses
    /// [`Telemetry::from_env_with`] to deliver from a detached process instead.
    ///
    /// `cli_version` is the host's own version (e.g. `env!("CARGO_PKG_VERSION")`).
    /// Never fails and never panics: any problem leaves telemetry disabled.
    pub fn from_env(cli_version: &str) -> Telemetry {
        Telemetry::from_env_with(cli_version, DeliveryOptions::default())
    }

    /// Like [`Telemetry::from_env`], with these delivery options.
    pub fn from_env_with(cli_version: &str, delivery: DeliveryOptions) -> Telemetry {
        catch_unwind(AssertUnwindSafe(|| {
            let env = EnvSnapshot::from_process();
            let home = env.home();
            let settings = Settings::resolve(&env, home.as_deref());
            Telemetry::builder(settings)
                .cli_version(cli_version)
                .delivery(delivery)
                .identity_from(&env)
                .build()
        }))
        .unwrap_or_default()
    }

    /// A handle that never records anything.
    pub fn disabled() -> Telemetry {
        Telemetry { active: None }
    }

    /// Starts building a handle from already-resolved settings (for hosts that resolve
    /// settings themselves, and for tests).
    pub fn builder(settings: Settings) -> TelemetryBuilder {
        TelemetryBuilder {
            settings,
            cli_version: None,
            schema: None,
            identity: None,
            delivery: DeliveryOptions::default(),
        }
    }

    /// In thread mode, sends every event this handle has queued now and waits up to
    /// `timeout` for it; returns whether everything was handed to the collector (or
    /// settled). `true` at once when there is nothing to wait for (disabled, process or
    /// manual mode). For long-running hosts before they exit.
    pub fn flush(&self, timeout: Duration) -> bool {
        match &self.active {
            Some(a) => a.delivery.flush(timeout),
            None => true,
        }
    }

    /// The delivery options of this handle (the defaults when disabled).
    pub fn delivery_options(&self) -> DeliveryOptions {
        self.active
            .as_deref()
            .map(|a| a.delivery.options().clone())
            .unwrap_or_default()
    }

    /// Whether this handle records events.
    pub fn is_enabled(&self) -> bool {
        self.active.is_some()
    }

    /// The settings in force, when enabled.
    pub fn settings(&self) -> Option<&Settings> {
        self.active.as_deref().map(|a| &a.settings)
    }

    /// This process's session identifier, when enabled.
    pub fn session_id(&self) -> Option<&str> {
        self.active.as_deref().map(|a| a.session_id.as_str())
    }

    /// Starts timing a command. `command` is a dotted identifier such as `import.from_code`;
    /// `initial` is metadata known up front (use [`metadata!`](crate::metadata) or `[]`).
    ///
    /// Finish the guard with [`CommandGuard::success`] or [`CommandGuard::failure`]; a guard
    /// dropped unfinished (an early return, a panic) records a failure.
    pub fn track_command<K, V, I>(&self, command: &str, initial: I) -> CommandGuard
    where
        K: AsRef<str>,
        V: Into<Value>,
        I: IntoIterator<Item = (K, V)>,
    {
        let Some(active) = &self.active else {
            return CommandGuard {
                active: None,
                pending: None,
            };
        };
        let mut pending = Pending {
            command: command.to_owned(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            timing: Timing::Measured,
            metadata: Vec::new(),
        };
        pending.extend(initial);
        CommandGuard {
            active: Some(Arc::clone(active)),
            pending: Some(pending),
        }
    }
}

/// Builds a [`Telemetry`] handle from resolved [`Settings`].
#[derive(Debug)]
pub struct TelemetryBuilder {
    settings: Settings,
    cli_version: Option<String>,
    schema: Option<Schema>,
    identity: Option<MachineIdentity>,
    delivery: DeliveryOptions,
}

impl TelemetryBuilder {
    /// How this handle delivers events to the configured endpoint (mode, encoding,
    /// retries, and the command the detached uploader runs). Defaults to
    /// [`DeliveryOptions::default`]: a background thread.
    pub fn delivery(mut self, options: DeliveryOptions) -> Self {
        self.delivery = options;
        self
    }

    /// The host's version, written into every event as `cli_version`.
    pub fn cli_version(mut self, version: &str) -> Self {
        self.cli_version = Some(version.to_owned());
        self
    }

    /// The schema of allowed fields; defaults to [`Schema::specfact`]. Use this to add
    /// host-specific typed fields with [`Schema::register`].
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The machine identity no string value may contain; defaults to one detected
    /// from the process environment when telemetry is enabled.
    pub fn identity(mut self, identity: MachineIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    fn identity_from(mut self, env: &EnvSnapshot) -> Self {
        if self.settings.enabled && self.identity.is_none() {
            let home = env.home();
            self.identity = Some(MachineIdentity::detect(env, home.as_deref()));
        }
        self
    }

    /// Builds the handle. Disabled settings give a handle that records nothing.
    pub fn build(self) -> Telemetry {
        let debug = self.settings.debug.value;
        if debug {
            for d in &self.settings.diagnostics {
                eprintln!("{DEBUG_PREFIX} {d}");
            }
        }
        if !self.settings.enabled {
            if debug {
                let why = self
                    .settings
                    .disabled_reason
                    .as_ref()
                    .map_or_else(|| "off".to_owned(), ToString::to_string);
                eprintln!("{DEBUG_PREFIX} disabled: {why}");
            }
            return Telemetry::disabled();
        }
        let schema = self.schema.unwrap_or_else(Schema::specfact);
        let identity = match self.identity {
            Some(id) => id,
            None => {
                let env = EnvSnapshot::from_process();
                let home = env.home();
                MachineIdentity::detect(&env, home.as_deref())
            }
        };
        let cli_version = self.cli_version.and_then(|v| {
            let checked = Sanitizer::new(&schema, &identity).cli_version(&v);
            if let (Err(reason), true) = (&checked, debug) {
                eprintln!("{DEBUG_PREFIX} cli_version not recorded: {reason}");
            }
            checked.ok()
        });
        let log = self.settings.local_path.value.clone().map(LocalLog::new);
        if debug {
            match &log {
                Some(l) => eprintln!("{DEBUG_PREFIX} enabled; logging to {}", l.path().display()),
                None => eprintln!(
                    "{DEBUG_PREFIX} enabled, but there is no local log path (no home directory and no local_path); nothing will be recorded"
                ),
            }
        }
        Telemetry {
            active: Some(Arc::new(Active {
                settings: self.settings,
                schema,
                identity,
                session_id: Uuid::new_v4().simple().to_string(),
                cli_version,
                log,
                delivery: Delivery::new(self.delivery),
            })),
        }
    }
}

struct Pending {
    command: String,
    started: Instant,
    started_at: SystemTime,
    timing: Timing,
    metadata: Vec<(String, Value)>,
}

/// Where an event's duration comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// The guard's own time from creation to finish.
    Measured,
    /// Given by the host (timed elsewhere).
    Given(Duration),
    /// Nobody timed the command: the event has no duration.
    Unknown,
}

impl Pending {
    fn extend<K, V, I>(&mut self, metadata: I)
    where
        K: AsRef<str>,
        V: Into<Value>,
        I: IntoIterator<Item = (K, V)>,
    {
        self.metadata.extend(
            metadata
                .into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.into())),
        );
    }
}

/// What finishing a command did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Telemetry is disabled; nothing was recorded.
    Disabled,
    /// The event was appended to the local log.
    Recorded(Box<Event>),
    /// Nothing was recorded, for this reason (also shown in debug mode).
    NotRecorded(String),
}

/// Times one command and records it when finished.
///
/// Created by [`Telemetry::track_command`]. Finishing consumes the guard; dropping it
/// unfinished records a failure (`error` = `Panic` while unwinding, `Unfinished` otherwise).
#[must_use = "finish the guard with .success() or .failure(..); dropping it records a failure"]
pub struct CommandGuard {
    active: Option<Arc<Active>>,
    pending: Option<Pending>,
}

impl fmt::Debug for CommandGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandGuard")
            .field("enabled", &self.active.is_some())
            .field("command", &self.pending.as_ref().map(|p| &p.command))
            .finish()
    }
}

impl CommandGuard {
    /// Whether this guard will record anything.
    pub fn is_enabled(&self) -> bool {
        self.active.is_some()
    }

    /// Adds metadata (later values for the same key replace earlier ones).
    pub fn record<K, V, I>(&mut self, metadata: I)
    where
        K: AsRef<str>,
        V: Into<Value>,
        I: IntoIterator<Item = (K, V)>,
    {
        if let Some(p) = &mut self.pending {
            p.extend(metadata);
        }
    }

    /// Adds one metadata field.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        if let Some(p) = &mut self.pending {
            p.metadata.push((key.to_owned(), value.into()));
        }
    }

    /// Uses this duration instead of the measured one (for commands timed elsewhere).
    /// The event's `timestamp` becomes "now minus the duration".
    pub fn set_duration(&mut self, duration: Duration) {
        if let Some(p) = &mut self.pending {
            p.timing = Timing::Given(duration);
        }
    }

    /// Records no duration: for a command that nobody timed (a script reporting what it
    /// did), whose guard's own run time would be an invented figure. The event has no
    /// `duration_ms` and its `timestamp` is when the guard was created.
    pub fn unknown_duration(&mut self) {
        if let Some(p) = &mut self.pending {
            p.timing = Timing::Unknown;
        }
    }

    /// Records the command as successful.
    pub fn success(mut self) -> Outcome {
        self.finish_with(true, None)
    }

    /// Records the command as failed with an error *type* name (`Exit`, `TimeoutError`,
    /// `io::NotFound`). A message instead of a type name is dropped; the failure is kept.
    pub fn failure(mut self, error_type: &str) -> Outcome {
        self.finish_with(false, Some(error_type.to_owned()))
    }

    /// Records the command as failed without an error type: it was stopped rather than
    /// failing with an error (an exit request, an interrupt from the user).
    pub fn stopped(mut self) -> Outcome {
        self.finish_with(false, None)
    }

    /// Records the command as failed, naming the error by its type (see [`error_type_name`]).
    pub fn failure_from<E: Any>(mut self, error: &E) -> Outcome {
        let name = error_type_name(error);
        self.finish_with(false, Some(name))
    }

    /// Records success for `Ok`, or failure named by the error's type for `Err`.
    pub fn finish<T, E: Any>(self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => self.success(),
            Err(e) => self.failure_from(e),
        }
    }

    fn finish_with(&mut self, success: bool, error: Option<String>) -> Outcome {
        let (Some(active), Some(pending)) = (self.active.take(), self.pending.take()) else {
            return Outcome::Disabled;
        };
        let debug = active.settings.debug.value;
        match catch_unwind(AssertUnwindSafe(|| {
            record(&active, pending, success, error.as_deref())
        })) {
            Ok(outcome) => outcome,
            Err(_) => {
                if debug {
                    eprintln!("{DEBUG_PREFIX} internal error while recording; event not recorded");
                }
                Outcome::NotRecorded("internal error".to_owned())
            }
        }
    }
}

impl Drop for CommandGuard {
    fn drop(&mut self) {
        if self.pending.is_some() {
            let error = if std::thread::panicking() {
                "Panic"
            } else {
                "Unfinished"
            };
            let _ = self.finish_with(false, Some(error.to_owned()));
        }
    }
}

/// The type name used for an error value: `io::<ErrorKind>` for [`std::io::Error`],
/// otherwise the last path segment of the type's name without generics
/// (`ParseIntError`, `Error`).
pub fn error_type_name<E: Any>(error: &E) -> String {
    if let Some(io) = (error as &dyn Any).downcast_ref::<std::io::Error>() {
        return format!("io::{:?}", io.kind());
    }
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

fn record(active: &Active, pending: Pending, success: bool, error: Option<&str>) -> Outcome {
    let debug = active.settings.debug.value;
    let sanitizer = Sanitizer::new(&active.schema, &active.identity);
    let say_dropped = |d: &Dropped| {
        if debug {
            eprintln!("{DEBUG_PREFIX} {d}");
        }
    };
    let command = match sanitizer.program_command(&pending.command) {
        Ok(c) => c,
        Err(reason) => {
            let why = format!("command name rejected ({reason}); event not recorded");
            if debug {
                eprintln!("{DEBUG_PREFIX} {why}");
            }
            return Outcome::NotRecorded(why);
        }
    };
    let error = error.and_then(|e| match sanitizer.error_type(e) {
        Ok(t) => Some(t),
        Err(reason) => {
            say_dropped(&Dropped {
                key: "error".to_owned(),
                reason,
            });
            None
        }
    });
    let sanitized = sanitizer.sanitize(pending.metadata.iter().map(|(k, v)| (k.as_str(), v)));
    sanitized.dropped.iter().for_each(say_dropped);

    let (duration, started_at) = match pending.timing {
        Timing::Given(d) => {
            // A duration given by the host is bounded like any duration field, so the
            // start time it implies is a real, recent time.
            let d = d.min(MAX_GIVEN_DURATION);
            let start = SystemTime::now()
                .checked_sub(d)
                .filter(|t| *t >= UNIX_EPOCH)
                .unwrap_or(pending.started_at);
            (Some(d), start)
        }
        Timing::Measured => (Some(pending.started.elapsed()), pending.started_at),
        Timing::Unknown => (None, pending.started_at),
    };
    let event = Event {
        command,
        success,
        error,
        duration_ms: duration.map(|d| round2(d.as_secs_f64() * 1000.0)),
        session_id: active.session_id.clone(),
        telemetry_version: Some(TELEMETRY_VERSION.to_owned()),
        cli_version: active.cli_version.clone(),
        opt_in_source: Some(active.settings.opt_in_source.as_str().to_owned()),
        timestamp: Some(started_at),
        event_id: Some(event_id_at(started_at)),
        fields: sanitized.fields,
    };
    let line = event.to_json_line();
    if debug {
        eprintln!("{DEBUG_PREFIX} event {line}");
    }
    let Some(log) = &active.log else {
        return Outcome::NotRecorded("no local log path".to_owned());
    };
    match log.append_line(&line) {
        Ok(appended) => {
            crate::hooks::after_append(&active.settings, &active.delivery, log, &appended);
            Outcome::Recorded(Box::new(event))
        }
        Err(e) => {
            if debug {
                eprintln!("{DEBUG_PREFIX} event not recorded: {e}");
            }
            Outcome::NotRecorded(e.to_string())
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn event_id_at(t: SystemTime) -> Uuid {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, since.as_secs(), since.subsec_nanos());
    Uuid::new_v7(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_names_are_types_not_messages() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "/home/ada/secret.txt");
        assert_eq!(error_type_name(&io), "io::NotFound");
        let parse = "x".parse::<i32>().unwrap_err();
        assert_eq!(error_type_name(&parse), "ParseIntError");
        assert_eq!(error_type_name(&Box::new(3u8)), "Box");
    }

    #[test]
    fn disabled_handle_gives_inert_guards() {
        let t = Telemetry::disabled();
        let mut g = t.track_command("plan.init", [("mode", "x")]);
        assert!(!g.is_enabled());
        g.set("files_analyzed", 3);
        assert_eq!(g.success(), Outcome::Disabled);
        assert_eq!(t.session_id(), None);
    }

    #[test]
    fn an_unknown_duration_is_absent_from_the_event_and_its_line() {
        let home = tempfile::tempdir().unwrap();
        let env = EnvSnapshot::from_pairs([("SPECFACT_TELEMETRY_OPT_IN", "true")]);
        let t = Telemetry::builder(Settings::resolve(&env, Some(home.path())))
            .identity(MachineIdentity::default())
            .build();
        let mut g = t.track_command("repro.run", [("mode", "x")]);
        g.unknown_duration();
        let Outcome::Recorded(e) = g.success() else {
            panic!("not recorded")
        };
        assert_eq!(e.duration_ms, None);
        assert!(e.timestamp.is_some());
        let line = e.to_json_line();
        assert!(!line.contains("duration_ms"), "{line}");
        assert_eq!(
            Event::from_json_line(line.as_bytes()).unwrap().duration_ms,
            None
        );
    }

    #[test]
    fn a_stopped_command_is_a_failure_without_an_error_type() {
        let home = tempfile::tempdir().unwrap();
        let env = EnvSnapshot::from_pairs([("SPECFACT_TELEMETRY_OPT_IN", "true")]);
        let t = Telemetry::builder(Settings::resolve(&env, Some(home.path())))
            .identity(MachineIdentity::default())
            .build();
        let Outcome::Recorded(e) = t.track_command("plan.init", crate::metadata!()).stopped()
        else {
            panic!("not recorded")
        };
        assert!(!e.success);
        assert_eq!(e.error, None);
    }

    #[test]
    fn an_absurd_given_duration_is_bounded_and_recorded() {
        let home = tempfile::tempdir().unwrap();
        let env = EnvSnapshot::from_pairs([("SPECFACT_TELEMETRY_OPT_IN", "true")]);
        let t = Telemetry::builder(Settings::resolve(&env, Some(home.path())))
            .identity(MachineIdentity::default())
            .build();
        let mut g = t.track_command("plan.init", crate::metadata!());
        g.set_duration(Duration::from_secs(60 * 365 * 24 * 3600));
        let Outcome::Recorded(e) = g.success() else {
            panic!("not recorded")
        };
        assert_eq!(
            e.duration_ms,
            Some(MAX_GIVEN_DURATION.as_secs_f64() * 1000.0)
        );
        assert!(e.timestamp.unwrap() > UNIX_EPOCH);
    }

    #[test]
    fn event_ids_are_v7_and_ordered_by_time() {
        let a = event_id_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let b = event_id_at(UNIX_EPOCH + Duration::from_secs(1_800_000_001));
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
        assert_eq!(round2(14.18999), 14.19);
    }
}
