//! Opting in and out, and deleting what was recorded: the operations behind a host's
//! own `telemetry on`/`off`/`purge` commands and behind `specfact-telemetry enable`,
//! `disable` and `purge`.
//!
//! Every operation takes the [`Settings`] resolved for the user (they name the files) and
//! returns a typed result saying what it did, or a typed [`OptInError`]; nothing is
//! printed. Settings stay a pure function of an environment snapshot: after an operation
//! the caller resolves them again to see the effect, environment included.
//!
//! - [`enable_locally`] writes `~/.specfact/telemetry.opt-in` (0600).
//! - [`enable_with_endpoint`] sets `enabled: true`, `endpoint:` and `headers:` in
//!   `~/.specfact/telemetry.yaml`, written atomically with mode 0600, every other key and
//!   comment kept.
//! - [`disable`] leaves neither file enabling: it removes the opt-in file and sets
//!   `enabled: false` in `telemetry.yaml` when there is one.
//! - [`plan_purge`] and [`purge`] delete the log and the delivery state. Only a regular
//!   file is ever deleted: a device, a FIFO or a directory in place of the log is left
//!   alone and said so, a symbolic link is refused (removing it would leave the events
//!   in its target), and nothing is opened in a way that blocks.
//!
//! ```
//! use specfact_telemetry::{EnvSnapshot, Settings, optin};
//!
//! let home = tempfile::tempdir()?;
//! let env = EnvSnapshot::empty();
//! let settings = Settings::resolve(&env, Some(home.path()));
//! let written = optin::enable_locally(&settings)?;
//! assert!(written.files.opt_in_says.enables());
//! assert!(Settings::resolve(&env, Some(home.path())).enabled);
//!
//! let done = optin::disable(&Settings::resolve(&env, Some(home.path())))?;
//! assert!(done.files.is_some_and(|f| !f.any_enables()));
//! assert!(!Settings::resolve(&env, Some(home.path())).enabled);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::log::{LocalLog, LogError, non_regular_kind, open_regular_for_reading};
use crate::private_file::write_private;
use crate::settings::{
    CONFIG_FILE, EndpointError, HeaderError, OPT_IN_FILE, OptInFiles, Settings, parse_header,
    validate_endpoint,
};

mod yaml_edit;

use yaml_edit::{quote, set_top_level};

/// Why an opt-in operation could not be done. Messages never contain a header value or
/// an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum OptInError {
    /// There is no home directory, so there is no `~/.specfact` to keep files in.
    #[error("there is no home directory (HOME is not set), so there is nowhere to keep the opt-in")]
    NoHomeDirectory,
    /// There is no local log: no home directory and no `local_path`.
    #[error("there is no local log: the home directory is unknown and no local_path is configured")]
    NoLog,
    /// The endpoint cannot be used.
    #[error("--endpoint {0}")]
    Endpoint(#[from] EndpointError),
    /// A header cannot be used (its 1-based position among the headers given).
    #[error("--header number {position} {problem}")]
    Header {
        /// 1-based position.
        position: usize,
        /// What is wrong.
        problem: HeaderError,
    },
    /// Headers were given, but no endpoint, neither now nor in the configuration.
    #[error("--header needs an endpoint: pass --endpoint URL as well")]
    HeaderNeedsEndpoint,
    /// A file to edit is not UTF-8 text.
    #[error("{} is not UTF-8 text; fix or remove it first", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// Something other than a regular file is where a file should be edited or removed.
    #[error("{} is {kind}, not a regular file; it was left alone", path.display())]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// The log could not be read, or was refused ([`LogError::Symlink`]).
    #[error(transparent)]
    Log(#[from] LogError),
    /// Reading, writing or deleting a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`write`, `read`, `delete`).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl OptInError {
    /// Whether the error is in what the caller asked for (a bad endpoint or header),
    /// rather than in the machine's state: a command line reports it as a usage error.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OptInError::Endpoint(_) | OptInError::Header { .. } | OptInError::HeaderNeedsEndpoint
        )
    }
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> OptInError + 'p {
    move |source| OptInError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// What an enable wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file written.
    pub path: PathBuf,
    /// Both files and what each says now.
    pub files: OptInFiles,
}

/// Opts in to local recording: writes `true` to `~/.specfact/telemetry.opt-in` (0600).
pub fn enable_locally(settings: &Settings) -> Result<Written, OptInError> {
    let dir = settings
        .config_dir
        .as_deref()
        .ok_or(OptInError::NoHomeDirectory)?;
    let path = dir.join(OPT_IN_FILE);
    let target = write_target(&path);
    refuse_non_regular(&target)?;
    write_private(&target, b"true\n").map_err(io_error("write", &target))?;
    Ok(Written {
        path,
        files: OptInFiles::read(dir),
    })
}

