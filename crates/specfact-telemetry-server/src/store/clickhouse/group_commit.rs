//! Group commit: inserts that arrive while another one is being written wait, and then go to
//! ClickHouse together, as one `INSERT`.
//!
//! ClickHouse writes every `INSERT` as a new part on disk and merges parts in the background;
//! a few hundred small inserts a second outrun the merges ("too many parts"). Here the first
//! caller writes its spans at once; callers arriving meanwhile queue up, and when the write
//! finishes one of them writes everything queued in one statement. Under load, batches grow
//! with the load and the number of inserts stays near one per write's duration; with a single
//! client nothing waits. Each caller still returns only once its own spans are written, with
//! its own counts.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::super::{InsertOutcome, StoreError};

/// Writes a group of queued items at once, returning one result per item, in order.
pub(super) type WriteGroup<'a, T> = &'a dyn Fn(&[&T]) -> Result<Vec<InsertOutcome>, StoreError>;

/// One queued item and, once written, its result.
struct Ticket<T> {
    item: T,
    weight: usize,
    result: Mutex<Option<Result<InsertOutcome, StoreError>>>,
}

impl<T> Ticket<T> {
    fn set(&self, r: Result<InsertOutcome, StoreError>) {
        let mut slot = lock(&self.result);
        if slot.is_none() {
            *slot = Some(r);
        }
    }

    fn take(&self) -> Option<Result<InsertOutcome, StoreError>> {
        lock(&self.result).take()
    }
}

struct State<T> {
    queue: VecDeque<Arc<Ticket<T>>>,
    writing: bool,
}

/// The queue of inserts waiting for their turn. `T` is one caller's encoded spans.
pub(super) struct GroupCommit<T> {
    state: Mutex<State<T>>,
    turn: Condvar,
    /// A group stops growing once it holds this much weight (spans).
    max_weight: usize,
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // The state stays consistent at every point a panic could unwind through (the leader's
    // guard below repairs `writing`), so a poisoned lock is safe to keep using.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<T> GroupCommit<T> {
    /// A queue whose groups hold at most `max_weight` spans (a larger single item still goes
    /// alone).
    pub fn new(max_weight: usize) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                writing: false,
            }),
            turn: Condvar::new(),
            max_weight: max_weight.max(1),
        }
    }

    /// Queues `item` (of `weight` spans) and returns its result once it is written, by this
    /// thread or by another one that wrote it in a group with its own.
    pub fn submit(
        &self,
        item: T,
        weight: usize,
        write: WriteGroup<'_, T>,
    ) -> Result<InsertOutcome, StoreError> {
        let ticket = Arc::new(Ticket {
            item,
            weight,
            result: Mutex::new(None),
        });
        let mut state = lock(&self.state);
        state.queue.push_back(Arc::clone(&ticket));
        loop {
            if let Some(result) = ticket.take() {
                return result;
            }
            if state.writing {
                state = self
                    .turn
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // Nobody is writing: this thread writes the oldest queued items (its own among
            // them, unless the queue is longer than one group; then it loops and waits).
            state.writing = true;
            let group = self.take_group(&mut state.queue);
            drop(state);
            {
                let leading = Leading {
                    commit: self,
                    group: &group,
                };
                let items: Vec<&T> = group.iter().map(|t| &t.item).collect();
                match write(&items) {
                    Ok(outcomes) => {
                        for (t, o) in group.iter().zip(outcomes) {
                            t.set(Ok(o));
                        }
                    }
                    Err(e) => {
                        for t in &group {
                            t.set(Err(copy_error(&e)));
                        }
                    }
                }
                drop(leading);
            }
            state = lock(&self.state);
        }
    }

    fn take_group(&self, queue: &mut VecDeque<Arc<Ticket<T>>>) -> Vec<Arc<Ticket<T>>> {
        let mut group = Vec::new();
        let mut weight = 0;
        while let Some(next) = queue.front() {
            if !group.is_empty() && weight + next.weight > self.max_weight {
                break;
            }
            weight += next.weight;
            group.extend(queue.pop_front());
        }
        group
    }
}

