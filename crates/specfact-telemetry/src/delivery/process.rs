//! Process mode: the handle starts its [`UploaderCommand`] as a detached uploader.
//!
//! The host takes the uploader lock without waiting (if it is held, the running
//! uploader will see the new line when it re-checks) and starts the command with the
//! job in [`UPLOADER_JOB_VAR`]. The child inherits the locked file, so the lock never
//! lapses between the decision and the upload. It runs in its own session (no
//! terminal; the shell does not wait for it and Ctrl-C to the host does not reach
//! it), with stdin and stdout on `/dev/null` and stderr on `/dev/null` — or, in debug
//! mode, on the pair's `uploader.log` beside the delivery state: the uploader never
//! writes to the terminal it left. The job holds the header values: like the host's
//! own environment, a process environment is readable only by the same user.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{Compression, DeliveryConfig, Protocol, RetryPolicy};
use super::lock::FileLock;
use super::{UPLOADER_JOB_VAR, UploaderCommand, debug, uploader, uploader_log};
use crate::settings::{Header, Secret, Source};
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

/// The uploader processes one handle started and has not reaped yet. Finished ones
/// are reaped whenever the handle starts another, and when it is dropped.
#[derive(Debug, Default)]
pub(crate) struct Children(Mutex<Vec<Child>>);

impl Children {
    fn reap(&self) {
        if let Ok(mut children) = self.0.lock() {
            children.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
        }
    }

    fn push(&self, child: Child) {
        if let Ok(mut children) = self.0.lock() {
            children.push(child);
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.reap();
    }
}

/// Starts a detached uploader unless one is already working on this log.
pub(crate) fn start(
    cfg: &DeliveryConfig,
    enrol_at: u64,
    command: &UploaderCommand,
    children: &Children,
) -> std::io::Result<()> {
    children.reap();
    let Some(lock) = FileLock::try_acquire(&cfg.files().uploader_lock)? else {
        debug(
            cfg,
            "an uploader is already running; it will pick this event up",
        );
        return Ok(());
    };
    let child = spawn_detached(command, cfg, enrol_at, &lock)?;
    debug(
        cfg,
        &format!(
            "started uploader process {}; its debug output goes to {}",
            child.id(),
            cfg.files().uploader_log.display()
        ),
    );
    children.push(child);
    // Our copy of the lock closes here; the child's copy keeps it held.
    drop(lock);
    Ok(())
}

/// Where the uploader's stderr goes: its log in debug mode, nowhere otherwise.
fn stderr_for(cfg: &DeliveryConfig) -> Stdio {
    if !cfg.debug {
        return Stdio::null();
    }
    match uploader_log::open(&cfg.files().uploader_log) {
        Ok(file) => Stdio::from(file),
        Err(_) => Stdio::null(),
    }
}

fn command_for(
    command: &UploaderCommand,
    cfg: &DeliveryConfig,
    enrol_at: u64,
    lock_fd: Option<i32>,
) -> std::io::Result<Command> {
    let job =
        serde_json::to_string(&Job::new(cfg, enrol_at, lock_fd)).map_err(std::io::Error::other)?;
    let mut c = Command::new(&command.program);
    c.args(&command.args)
        .env(UPLOADER_JOB_VAR, job)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_for(cfg));
    Ok(c)
}

/// Starts the uploader with `std::process::Command` and a small `pre_exec` that
/// detaches it: a new session, every descriptor of the host closed except the
/// locked file, which is kept across the exec. Closing also closes the pipe through
/// which the standard library waits for the exec, so the host pays for the fork only,
/// not for loading the uploader (if the exec fails, the child ends and the events
/// wait in the log).
#[cfg(unix)]
fn spawn_detached(
    command: &UploaderCommand,
    cfg: &DeliveryConfig,
    enrol_at: u64,
    lock: &FileLock,
) -> std::io::Result<Child> {
    use std::os::unix::io::AsRawFd;
    use std::os::unix::process::CommandExt;

    let lock_fd = lock.file().as_raw_fd();
    let mut c = command_for(command, cfg, enrol_at, Some(lock_fd))?;
    // SAFETY: sysconf only reads a limit (here, before the fork).
    let open_max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max_fd = i32::try_from(open_max)
        .unwrap_or(i32::MAX)
        .clamp(1024, 65536)
        - 1;
    // SAFETY: the closure runs in the forked child before exec and calls only
    // async-signal-safe functions (setsid, close_range/close, fcntl) on values copied
    // into it; it allocates nothing and takes no lock.
    unsafe {
        c.pre_exec(move || {
            libc::setsid();
            close_inherited(lock_fd, max_fd);
            let flags = libc::fcntl(lock_fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(lock_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    c.spawn()
}

/// In the forked child: closes every descriptor from 3 up except `keep`, so the
/// uploader holds no pipe, socket or file of the host (a pipe kept open would keep
/// whoever reads the host's output waiting until the uploader exits). Without
/// `close_range` it closes each number up to `max_fd`. Async-signal-safe.
#[cfg(unix)]
unsafe fn close_inherited(keep: i32, max_fd: i32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let range = |first: i32, last: i32| -> bool {
            if first > last {
                return true;
            }
            // SAFETY: close_range only closes descriptors of this process.
            unsafe {
                libc::syscall(
                    libc::SYS_close_range,
                    first as libc::c_uint,
                    last as libc::c_uint,
                    0 as libc::c_uint,
                ) == 0
            }
        };
        let below = keep >= 3 && range(3, keep - 1);
        let above = range(keep.max(2) + 1, i32::MAX);
        if (below || keep < 3) && above {
            return;
        }
    }
    for fd in 3..=max_fd.max(keep) {
        if fd != keep {
            // SAFETY: closing a descriptor number we may or may not have is harmless.
            unsafe {
                libc::close(fd);
            }
        }
    }
}

#[cfg(not(unix))]
fn spawn_detached(
    command: &UploaderCommand,
    cfg: &DeliveryConfig,
    enrol_at: u64,
    _lock: &FileLock,
) -> std::io::Result<Child> {
    command_for(command, cfg, enrol_at, None)?.spawn()
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
    // Background work: never compete with the host (or the user) for the CPU.
    #[cfg(unix)]
    // SAFETY: setpriority only changes this process's niceness.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
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
