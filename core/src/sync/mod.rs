//! The sync facade: the few primitives the model uses, each an enum over the
//! three backends (std threads, loom, shuttle).
//!
//! The backend is chosen at run time from a thread-local flag that the
//! explorer drivers set before they build the world, so one build serves all
//! three and users never need `RUSTFLAGS` (see `docs/facade.md`). Primitives
//! must be created inside the loom/shuttle closure: both runtimes panic when
//! their types are touched outside a run.
//!
//! Every method is `#[track_caller]` so that loom's reports point into the
//! model, not into this file.

pub mod shadow;
use std::cell::Cell;
use std::ops::{Deref, DerefMut};

/// Which runtime the primitives of the next world are built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Plain std threads: sequential unit tests and the fuzzer.
    Std,
    /// loom: exhaustive (bounded) exploration with data-race detection.
    Loom,
    /// shuttle: randomized (PCT or random) scheduling.
    Shuttle,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Std) };
    static LOOM_CELLS: Cell<bool> = const { Cell::new(true) };
}

/// Whether plain fields built under loom are loom's tracked cells (off
/// while `access.rs` checks races itself, in its `Own` mode).
pub fn set_loom_cells(on: bool) {
    LOOM_CELLS.with(|c| c.set(on));
}

/// The backend new primitives are built on (per OS thread).
pub fn backend() -> Backend {
    BACKEND.with(|b| b.get())
}

/// Select the backend for primitives created from now on by this OS thread.
///
/// loom and shuttle run every model thread on the calling OS thread, so one
/// call covers the whole run; `thread::spawn` copies the flag into std
/// threads.
pub fn set_backend(b: Backend) {
    BACKEND.with(|c| c.set(b));
}

/// Build with `b`'s primitives, then go back to the current backend.
pub fn with_backend<R>(b: Backend, f: impl FnOnce() -> R) -> R {
    let prev = backend();
    set_backend(b);
    let r = f();
    set_backend(prev);
    r
}

/// A sleeping lock around data (the kernel's spinlocks and mutexes).
pub enum Mutex<T> {
    Std(std::sync::Mutex<T>),
    Loom(loom::sync::Mutex<T>),
    Shuttle(Lazy<shuttle::sync::Mutex<T>, T>),
}

pub enum MutexGuard<'a, T> {
    Std(std::sync::MutexGuard<'a, T>),
    Loom(loom::sync::MutexGuard<'a, T>),
    Shuttle(shuttle::sync::MutexGuard<'a, T>),
}

impl<T> Mutex<T> {
    #[track_caller]
    pub fn new(v: T) -> Self {
        match backend() {
            Backend::Std => Mutex::Std(std::sync::Mutex::new(v)),
            Backend::Loom => Mutex::Loom(loom::sync::Mutex::new(v)),
            Backend::Shuttle => Mutex::Shuttle(Lazy::new(v)),
        }
    }

    /// Poisoning is ignored: a panic inside the model is already a report.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match self {
            Mutex::Std(m) => MutexGuard::Std(m.lock().unwrap_or_else(|e| e.into_inner())),
            Mutex::Loom(m) => MutexGuard::Loom(m.lock().unwrap_or_else(|e| e.into_inner())),
            Mutex::Shuttle(m) => MutexGuard::Shuttle(
                m.get(shuttle::sync::Mutex::new)
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            ),
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            MutexGuard::Std(g) => g,
            MutexGuard::Loom(g) => g,
            MutexGuard::Shuttle(g) => g,
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match self {
            MutexGuard::Std(g) => g,
            MutexGuard::Loom(g) => g,
            MutexGuard::Shuttle(g) => g,
        }
    }
}

/// A condition variable paired with [`Mutex`]; the waitqueues sleep on it.
pub enum Condvar {
    Std(std::sync::Condvar),
    Loom(loom::sync::Condvar),
    Shuttle(Lazy<shuttle::sync::Condvar, ()>),
}

impl Condvar {
    #[track_caller]
    pub fn new() -> Self {
        match backend() {
            Backend::Std => Condvar::Std(std::sync::Condvar::new()),
            Backend::Loom => Condvar::Loom(loom::sync::Condvar::new()),
            Backend::Shuttle => Condvar::Shuttle(Lazy::new(())),
        }
    }

    #[track_caller]
    pub fn wait<'a, T>(&self, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        match (self, g) {
            (Condvar::Std(c), MutexGuard::Std(g)) => {
                MutexGuard::Std(c.wait(g).unwrap_or_else(|e| e.into_inner()))
            }
            (Condvar::Loom(c), MutexGuard::Loom(g)) => {
                MutexGuard::Loom(c.wait(g).unwrap_or_else(|e| e.into_inner()))
            }
            (Condvar::Shuttle(c), MutexGuard::Shuttle(g)) => MutexGuard::Shuttle(
                c.get(|()| shuttle::sync::Condvar::new())
                    .wait(g)
                    .unwrap_or_else(|e| e.into_inner()),
            ),
            _ => unreachable!("[daxcheck internal bug] condvar and mutex from different backends"),
        }
    }

    #[track_caller]
    pub fn notify_all(&self) {
        match self {
            Condvar::Std(c) => c.notify_all(),
            Condvar::Loom(c) => c.notify_all(),
            Condvar::Shuttle(c) => c.get(|()| shuttle::sync::Condvar::new()).notify_all(),
        }
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}

