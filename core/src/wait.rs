//! Hashed waitqueues (spec §1.5): the DAX entry table and the `wait_var`
//! table, with exclusive/non-exclusive waiters, key filtering and
//! autoremove-on-wake.
//!
//! A waiter is identified by its thread: a thread waits on at most one queue
//! at a time. "Woken" means "removed from the queue by a waker", exactly the
//! kernel's autoremove_wake_function; the sleeper sleeps on the bucket's
//! condvar until its entry is gone.

use std::fmt;

use crate::cx::{Cx, Held, LockId};
use crate::sync::shadow::Locked;
use crate::sync::Condvar;
use crate::trace::{file_name, Blocked, What};

/// The key the wake function filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitKey {
    /// `struct exceptional_entry_key`: (xa, entry_start).
    Entry { file: u8, index: u64 },
    /// `wait_bit_key` of `wait_var_event`: the variable's address, a page.
    Var { pfn: u64 },
    /// The address of a folio's `_refcount` (the pre-series wake address, M12).
    VarRefcount { pfn: u64 },
}

impl fmt::Display for WaitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WaitKey::Entry { file, index } => write!(f, "entry {}[{index}]", file_name(file)),
            WaitKey::Var { pfn } => write!(f, "var page {pfn}"),
            WaitKey::VarRefcount { pfn } => write!(f, "var &folio({pfn})->_refcount"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Waiter {
    pub tid: u8,
    pub key: WaitKey,
    pub exclusive: bool,
}

pub struct WaitBucket {
    q: Locked<Vec<Waiter>>,
    cv: Condvar,
}

pub struct WaitTable {
    pub name: &'static str,
    buckets: Vec<WaitBucket>,
}

/// `nr_exclusive` of a wake: WAKE_NEXT wakes one exclusive waiter, WAKE_ALL
/// every matching one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeMode {
    Next,
    All,
}

impl fmt::Display for WakeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WakeMode::Next => "WAKE_NEXT",
            WakeMode::All => "WAKE_ALL",
        })
    }
}

impl WaitTable {
    pub fn new(name: &'static str, buckets: usize) -> WaitTable {
        WaitTable {
            name,
            buckets: (0..buckets)
                .map(|_| WaitBucket {
                    q: Locked::new(Vec::new()),
                    cv: Condvar::new(),
                })
                .collect(),
        }
    }

    fn bucket_of(&self, key: WaitKey) -> usize {
        let h = match key {
            WaitKey::Entry { file, index } => (file as u64).wrapping_mul(31).wrapping_add(index),
            WaitKey::Var { pfn } | WaitKey::VarRefcount { pfn } => pfn,
        };
        (h % self.buckets.len() as u64) as usize
    }

    fn lock<'a>(&'a self, cx: &'a Cx, b: usize) -> Held<'a, Vec<Waiter>> {
        cx.lock(&self.buckets[b].q, LockId::WaitQueue(self.name, b as u8))
    }

    /// `prepare_to_wait_exclusive` (tail) or `prepare_to_wait[_event]` (head):
    /// queue this thread on `key` unless it is queued already.
    pub fn prepare_to_wait(&self, cx: &Cx, key: WaitKey, exclusive: bool) {
        let b = self.bucket_of(key);
        let mut q = self.lock(cx, b);
        if !q.iter().any(|w| w.tid == cx.tid) {
            let w = Waiter {
                tid: cx.tid,
                key,
                exclusive,
            };
            if exclusive {
                q.push(w);
            } else {
                q.insert(0, w);
            }
        }
        cx.ev(What::Enqueue {
            table: self.name,
            key,
            exclusive,
        });
    }

    /// `schedule()` after a prepare: sleep until a waker removed our entry.
    pub fn schedule(&self, cx: &Cx, key: WaitKey) {
        cx.might_sleep("schedule()");
        let b = self.bucket_of(key);
        let q = self.lock(cx, b);
        if !q.iter().any(|w| w.tid == cx.tid) {
            // Woken between prepare and schedule: the task is running again.
            return;
        }
        cx.ev(What::Sleep {
            table: self.name,
            key,
        });
        cx.w.rec.set_blocked(
            cx.tid,
            Some(Blocked::Sleeping {
                table: self.name,
                key,
            }),
        );
        let mut q = q;
        let mut g = q.take_guard();
        while g.iter().any(|w| w.tid == cx.tid) {
            g = self.buckets[b].cv.wait(g);
        }
        q.rearm(g);
        cx.w.rec.set_blocked(cx.tid, None);
        cx.ev(What::Woken);
        drop(q);
    }

    /// `finish_wait`: leave the queue if no waker removed us.
    pub fn finish_wait(&self, cx: &Cx, key: WaitKey) {
        let b = self.bucket_of(key);
        let mut q = self.lock(cx, b);
        q.retain(|w| w.tid != cx.tid);
    }

    /// `waitqueue_active` + `__wake_up(wq, TASK_NORMAL, nr_exclusive, key)`.
    ///
    /// The kernel's `waitqueue_active` is a lockless peek paired with the
    /// waiter's enqueue under `xa_lock`; here the peek takes the bucket lock,
    /// which is stronger, so it can hide no lost wakeup of the kernel's own
    /// barrier pairing but keeps every ordering the callers rely on.
    pub fn wake_up(&self, cx: &Cx, key: WaitKey, mode: WakeMode) -> usize {
        let b = self.bucket_of(key);
        let mut q = self.lock(cx, b);
        let mut budget = match mode {
            WakeMode::Next => 1,
            WakeMode::All => 0,
        };
        let mut woken = 0;
        let mut i = 0;
        while i < q.len() {
            let w = q[i];
            if w.key != key {
                // The wake function ignores other keys sharing the bucket;
                // they do not count against the exclusive budget.
                i += 1;
                continue;
            }
            q.remove(i);
            woken += 1;
            if w.exclusive && budget > 0 {
                budget -= 1;
                if budget == 0 {
                    break;
                }
            }
        }
        if woken > 0 {
            self.buckets[b].cv.notify_all();
        }
        cx.ev(What::Wake {
            table: self.name,
            key,
            mode,
            woken,
        });
        woken
    }

    /// Model-only: waiters still queued (for the quiescence check).
    pub fn queued(&self) -> Vec<Waiter> {
        self.buckets.iter().flat_map(|b| b.q.peek()).collect()
    }
}