/// Parses `Name: Value` headers as a command line gives them, each checked like the
/// configuration's; the error names the header by position, never by its text.
pub fn parse_headers<S: AsRef<str>>(raw: &[S]) -> Result<Vec<(String, String)>, OptInError> {
    raw.iter()
        .enumerate()
        .map(|(i, h)| {
            parse_header(h.as_ref()).map_err(|problem| OptInError::Header {
                position: i + 1,
                problem,
            })
        })
        .collect()
}

/// Opts in with a collector: sets `enabled: true`, and `endpoint` and `headers` when
/// given, in `~/.specfact/telemetry.yaml`, written atomically with mode 0600. Every other
/// key and comment is kept. Given headers replace the configured ones; without an
/// `endpoint`, headers need one already configured.
pub fn enable_with_endpoint(
    settings: &Settings,
    endpoint: Option<&str>,
    headers: &[(String, String)],
) -> Result<Written, OptInError> {
    if let Some(endpoint) = endpoint {
        validate_endpoint(endpoint.trim())?;
    } else if !headers.is_empty() && settings.endpoint.value.is_none() {
        return Err(OptInError::HeaderNeedsEndpoint);
    }
    let dir = settings
        .config_dir
        .as_deref()
        .ok_or(OptInError::NoHomeDirectory)?;
    let path = dir.join(CONFIG_FILE);
    let mut text = read_text(&path)?.unwrap_or_default();
    if let Some(endpoint) = endpoint {
        text = set_top_level(&text, "endpoint", &quote(endpoint.trim()), &[]);
    }
    if !headers.is_empty() {
        let block: Vec<String> = headers
            .iter()
            .map(|(name, value)| format!("{}: {}", quote(name), quote(value)))
            .collect();
        text = set_top_level(&text, "headers", "", &block);
    }
    text = set_top_level(&text, "enabled", "true", &[]);
    let target = write_target(&path);
    write_private(&target, text.as_bytes()).map_err(io_error("write", &target))?;
    Ok(Written {
        path,
        files: OptInFiles::read(dir),
    })
}

/// What [`disable`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// The opt-in file, if it was removed.
    pub removed_opt_in: Option<PathBuf>,
    /// `telemetry.yaml`, if `enabled: false` was written to it.
    pub config_set_false: Option<PathBuf>,
    /// Both files and what each says now (neither enables).
    pub files: Option<OptInFiles>,
}

/// Opts out: removes `~/.specfact/telemetry.opt-in` and sets `enabled: false` in
/// `telemetry.yaml` when that file exists, so that neither file enables. Variables are
/// the caller's to report: an environment that opts in still does.
pub fn disable(settings: &Settings) -> Result<Disabled, OptInError> {
    let mut done = Disabled {
        removed_opt_in: None,
        config_set_false: None,
        files: None,
    };
    let Some(dir) = settings.config_dir.as_deref() else {
        return Ok(done);
    };
    let opt_in = dir.join(OPT_IN_FILE);
    if let Ok(meta) = fs::symlink_metadata(&opt_in) {
        // A link is removed itself (that is what stops it enabling); anything else
        // that is not a regular file is left alone.
        if !meta.file_type().is_symlink()
            && let Some(kind) = non_regular_kind(&meta)
        {
            return Err(OptInError::NotARegularFile { path: opt_in, kind });
        }
        match fs::remove_file(&opt_in) {
            Ok(()) => done.removed_opt_in = Some(opt_in),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", &opt_in)(e)),
        }
    }
    let config = dir.join(CONFIG_FILE);
    if let Some(text) = read_text(&config)? {
        let edited = set_top_level(&text, "enabled", "false", &[]);
        let target = write_target(&config);
        write_private(&target, edited.as_bytes()).map_err(io_error("write", &target))?;
        done.config_set_false = Some(config);
    }
    done.files = Some(OptInFiles::read(dir));
    Ok(done)
}

/// What is at the log's path, as [`plan_purge`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFound {
    /// Nothing.
    Absent,
    /// The log, a regular file.
    Log {
        /// Events in it.
        events: u64,
        /// Its size in bytes.
        bytes: u64,
    },
    /// Something that is not a regular file (what it is); it is never deleted.
    NotARegularFile(&'static str),
    /// A symbolic link (to where); a purge refuses it.
    Symlink(PathBuf),
}

/// What a purge would delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgePlan {
    /// The log's path.
    pub log_path: PathBuf,
    /// What is there.
    pub log: LogFound,
    /// Delivery state that exists (a directory beside the log).
    pub state: Vec<PathBuf>,
}