/// A reader/writer semaphore (XFS MMAPLOCK, `invalidate_lock`, `mmap_lock`).
pub enum RwSem<T> {
    Std(std::sync::RwLock<T>),
    Loom(loom::sync::RwLock<T>),
    Shuttle(Lazy<shuttle::sync::RwLock<T>, T>),
}

pub enum RwSemRead<'a, T> {
    Std(#[allow(dead_code)] std::sync::RwLockReadGuard<'a, T>),
    Loom(#[allow(dead_code)] loom::sync::RwLockReadGuard<'a, T>),
    Shuttle(#[allow(dead_code)] shuttle::sync::RwLockReadGuard<'a, T>),
}

pub enum RwSemWrite<'a, T> {
    Std(#[allow(dead_code)] std::sync::RwLockWriteGuard<'a, T>),
    Loom(#[allow(dead_code)] loom::sync::RwLockWriteGuard<'a, T>),
    Shuttle(#[allow(dead_code)] shuttle::sync::RwLockWriteGuard<'a, T>),
}

impl<T> RwSem<T> {
    #[track_caller]
    pub fn new(v: T) -> Self {
        match backend() {
            Backend::Std => RwSem::Std(std::sync::RwLock::new(v)),
            Backend::Loom => RwSem::Loom(loom::sync::RwLock::new(v)),
            Backend::Shuttle => RwSem::Shuttle(Lazy::new(v)),
        }
    }

    #[track_caller]
    pub fn read(&self) -> RwSemRead<'_, T> {
        match self {
            RwSem::Std(l) => RwSemRead::Std(l.read().unwrap_or_else(|e| e.into_inner())),
            RwSem::Loom(l) => RwSemRead::Loom(l.read().unwrap_or_else(|e| e.into_inner())),
            RwSem::Shuttle(l) => RwSemRead::Shuttle(
                l.get(shuttle::sync::RwLock::new)
                    .read()
                    .unwrap_or_else(|e| e.into_inner()),
            ),
        }
    }

    #[track_caller]
    pub fn write(&self) -> RwSemWrite<'_, T> {
        match self {
            RwSem::Std(l) => RwSemWrite::Std(l.write().unwrap_or_else(|e| e.into_inner())),
            RwSem::Loom(l) => RwSemWrite::Loom(l.write().unwrap_or_else(|e| e.into_inner())),
            RwSem::Shuttle(l) => RwSemWrite::Shuttle(
                l.get(shuttle::sync::RwLock::new)
                    .write()
                    .unwrap_or_else(|e| e.into_inner()),
            ),
        }
    }
}

/// `atomic_t`: the folio refcount and mapcounts.
pub enum AtomicI32 {
    Std(std::sync::atomic::AtomicI32),
    Loom(loom::sync::atomic::AtomicI32),
    Shuttle(Lazy<shuttle::sync::atomic::AtomicI32, i32>),
}

/// A shuttle primitive built at its first use. shuttle's constructors touch
/// no execution state (no scheduling point, an all-zero clock, a signature
/// that names shuttle's own source line), so building one late changes no
/// schedule; but each hashes that signature, and most primitives of a world
/// (the counters of frames a scenario never maps, the locks of slots it
/// never faults) are never used: eager construction was a seventh of a
/// shuttle execution's instructions.
pub struct Lazy<A, V> {
    init: std::sync::Mutex<Option<V>>,
    a: std::sync::OnceLock<A>,
}

impl<A, V> Lazy<A, V> {
    fn new(init: V) -> Self {
        Lazy {
            init: std::sync::Mutex::new(Some(init)),
            a: std::sync::OnceLock::new(),
        }
    }

    #[inline]
    fn get(&self, make: fn(V) -> A) -> &A {
        self.a.get_or_init(|| {
            let v = self.init.lock().unwrap_or_else(|e| e.into_inner()).take();
            make(v.expect("[daxcheck internal bug] lazy primitive built twice"))
        })
    }
}

pub use std::sync::atomic::Ordering;

impl AtomicI32 {
    #[track_caller]
    pub fn new(v: i32) -> Self {
        match backend() {
            Backend::Std => AtomicI32::Std(std::sync::atomic::AtomicI32::new(v)),
            Backend::Loom => AtomicI32::Loom(loom::sync::atomic::AtomicI32::new(v)),
            Backend::Shuttle => AtomicI32::Shuttle(Lazy::new(v)),
        }
    }

    #[track_caller]
    pub fn load(&self, o: Ordering) -> i32 {
        match self {
            AtomicI32::Std(a) => a.load(o),
            AtomicI32::Loom(a) => a.load(o),
            AtomicI32::Shuttle(a) => a.get(shuttle::sync::atomic::AtomicI32::new).load(o),
        }
    }

    /// Returns the previous value, like `std`.
    #[track_caller]
    pub fn fetch_add(&self, v: i32, o: Ordering) -> i32 {
        match self {
            AtomicI32::Std(a) => a.fetch_add(v, o),
            AtomicI32::Loom(a) => a.fetch_add(v, o),
            AtomicI32::Shuttle(a) => a.get(shuttle::sync::atomic::AtomicI32::new).fetch_add(v, o),
        }
    }

    /// `atomic_cmpxchg`: `Ok(old)` when the value was `current`.
    #[track_caller]
    pub fn compare_exchange(&self, current: i32, new: i32, o: Ordering) -> Result<i32, i32> {
        match self {
            AtomicI32::Std(a) => a.compare_exchange(current, new, o, Ordering::Relaxed),
            AtomicI32::Loom(a) => a.compare_exchange(current, new, o, Ordering::Relaxed),
            AtomicI32::Shuttle(a) => a
                .get(shuttle::sync::atomic::AtomicI32::new)
                .compare_exchange(current, new, o, Ordering::Relaxed),
        }
    }
}

/// A marked (`READ_ONCE`/`WRITE_ONCE`) word: page-table entries read by
/// GUP-fast, `compound_head`, the `READ_ONCE(folio->mapping)` mirror.
pub enum AtomicU64 {
    Std(std::sync::atomic::AtomicU64),
    Loom(loom::sync::atomic::AtomicU64),
    Shuttle(Lazy<shuttle::sync::atomic::AtomicU64, u64>),
}

impl AtomicU64 {
    #[track_caller]
    pub fn new(v: u64) -> Self {
        match backend() {
            Backend::Std => AtomicU64::Std(std::sync::atomic::AtomicU64::new(v)),
            Backend::Loom => AtomicU64::Loom(loom::sync::atomic::AtomicU64::new(v)),
            Backend::Shuttle => AtomicU64::Shuttle(Lazy::new(v)),
        }
    }

    #[track_caller]
    pub fn load(&self, o: Ordering) -> u64 {
        match self {
            AtomicU64::Std(a) => a.load(o),
            AtomicU64::Loom(a) => a.load(o),
            AtomicU64::Shuttle(a) => a.get(shuttle::sync::atomic::AtomicU64::new).load(o),
        }
    }

    #[track_caller]
    pub fn store(&self, v: u64, o: Ordering) {
        match self {
            AtomicU64::Std(a) => a.store(v, o),
            AtomicU64::Loom(a) => a.store(v, o),
            AtomicU64::Shuttle(a) => a.get(shuttle::sync::atomic::AtomicU64::new).store(v, o),
        }
    }
}

/// A plain-data field the kernel changes as ordinary memory (`folio->mapping`,
/// the `index`/`share` union, compound head and order...).
///
/// Under loom this is loom's tracked cell, so two accesses not ordered by a
/// lock or an atomic are reported as a data race. Under std it is a std mutex
/// (sound, and invisible to the model). Under shuttle it is the same: shuttle
/// does not look for data races (`docs/facade.md`).
pub enum DataCell<T> {
    Std(std::sync::Mutex<T>),
    /// loom's tracked cell, and a copy for the model's own checks.
    Loom(loom::cell::UnsafeCell<T>, std::sync::Mutex<T>),
}

// SAFETY: the loom variant only exists inside a loom run, where every model
// thread runs on one OS thread and loom itself checks that accesses are
// ordered; the std variant is a real mutex.
unsafe impl<T: Send> Sync for DataCell<T> {}

impl<T: Copy> DataCell<T> {
    #[track_caller]
    pub fn new(v: T) -> Self {
        match backend() {
            Backend::Loom if LOOM_CELLS.with(|c| c.get()) => {
                DataCell::Loom(loom::cell::UnsafeCell::new(v), std::sync::Mutex::new(v))
            }
            Backend::Loom => DataCell::Std(std::sync::Mutex::new(v)),
            Backend::Std | Backend::Shuttle => DataCell::Std(std::sync::Mutex::new(v)),
        }
    }

    #[track_caller]
    pub fn get(&self) -> T {
        match self {
            DataCell::Std(m) => *m.lock().unwrap_or_else(|e| e.into_inner()),
            // SAFETY: loom checks this read against concurrent writes.
            DataCell::Loom(c, _) => c.with(|p| unsafe { *p }),
        }
    }

    #[track_caller]
    pub fn set(&self, v: T) {
        match self {
            DataCell::Std(m) => *m.lock().unwrap_or_else(|e| e.into_inner()) = v,
            DataCell::Loom(c, shadow) => {
                // SAFETY: loom checks this write against concurrent accesses.
                c.with_mut(|p| unsafe { *p = v });
                *shadow.lock().unwrap_or_else(|e| e.into_inner()) = v;
            }
        }
    }

    /// The current value for the model's own checks: never a tracked
    /// access, so checking cannot itself be reported as a race.
    pub fn peek(&self) -> T {
        match self {
            DataCell::Std(m) | DataCell::Loom(_, m) => *m.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Model threads: spawn and join on the current backend.
pub mod thread {
    use super::{backend, set_backend, Backend};

    pub enum JoinHandle<T> {
        Std(std::thread::JoinHandle<T>),
        Loom(loom::thread::JoinHandle<T>),
        Shuttle(shuttle::thread::JoinHandle<T>),
    }

    /// `cond_resched()` in a retry loop: lets the explorer run someone else.
    #[track_caller]
    pub fn yield_now() {
        match backend() {
            Backend::Std => std::thread::yield_now(),
            Backend::Loom => loom::thread::yield_now(),
            Backend::Shuttle => shuttle::thread::yield_now(),
        }
    }

    #[track_caller]
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match backend() {
            Backend::Std => JoinHandle::Std(std::thread::spawn(move || {
                set_backend(Backend::Std);
                f()
            })),
            Backend::Loom => JoinHandle::Loom(loom::thread::spawn(f)),
            Backend::Shuttle => JoinHandle::Shuttle(shuttle::thread::spawn(f)),
        }
    }

    impl<T> JoinHandle<T> {
        /// A panic in the child is re-raised in the joiner: the explorer turns
        /// it into a report.
        #[track_caller]
        pub fn join(self) -> T {
            let r = match self {
                JoinHandle::Std(h) => h.join(),
                JoinHandle::Loom(h) => h.join(),
                JoinHandle::Shuttle(h) => h.join(),
            };
            r.unwrap_or_else(|p| std::panic::resume_unwind(p))
        }
    }
}
