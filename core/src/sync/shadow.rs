//! The shadowed cells: facade cells the kernel code goes through, each with a
//! shadow copy that only the model's checker reads (no scheduling point, no
//! loom branch, no recorded step).

use super::{AtomicI32, AtomicU64, Mutex, Ordering};

/// An `atomic_t` of the model (refcount, mapcounts). Kernel code goes
/// through the facade atomic: every access is a scheduling point and a
/// recorded step. The model's own checks read a shadow copy that no explorer
/// sees, so checking never adds interleavings the kernel does not have.
pub struct Counter {
    a: AtomicI32,
    shadow: std::sync::atomic::AtomicI32,
}

impl Counter {
    pub fn new(v: i32) -> Counter {
        Counter {
            a: AtomicI32::new(v),
            shadow: std::sync::atomic::AtomicI32::new(v),
        }
    }

    /// `atomic_read`: a kernel read (use `mm::folio_ref_count`, which records it).
    #[track_caller]
    pub fn load(&self, o: Ordering) -> i32 {
        self.a.load(o)
    }

    /// An atomic add; returns the old value. The shadow adds the same
    /// amount rather than storing `old + d`: on real OS threads (`--explorer
    /// stress`) two adds can update the shadow in the other order, and a
    /// store would leave it at the earlier value for good (S4/fast showed
    /// refcount 1 after both puts); adds commute, so it converges.
    #[track_caller]
    pub fn fetch_add(&self, d: i32, o: Ordering) -> i32 {
        let old = self.a.fetch_add(d, o);
        self.shadow
            .fetch_add(d, std::sync::atomic::Ordering::SeqCst);
        old
    }

    /// `atomic_cmpxchg`; the shadow follows a successful exchange.
    #[track_caller]
    pub fn compare_exchange(&self, current: i32, new: i32, o: Ordering) -> Result<i32, i32> {
        let r = self.a.compare_exchange(current, new, o);
        if r.is_ok() {
            // As in `fetch_add`: an add, so it commutes with the others.
            self.shadow.fetch_add(
                new.wrapping_sub(current),
                std::sync::atomic::Ordering::SeqCst,
            );
        }
        r
    }

    /// The value for model checks: latest in modification order, no
    /// scheduling point.
    pub fn peek(&self) -> i32 {
        self.shadow.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Lock-protected kernel data: the facade lock the model takes, plus a
/// shadow copy refreshed at every unlock. The quiescent checker reads the
/// shadow, so it never takes a model lock (no scheduling point, no loom
/// branch, no recorded step).
pub struct Locked<T> {
    pub m: Mutex<T>,
    pub(crate) shadow: std::sync::Mutex<T>,
}

impl<T: Clone> Locked<T> {
    pub fn new(v: T) -> Locked<T> {
        Locked {
            m: Mutex::new(v.clone()),
            shadow: std::sync::Mutex::new(v),
        }
    }

    /// The value as of the last unlock, borrowed instead of copied (model
    /// checks only; peeking the same cell again while holding it would
    /// deadlock).
    pub fn peek_ref(&self) -> std::sync::MutexGuard<'_, T> {
        self.shadow.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value as of the last unlock (model checks only).
    pub fn peek(&self) -> T {
        self.shadow
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A value that fits a machine word, for marked accesses.
pub trait Word: Copy + PartialEq {
    fn to_word(self) -> u64;
    fn from_word(w: u64) -> Self;
}

impl Word for Option<u64> {
    fn to_word(self) -> u64 {
        self.map_or(u64::MAX, |v| v)
    }
    fn from_word(w: u64) -> Self {
        (w != u64::MAX).then_some(w)
    }
}

impl Word for Option<u8> {
    fn to_word(self) -> u64 {
        self.map_or(u64::MAX, |v| v as u64)
    }
    fn from_word(w: u64) -> Self {
        (w != u64::MAX).then_some(w as u8)
    }
}

/// A field accessed with `READ_ONCE`/`WRITE_ONCE`: an atomic word (so a
/// lockless reader is no data race), plus a shadow for the model's checks.
pub struct Marked<T: Word> {
    pub(crate) a: AtomicU64,
    pub(crate) shadow: std::sync::atomic::AtomicU64,
    _t: std::marker::PhantomData<T>,
}

impl<T: Word> Marked<T> {
    pub fn new(v: T) -> Marked<T> {
        Marked {
            a: AtomicU64::new(v.to_word()),
            shadow: std::sync::atomic::AtomicU64::new(v.to_word()),
            _t: std::marker::PhantomData,
        }
    }

    pub fn peek(&self) -> T {
        T::from_word(self.shadow.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// `WRITE_ONCE` without an event of its own (the caller records one).
    pub(crate) fn store_raw(&self, v: T) {
        self.a.store(v.to_word(), Ordering::Release);
        self.shadow
            .store(v.to_word(), std::sync::atomic::Ordering::SeqCst);
    }

    /// Set before any thread runs (world construction).
    pub(crate) fn init(&self, v: T) {
        self.a.store(v.to_word(), Ordering::Relaxed);
        self.shadow
            .store(v.to_word(), std::sync::atomic::Ordering::SeqCst);
    }
}
