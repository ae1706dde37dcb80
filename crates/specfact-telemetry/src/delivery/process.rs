//! Process mode: the host re-executes itself as a detached uploader.
//!
//! The host takes the uploader lock without waiting (if it is held, the running
//! uploader will see the new line when it re-checks) and starts its own executable
//! with [`UPLOADER_ARG`] and the job in [`UPLOADER_JOB_VAR`]. The child inherits the
//! locked file, so the lock never lapses between the decision and the upload. It runs
//! in its own session (no terminal; the shell does not wait for it and Ctrl-C to the
//! host does not reach it), with its standard streams on `/dev/null` (stderr is kept
//! in debug mode). The job holds the header values: like the host's own environment,
//! a process environment is readable only by the same user.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{Compression, DeliveryConfig, Protocol, RetryPolicy};
use super::lock::FileLock;
use super::{UPLOADER_ARG, UPLOADER_JOB_VAR, debug, uploader};
use crate::settings::{Header, Secret, Source};

/// Uploader children not yet reaped (a long-running host in process mode).
static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());

/// What the child needs: the delivery configuration, flattened.
#[derive(Debug, Serialize, Deserialize)]
struct Job {
    endpoint: String,
    headers: Vec<(String, String)>,
    service_name: String,
    service_namespace: String,
    deployment_environment: String,
    batch_size: usize,
    batch_timeout_ms: u64,
    export_timeout_ms: u64,
    debug: bool,
    allow_insecure_http: bool,
    log_path: PathBuf,
    state_dir: PathBuf,
    json: bool,
    gzip: bool,
    retry_initial_ms: u64,
    retry_max_ms: u64,
    retry_elapsed_ms: u64,
    enrol_at: u64,
    lock_fd: Option<i32>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Job {
    fn new(cfg: &DeliveryConfig, enrol_at: u64, lock_fd: Option<i32>) -> Job {
        Job {
            endpoint: cfg.endpoint.clone(),
            headers: cfg
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.expose().to_owned()))
                .collect(),
            service_name: cfg.service_name.clone(),
            service_namespace: cfg.service_namespace.clone(),
            deployment_environment: cfg.deployment_environment.clone(),
            batch_size: cfg.batch_size,
            batch_timeout_ms: ms(cfg.batch_timeout),
            export_timeout_ms: ms(cfg.export_timeout),
            debug: cfg.debug,
            allow_insecure_http: cfg.allow_insecure_http,
            log_path: cfg.log_path.clone(),
            state_dir: cfg.state_dir.clone(),
            json: cfg.protocol == Protocol::Json,
            gzip: cfg.compression == Compression::Gzip,
            retry_initial_ms: ms(cfg.retry.initial_backoff),
            retry_max_ms: ms(cfg.retry.max_backoff),
            retry_elapsed_ms: ms(cfg.retry.max_elapsed),
            enrol_at,
            lock_fd,
        }
    }

    fn into_config(self) -> (DeliveryConfig, u64, Option<i32>) {
        let cfg = DeliveryConfig {
            endpoint: self.endpoint,
            headers: self
                .headers
                .into_iter()
                .map(|(name, value)| Header {
                    name,
                    value: Secret::new(value),
                    source: Source::Config,
                })
                .collect(),
            service_name: self.service_name,
            service_namespace: self.service_namespace,
            deployment_environment: self.deployment_environment,
            batch_size: self.batch_size.max(1),
            batch_timeout: Duration::from_millis(self.batch_timeout_ms),
            export_timeout: Duration::from_millis(self.export_timeout_ms),
            debug: self.debug,
            allow_insecure_http: self.allow_insecure_http,
            log_path: self.log_path,
            state_dir: self.state_dir,
            protocol: if self.json {
                Protocol::Json
            } else {
                Protocol::Protobuf
            },
            compression: if self.gzip {
                Compression::Gzip
            } else {
                Compression::None
            },
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(self.retry_initial_ms),
                max_backoff: Duration::from_millis(self.retry_max_ms),
                max_elapsed: Duration::from_millis(self.retry_elapsed_ms),
            },
        };
        (cfg, self.enrol_at, self.lock_fd)
    }
}

fn reap() {
    if let Ok(mut children) = CHILDREN.lock() {
        children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }
}

/// Starts a detached uploader unless one is already working on this log.
pub(crate) fn start(cfg: &DeliveryConfig, enrol_at: u64) -> std::io::Result<()> {
    reap();
    let Some(lock) = FileLock::try_acquire(&cfg.files().uploader_lock)? else {
        debug(
            cfg,
            "an uploader is already running; it will pick this event up",
        );
        return Ok(());
    };
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    match super::options().uploader_args {
        Some(args) => cmd.args(args),
        None => cmd.arg(UPLOADER_ARG),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if cfg.debug {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    let lock_fd = detach(&mut cmd, &lock);
    let job =
        serde_json::to_string(&Job::new(cfg, enrol_at, lock_fd)).map_err(std::io::Error::other)?;
    cmd.env(UPLOADER_JOB_VAR, job);
    let child = cmd.spawn()?;
    debug(cfg, &format!("started uploader process {}", child.id()));
    if let Ok(mut children) = CHILDREN.lock() {
        children.push(child);
    }
    // Our copy of the lock closes here; the child's copy keeps it held.
    drop(lock);
    Ok(())
}

/// Puts the child in its own session and lets it inherit the locked file.
#[cfg(unix)]
fn detach(cmd: &mut Command, lock: &FileLock) -> Option<i32> {
    use std::os::unix::io::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = lock.file().as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (setsid, setpriority, fcntl) on values it owns.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            // Background work: never compete with the host (or the user) for the CPU.
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    Some(fd)
}

#[cfg(not(unix))]
fn detach(_cmd: &mut Command, _lock: &FileLock) -> Option<i32> {
    None
}

/// The lock inherited from the host, if `fd` really is the uploader lock file.
#[cfg(unix)]
fn inherited_lock(fd: Option<i32>, cfg: &DeliveryConfig) -> Option<FileLock> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::FromRawFd;
    let fd = fd?;
    let want = std::fs::metadata(cfg.files().uploader_lock).ok()?;
    // SAFETY: fstat only reads metadata of the descriptor number.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    if st.st_ino as u64 != want.ino() || st.st_dev as u64 != want.dev() {
        return None;
    }
    // SAFETY: the descriptor was inherited for this purpose, refers to the lock file
    // (checked above), and nothing else in this process owns it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    Some(FileLock::adopt(file))
}

#[cfg(not(unix))]
fn inherited_lock(_fd: Option<i32>, _cfg: &DeliveryConfig) -> Option<FileLock> {
    None
}

/// The uploader process: runs the job from the environment. Returns the exit code.
pub(crate) fn run_child() -> i32 {
    let Some(raw) = std::env::var_os(UPLOADER_JOB_VAR) else {
        return 2;
    };
    let Some(job) = raw
        .to_str()
        .and_then(|s| serde_json::from_str::<Job>(s).ok())
    else {
        return 2;
    };
    let (cfg, enrol_at, fd) = job.into_config();
    let lock = match inherited_lock(fd, &cfg) {
        Some(l) => l,
        None => match FileLock::try_acquire(&cfg.files().uploader_lock) {
            Ok(Some(l)) => l,
            _ => return 0,
        },
    };
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        uploader::run_locked(&cfg, lock, Some(enrol_at))
    }));
    match report {
        Ok(r) if r.stopped.is_none() => 0,
        Ok(_) => 1,
        Err(_) => 3,
    }
}