/// Ends a write: every item of the group gets a result (an error if the write returned too
/// few or panicked), and the next writer may start.
struct Leading<'a, T> {
    commit: &'a GroupCommit<T>,
    group: &'a [Arc<Ticket<T>>],
}

impl<T> Drop for Leading<'_, T> {
    fn drop(&mut self) {
        for t in self.group {
            t.set(Err(StoreError::Backend(
                "the write of this batch ended without a result".into(),
            )));
        }
        lock(&self.commit.state).writing = false;
        self.commit.turn.notify_all();
    }
}

/// The same error again, for each caller of a group that failed.
pub(super) fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Open { location, reason } => StoreError::Open {
            location: location.clone(),
            reason: reason.clone(),
        },
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::NotBuilt(m) => StoreError::NotBuilt(m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn outcome(n: u64) -> InsertOutcome {
        InsertOutcome {
            inserted: n,
            duplicates: 0,
        }
    }

    #[test]
    fn a_lone_caller_writes_its_own_item() {
        let gc = GroupCommit::new(10);
        let groups = AtomicUsize::new(0);
        let r = gc.submit(3u64, 3, &|items: &[&u64]| {
            groups.fetch_add(1, Ordering::SeqCst);
            Ok(items.iter().map(|n| outcome(**n)).collect())
        });
        assert_eq!(r.unwrap(), outcome(3));
        assert_eq!(groups.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn concurrent_callers_share_writes_and_each_gets_its_own_result() {
        let gc = GroupCommit::new(1_000);
        let writes = AtomicUsize::new(0);
        let largest = AtomicUsize::new(0);
        let write = |items: &[&u64]| {
            writes.fetch_add(1, Ordering::SeqCst);
            largest.fetch_max(items.len(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            Ok(items.iter().map(|n| outcome(**n)).collect())
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..16u64)
                .map(|n| {
                    let gc = &gc;
                    let write = &write;
                    s.spawn(move || (n, gc.submit(n, 1, write)))
                })
                .collect();
            for h in handles {
                let (n, r) = h.join().unwrap();
                assert_eq!(r.unwrap(), outcome(n));
            }
        });
        let writes = writes.load(Ordering::SeqCst);
        assert!(writes < 16, "{writes} writes for 16 callers");
        assert!(largest.load(Ordering::SeqCst) > 1);
    }

    #[test]
    fn groups_stop_at_the_weight_limit() {
        let gc = GroupCommit::new(2);
        let largest = AtomicUsize::new(0);
        let write = |items: &[&u64]| {
            largest.fetch_max(items.len(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            Ok(items.iter().map(|n| outcome(**n)).collect())
        };
        std::thread::scope(|s| {
            for n in 0..8u64 {
                let (gc, write) = (&gc, &write);
                s.spawn(move || assert_eq!(gc.submit(n, 1, write).unwrap(), outcome(n)));
            }
        });
        assert!(largest.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn a_failed_write_fails_every_caller_in_it_and_the_next_one_still_runs() {
        let gc = GroupCommit::new(10);
        let r = gc.submit(1u64, 1, &|_: &[&u64]| {
            Err(StoreError::Unavailable("down".into()))
        });
        assert!(matches!(r, Err(StoreError::Unavailable(m)) if m == "down"));
        // Too few results: the caller left without one gets an error, not a hang.
        let r = gc.submit(2u64, 1, &|_: &[&u64]| Ok(Vec::new()));
        assert!(matches!(r, Err(StoreError::Backend(_))));
        let r = gc.submit(3u64, 1, &|items: &[&u64]| {
            Ok(items.iter().map(|n| outcome(**n)).collect())
        });
        assert_eq!(r.unwrap(), outcome(3));
    }

    #[test]
    fn a_panicking_write_does_not_block_the_queue() {
        let gc = GroupCommit::new(10);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gc.submit(1u64, 1, &|_: &[&u64]| panic!("boom"))
        }));
        assert!(panicked.is_err());
        let r = gc.submit(2u64, 1, &|items: &[&u64]| {
            Ok(items.iter().map(|n| outcome(**n)).collect())
        });
        assert_eq!(r.unwrap(), outcome(2));
    }
}
