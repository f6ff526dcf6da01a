//! Vector clocks for the happens-before half of the access checker
//! (`access.rs`): one clock per model thread, per lock and per atomic, as
//! ThreadSanitizer keeps them. Kept by the model itself, so they are the same
//! on std threads, loom and shuttle.

use std::fmt;

/// Why a thread's clock component for another thread last went up: the
/// synchronization that orders the other thread's earlier steps before ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Unlock of a lock, then lock of the same lock (`xa_lock(A)`).
    Lock(String),
    /// A release store or RMW read by an acquire (`refcount of folio 8`).
    Atomic(String),
    /// A waker's wake, then the woken thread's return from `schedule()`.
    Wake(String),
    /// `spawn` of the thread, or `join` of it.
    Thread(&'static str),
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edge::Lock(l) => write!(f, "{l} release -> acquire"),
            Edge::Atomic(a) => write!(f, "atomic {a} release -> acquire"),
            Edge::Wake(q) => write!(f, "wake -> wait return on {q}"),
            Edge::Thread(how) => write!(f, "thread {how}"),
        }
    }
}

/// A vector clock over model thread ids (0 = the spawning main thread).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VClock {
    c: Vec<u32>,
}

impl VClock {
    pub fn get(&self, t: u8) -> u32 {
        self.c.get(t as usize).copied().unwrap_or(0)
    }

    /// A new epoch of thread `t` (after each release it makes).
    pub fn tick(&mut self, t: u8) {
        let t = t as usize;
        if self.c.len() <= t {
            self.c.resize(t + 1, 0);
        }
        self.c[t] += 1;
    }

    /// Pointwise max; returns the components that went up.
    pub fn join(&mut self, o: &VClock) -> Vec<u8> {
        if self.c.len() < o.c.len() {
            self.c.resize(o.c.len(), 0);
        }
        let mut up = Vec::new();
        for (i, &v) in o.c.iter().enumerate() {
            if v > self.c[i] {
                self.c[i] = v;
                up.push(i as u8);
            }
        }
        up
    }

    /// Whether an access of thread `t` made at `self` happens before one
    /// made at `later` (FastTrack's epoch test).
    pub fn before(&self, t: u8, later: &VClock) -> bool {
        self.get(t) <= later.get(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_orders_and_unordered_stays_unordered() {
        let (mut a, mut b) = (VClock::default(), VClock::default());
        a.tick(1);
        b.tick(2);
        let a_at = a.clone();
        assert!(!a_at.before(1, &b), "no edge yet");
        a.tick(1); // release
        let up = b.join(&a);
        assert_eq!(up, vec![1]);
        assert!(a_at.before(1, &b), "the join orders a's earlier step");
        assert!(!b.before(2, &a), "but not the other way");
    }
}