impl PurgePlan {
    /// Whether there is anything to delete.
    pub fn is_empty(&self) -> bool {
        !matches!(self.log, LogFound::Log { .. }) && self.state.is_empty()
    }
}

/// Looks at what a purge would delete, without deleting anything or blocking.
pub fn plan_purge(settings: &Settings) -> Result<PurgePlan, OptInError> {
    let log_path = settings.local_path.value.clone().ok_or(OptInError::NoLog)?;
    let log = match fs::symlink_metadata(&log_path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => LogFound::Absent,
        Err(e) => return Err(io_error("inspect", &log_path)(e)),
        Ok(meta) if meta.file_type().is_symlink() => {
            LogFound::Symlink(fs::read_link(&log_path).unwrap_or_default())
        }
        Ok(meta) => match non_regular_kind(&meta) {
            Some(kind) => LogFound::NotARegularFile(kind),
            None => {
                let stats = LocalLog::new(&log_path).stats()?;
                LogFound::Log {
                    events: stats.events,
                    bytes: stats.bytes,
                }
            }
        },
    };
    let state = crate::delivery::state_dir(settings)
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    Ok(PurgePlan {
        log_path,
        log,
        state,
    })
}

/// What [`purge`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// The plan it carried out.
    pub plan: PurgePlan,
    /// Whether the log was deleted (false when there was none, or it was not a regular
    /// file and was left alone).
    pub log_deleted: bool,
    /// Delivery state deleted.
    pub state_deleted: Vec<PathBuf>,
}

/// Deletes the log and the delivery state, and `~/.specfact` itself if that leaves it
/// empty.
///
/// A symbolic link in place of the log is refused with [`LogError::Symlink`] and nothing
/// is deleted: the events are in its target, and removing the link would only hide them.
/// Anything else that is not a regular file (a device such as a copy of `/dev/null`, a
/// FIFO, a directory) is left alone, reported in the plan, and the delivery state is
/// still deleted.
pub fn purge(settings: &Settings) -> Result<Purged, OptInError> {
    let plan = plan_purge(settings)?;
    let log = LocalLog::new(&plan.log_path);
    let log_deleted = match &plan.log {
        LogFound::Symlink(target) => {
            return Err(OptInError::Log(LogError::Symlink {
                path: plan.log_path.clone(),
                target: target.clone(),
            }));
        }
        LogFound::Log { .. } => log.delete()?,
        LogFound::Absent | LogFound::NotARegularFile(_) => false,
    };
    let mut state_deleted = Vec::new();
    for p in &plan.state {
        let removed = match fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(p),
            Ok(_) => fs::remove_file(p),
            Err(e) => Err(e),
        };
        match removed {
            Ok(()) => state_deleted.push(p.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("delete", p)(e)),
        }
    }
    // Leave no empty `~/.specfact` behind; a directory with anything else in it stays.
    if let Some(dir) = &settings.config_dir
        && plan.log_path.parent() == Some(dir.as_path())
    {
        let _ = fs::remove_dir(dir);
    }
    Ok(Purged {
        plan,
        log_deleted,
        state_deleted,
    })
}

/// Refuses a path that exists and is neither a regular file nor a link.
/// Where a write meant for `path` goes: `path` itself, or, when `path` is a symbolic link
/// (settings kept with the user's dotfiles), the file the link points to, so the link
/// stays a link. A dangling link's target is created.
fn write_target(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).unwrap_or_else(|_| match (fs::read_link(path), path.parent()) {
                (Ok(target), Some(dir)) => dir.join(target),
                (Ok(target), None) => target,
                (Err(_), _) => path.to_owned(),
            })
        }
        _ => path.to_owned(),
    }
}

fn refuse_non_regular(path: &Path) -> Result<(), OptInError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_symlink() => match non_regular_kind(&meta) {
            Some(kind) => Err(OptInError::NotARegularFile {
                path: path.to_owned(),
                kind,
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Reads a text file that may not exist, never blocking on something that is not a
/// regular file.
fn read_text(path: &Path) -> Result<Option<String>, OptInError> {
    let mut file = match open_regular_for_reading(path) {
        Ok(Some(f)) => f,
        Ok(None) => {
            let kind = fs::metadata(path)
                .ok()
                .as_ref()
                .and_then(non_regular_kind)
                .unwrap_or("not a regular file");
            return Err(OptInError::NotARegularFile {
                path: path.to_owned(),
                kind,
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(io_error("read", path))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| OptInError::NotText {
            path: path.to_owned(),
        })
}

#[cfg(test)]
mod tests;
