//! Thread mode: a background thread, owned by one handle, sends for long-running hosts.
//!
//! A (log, endpoint) pair becomes due when `batch_size` events wait or the oldest
//! has waited `batch_timeout`. The thread holds the uploader lock only while it
//! sends, so uploader processes of other hosts can work between its batches. If the
//! host exits first, the events simply wait in the log for the next run. When the
//! handle goes away ([`Worker`] dropped), the thread sends what was noted and ends;
//! nobody waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::config::DeliveryConfig;
use super::lock::FileLock;
use super::{debug, uploader};

struct Pending {
    cfg: DeliveryConfig,
    enrol_at: u64,
    count: usize,
    since: Instant,
}

#[derive(Default)]
struct Queue {
    pending: HashMap<String, Pending>,
    busy: bool,
    flush: bool,
    /// The handle is gone: send what is pending, then end.
    stop: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    idle: Condvar,
}

/// The background thread of one handle.
pub(crate) struct Worker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

impl Worker {
    /// Starts the thread; `None` if the system refused one (events wait in the log).
    pub(crate) fn start() -> Option<Worker> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            idle: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("specfact-telemetry-upload".into())
            .spawn(move || work(&worker))
            .ok()
            .map(|_| Worker { shared })
    }

    /// Notes one appended event for the background thread.
    pub(crate) fn notify(&self, cfg: &DeliveryConfig, enrol_at: u64) {
        let s = &self.shared;
        let Ok(mut q) = s.queue.lock() else { return };
        let p = q.pending.entry(cfg.key()).or_insert_with(|| Pending {
            cfg: cfg.clone(),
            enrol_at,
            count: 0,
            since: Instant::now(),
        });
        p.count += 1;
        // Wake the worker when a batch starts, so it sleeps until this batch's timeout
        // rather than a deadline computed before it existed, and when a batch is full.
        if p.count == 1 || p.count >= cfg.batch_size {
            s.wake.notify_all();
        }
    }

    /// Sends everything noted so far and waits up to `timeout` for the thread to go idle.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let s = &self.shared;
        let deadline = Instant::now() + timeout;
        let Ok(mut q) = s.queue.lock() else {
            return false;
        };
        q.flush = true;
        s.wake.notify_all();
        while q.busy || !q.pending.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            q = match s.idle.wait_timeout(q, deadline - now) {
                Ok((g, _)) => g,
                Err(_) => return false,
            };
        }
        true
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.stop = true;
            q.flush = true;
        }
        self.shared.wake.notify_all();
    }
}

fn work(s: &Shared) {
    loop {
        let due: Vec<Pending> = {
            let Ok(mut q) = s.queue.lock() else { return };
            loop {
                let now = Instant::now();
                let flush = q.flush || q.stop;
                let keys: Vec<String> = q
                    .pending
                    .iter()
                    .filter(|(_, p)| {
                        flush
                            || p.count >= p.cfg.batch_size
                            || now.duration_since(p.since) >= p.cfg.batch_timeout
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                if !keys.is_empty() {
                    q.busy = true;
                    break keys.iter().filter_map(|k| q.pending.remove(k)).collect();
                }
                q.flush = false;
                s.idle.notify_all();
                if q.stop {
                    return;
                }
                let wait = q
                    .pending
                    .values()
                    .map(|p| {
                        p.cfg
                            .batch_timeout
                            .saturating_sub(now.duration_since(p.since))
                    })
                    .min()
                    .unwrap_or(Duration::from_secs(3600));
                q = match s.wake.wait_timeout(q, wait.max(Duration::from_millis(1))) {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
        };
        for p in due {
            upload_now(&p.cfg, p.enrol_at);
        }
        if let Ok(mut q) = s.queue.lock() {
            q.busy = false;
            if q.pending.is_empty() {
                q.flush = false;
            }
            s.idle.notify_all();
        }
    }
}

fn upload_now(cfg: &DeliveryConfig, enrol_at: u64) {
    match FileLock::try_acquire(&cfg.files().uploader_lock) {
        Ok(Some(lock)) => {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                uploader::run_locked(cfg, lock, Some(enrol_at))
            }));
            if r.is_err() {
                debug(
                    cfg,
                    "the upload stopped unexpectedly; events stay in the log",
                );
            }
        }
        Ok(None) => debug(
            cfg,
            "another uploader is working on this log; it will send these events",
        ),
        Err(e) => debug(cfg, &format!("cannot take the uploader lock: {e}")),
    }
}
