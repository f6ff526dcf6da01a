//! The per-thread context `Cx`, the kernel's `current`: which thread runs,
//! which modelled kernel function it is in, which locks it holds (with the
//! guards that record their release) and its TLB gather. Every lock, event
//! and violation of the model goes through it.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use crate::entry::Xarray;
use crate::sync::shadow::{Locked, Marked, Word};
use crate::sync::{DataCell, MutexGuard, RwSem, RwSemRead, RwSemWrite};
use crate::trace::{file_name, Blocked, Event, Val, What};
use crate::violation::{Check, Violation};
use crate::world::World;

/// A lock in the model, named as the kernel names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockId {
    /// `mapping->i_pages` xa_lock of file `.0`.
    XaLock(u8),
    /// The FS fault lock (XFS MMAPLOCK / `invalidate_lock`) of file `.0`.
    FsLock(u8),
    /// `mmap_lock` of process `.0`.
    MmapLock(u8),
    /// `pmd_lock` of (mm, file, pmd slot).
    Pmd(u8, u8, u8),
    /// The PTE table lock of (mm, file, pmd slot).
    Pte(u8, u8, u8),
    /// `i_mmap_rwsem` of file `.0`.
    IMmap(u8),
    /// XFS ILOCK of file `.0`.
    ILock(u8),
    /// A hashed waitqueue head's spinlock (entry table or var table, bucket).
    WaitQueue(&'static str, u8),
    /// XFS IOLOCK (`i_rwsem`) of file `.0`.
    IoLock(u8),
    /// The block allocator's lock (AGF buffer lock).
    Alloc,
}

impl fmt::Display for LockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LockId::XaLock(m) => write!(f, "xa_lock({})", file_name(m)),
            LockId::FsLock(m) => write!(f, "mmaplock({})", file_name(m)),
            LockId::MmapLock(mm) => write!(f, "mmap_lock(mm{mm})"),
            LockId::Pmd(mm, m, s) => write!(f, "pmd_lock(mm{mm},{},pmd{s})", file_name(m)),
            LockId::Pte(mm, m, s) => write!(f, "pte_lock(mm{mm},{},pmd{s})", file_name(m)),
            LockId::IMmap(m) => write!(f, "i_mmap_rwsem({})", file_name(m)),
            LockId::ILock(m) => write!(f, "ilock({})", file_name(m)),
            LockId::WaitQueue(t, b) => write!(f, "{t}_wq[{b}].lock"),
            LockId::IoLock(m) => write!(f, "iolock({})", file_name(m)),
            LockId::Alloc => f.write_str("agf_lock"),
        }
    }
}

/// The per-thread context: who is running, which kernel function it is in,
/// which locks it holds and its TLB gather.
pub struct Cx {
    pub w: Arc<World>,
    pub tid: u8,
    funcs: RefCell<Vec<&'static str>>,
    held: RefCell<Vec<LockId>>,
    /// `struct mmu_gather`: pages whose reference drops at the flush.
    pub gather: RefCell<Vec<u64>>,
    /// `pfn_t *pfnp` of `dax_iomap_fault`: the pfn a NEEDDSYNC fault hands
    /// back to the FS handler for `dax_finish_sync_fault` (a stack variable
    /// of the caller in the kernel).
    pub pfnp: std::cell::Cell<Option<u64>>,
    /// The fault under way in this thread, for I21 (`mm::fault_post`).
    pub(crate) fault: std::cell::Cell<Option<FaultWindow>>,
}

/// One fault's view of its page-table slot, kept in the faulting thread's
/// `Cx` from the fault's start to its return (I21, `mm::fault_post`).
#[derive(Clone, Copy, Debug)]
pub struct FaultWindow {
    pub(crate) mm: u8,
    pub(crate) file: u8,
    pub(crate) slot: u64,
    /// The slot's store count when the fault began.
    pub(crate) stores_at_start: u64,
    /// The stores to the slot this thread made since.
    pub(crate) own: u64,
    /// The handler took a "raced, retry" exit that no store shows.
    pub(crate) raced: bool,
}

/// Pops the function name when the modelled kernel function returns.
pub struct FnScope<'a>(&'a Cx);

impl Drop for FnScope<'_> {
    fn drop(&mut self) {
        let cx = self.0;
        let outermost = {
            let mut f = cx.funcs.borrow_mut();
            f.pop();
            f.is_empty()
        };
        if outermost {
            // The last thread to leave an operation reports the world at
            // rest (every lock free, no wait pending) to the runner's hook.
            let left = cx.w.in_op.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) - 1;
            if left == 0 && !std::thread::panicking() {
                if cx.on_os_threads() {
                    quiescent_on_os_threads(cx);
                } else {
                    (cx.w.on_quiescent)(cx);
                }
            }
        }
    }
}

/// On real threads another thread can begin an operation while the checker
/// reads the world it changes (under loom and shuttle no scheduling point
/// separates the two). The checker takes the world exclusively: it runs only
/// if it closes the gate while no operation is under way, and operations
/// wait at the gate while it is closed ([`Cx::enter`]).
fn quiescent_on_os_threads(cx: &Cx) {
    use std::sync::atomic::Ordering::SeqCst;
    if cx
        .w
        .checking
        .compare_exchange(false, true, SeqCst, SeqCst)
        .is_err()
    {
        // Another thread is checking this same quiescent world.
        return;
    }
    // Open the gate even if the checker panics (a BUG it reports), or every
    // other thread would wait at it for ever.
    struct Open<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            self.0.store(false, SeqCst);
        }
    }
    let _open = Open(&cx.w.checking);
    if cx.w.in_op.load(SeqCst) == 0 {
        (cx.w.on_quiescent)(cx);
    }
    // Otherwise an operation began first: the world was not at rest, and
    // the last thread to leave that operation checks it.
}

/// A held spinlock or mutex: records its release when dropped.
pub struct Held<'a, T: Clone> {
    g: Option<MutexGuard<'a, T>>,
    shadow: &'a std::sync::Mutex<T>,
    cx: &'a Cx,
    id: LockId,
    /// The data was borrowed mutably since the shadow was last refreshed:
    /// a section that only reads leaves the shadow as it is (no copy of an
    /// xarray at every read-only `xa_unlock`).
    changed: bool,
}

impl<T: Clone> std::ops::Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.g
            .as_ref()
            .expect("[daxcheck internal bug] guard used after release")
    }
}

impl<T: Clone> std::ops::DerefMut for Held<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.changed = true;
        self.g
            .as_mut()
            .expect("[daxcheck internal bug] guard used after release")
    }
}

impl<T: Clone> Drop for Held<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The explorer is tearing the execution down (a deadlock or a
            // race was reported inside a wait): touching loom's state now
            // would panic again. The world is dropped whole anyway.
            if let Some(g) = self.g.take() {
                std::mem::forget(g);
            }
            return;
        }
        if let Some(g) = self.g.take() {
            if self.changed {
                *self.shadow.lock().unwrap_or_else(|e| e.into_inner()) = (*g).clone();
            }
            crate::access::release(self.cx, self.id, false);
            // Unlock, then record (see RwHeld).
            drop(g);
        }
        self.cx.released(self.id, "unlock");
    }
}

impl<'a, T: Clone> Held<'a, T> {
    /// Give up the guard for a condvar wait (the caller must hand it back
    /// with `rearm`).
    pub(crate) fn take_guard(&mut self) -> MutexGuard<'a, T> {
        let g = self
            .g
            .take()
            .expect("[daxcheck internal bug] guard used after release");
        if std::mem::take(&mut self.changed) {
            *self.shadow.lock().unwrap_or_else(|e| e.into_inner()) = (*g).clone();
        }
        crate::access::release(self.cx, self.id, false);
        g
    }

    pub(crate) fn rearm(&mut self, g: MutexGuard<'a, T>) {
        self.g = Some(g);
    }
}

/// A held rwsem (shared or exclusive).
pub struct RwHeld<'a> {
    g: Option<RwGuard<'a>>,
    cx: &'a Cx,
    id: LockId,
}

enum RwGuard<'a> {
    Read(#[allow(dead_code)] RwSemRead<'a, ()>),
    Write(#[allow(dead_code)] RwSemWrite<'a, ()>),
}

impl Drop for RwHeld<'_> {
    fn drop(&mut self) {
        // Unlock first, then record: the release is a scheduling point in
        // shuttle, and every scheduling point must be followed by a step of
        // the same thread (docs/replay.md).
        if std::thread::panicking() {
            if let Some(g) = self.g.take() {
                std::mem::forget(g);
            }
            return;
        }
        crate::access::release(self.cx, self.id, matches!(self.g, Some(RwGuard::Read(_))));
        let how = match self.g.take() {
            Some(RwGuard::Read(_)) => "up_read",
            _ => "up_write",
        };
        self.cx.released(self.id, how);
    }
}

impl Cx {
    pub fn new(w: Arc<World>, tid: u8) -> Cx {
        Cx {
            w,
            tid,
            funcs: RefCell::new(Vec::new()),
            held: RefCell::new(Vec::new()),
            gather: RefCell::new(Vec::new()),
            pfnp: std::cell::Cell::new(None),
            fault: std::cell::Cell::new(None),
        }
    }

    /// Enter a modelled kernel function: events are attributed to it.
    pub fn enter(&self, f: &'static str) -> FnScope<'_> {
        let outermost = self.funcs.borrow().is_empty();
        self.funcs.borrow_mut().push(f);
        if outermost {
            // A recorded step, so that which operations are under way (and
            // hence every quiescent point) follows from the schedule alone.
            if self.on_os_threads() {
                self.enter_gate();
            } else {
                self.w
                    .in_op
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            self.ev(What::Begin);
        }
        FnScope(self)
    }

    /// Whether the model threads run on real OS threads (the stress
    /// explorer), not one at a time under loom or shuttle.
    pub fn on_os_threads(&self) -> bool {
        self.w.os_threads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Real threads only: count this operation in, once the quiescent
    /// checker is not reading the world (see `quiescent_on_os_threads`).
    fn enter_gate(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            while self.w.checking.load(SeqCst) {
                std::thread::yield_now();
            }
            self.w.in_op.fetch_add(1, SeqCst);
            if !self.w.checking.load(SeqCst) {
                return;
            }
            self.w.in_op.fetch_sub(1, SeqCst);
        }
    }

    pub fn func(&self) -> &'static str {
        self.funcs.borrow().last().copied().unwrap_or("-")
    }

    pub fn ev(&self, what: What) {
        crate::access::on_event(self, &what);
        let touched = crate::step_check::touched(&what);
        self.w.rec.push(Event {
            tid: self.tid,
            func: self.func(),
            depth: u8::try_from(self.funcs.borrow().len().saturating_sub(1)).unwrap_or(u8::MAX),
            what,
        });
        // Spec §5's every-step properties, checked as soon as a field they
        // read changes (they read shadows only: no scheduling point).
        // Not on real threads: a check reads several shadows that other OS
        // threads change meanwhile, so it would report states no execution
        // has. Stress checks at rest only, as a hand-written stress test does.
        if let Some(t) = touched.filter(|_| !self.on_os_threads()) {
            crate::step_check::step(self, t);
        }
    }

    pub fn note(&self, s: impl Into<String>) {
        self.ev(What::Note(s.into()));
    }

    pub fn violate(&self, check: Check, detail: impl Into<String>) {
        let step = self.w.rec.steps();
        self.w.rec.violate(Violation {
            check,
            detail: detail.into(),
            tid: self.tid,
            step,
        });
    }

    /// A violation seen by the quiescent checker (reported as thread 0).
    pub fn violate_at_quiescence(&self, check: Check, detail: impl Into<String>) {
        let step = self.w.rec.steps();
        self.w.rec.violate(Violation {
            check,
            detail: detail.into(),
            tid: 0,
            step,
        });
    }

    /// A kernel `WARN_ON_ONCE(cond)`: reported, and execution goes on as in
    /// the kernel. Returns `cond`.
    pub fn warn_on(&self, cond: bool, site: &'static str, detail: impl FnOnce() -> String) -> bool {
        if cond {
            self.violate(Check::Warn(site), detail());
        }
        cond
    }

    pub fn holds(&self, id: LockId) -> bool {
        self.held.borrow().contains(&id)
    }

    /// Spec §2: never sleep holding `xa_lock` or a page-table lock.
    pub fn might_sleep(&self, what: &str) {
        let bad = self
            .held
            .borrow()
            .iter()
            .find(|l| {
                matches!(
                    l,
                    LockId::XaLock(_) | LockId::Pmd(..) | LockId::Pte(..) | LockId::WaitQueue(..)
                )
            })
            .copied();
        if let Some(l) = bad {
            self.violate(
                Check::LockRule("never sleep holding a spinlock"),
                format!("{what} while holding {l}"),
            );
        }
    }

    fn acquired(&self, id: LockId, how: &'static str) {
        self.w.rec.set_blocked(self.tid, None);
        self.held.borrow_mut().push(id);
        self.ev(What::Acquire(id, how));
    }

    fn released(&self, id: LockId, how: &'static str) {
        let mut h = self.held.borrow_mut();
        if let Some(pos) = h.iter().rposition(|&l| l == id) {
            h.remove(pos);
        }
        drop(h);
        self.ev(What::Release(id, how));
    }

    pub fn held_locks(&self) -> Vec<LockId> {
        self.held.borrow().clone()
    }

    /// `spin_lock` / `mutex_lock` on a model lock.
    #[track_caller]
    pub fn lock<'a, T: Clone>(&'a self, l: &'a Locked<T>, id: LockId) -> Held<'a, T> {
        self.w.rec.set_blocked(self.tid, Some(Blocked::Lock(id)));
        let g = l.m.lock();
        self.acquired(id, "lock");
        Held {
            g: Some(g),
            shadow: &l.shadow,
            cx: self,
            id,
            changed: false,
        }
    }

    /// `xa_lock_irq(&mapping->i_pages)`
    #[track_caller]
    pub fn xa_lock(&self, file: u8) -> Held<'_, Xarray> {
        self.lock(&self.w.files[file as usize].xa, LockId::XaLock(file))
    }

    #[track_caller]
    pub fn down_read<'a>(&'a self, s: &'a RwSem<()>, id: LockId) -> RwHeld<'a> {
        self.might_sleep("down_read");
        self.w
            .rec
            .set_blocked(self.tid, Some(Blocked::DownRead(id)));
        let g = s.read();
        self.acquired(id, "down_read");
        RwHeld {
            g: Some(RwGuard::Read(g)),
            cx: self,
            id,
        }
    }

    #[track_caller]
    pub fn down_write<'a>(&'a self, s: &'a RwSem<()>, id: LockId) -> RwHeld<'a> {
        self.might_sleep("down_write");
        self.w
            .rec
            .set_blocked(self.tid, Some(Blocked::DownWrite(id)));
        let g = s.write();
        self.acquired(id, "down_write");
        RwHeld {
            g: Some(RwGuard::Write(g)),
            cx: self,
            id,
        }
    }

    /// `WRITE_ONCE` of a marked field, recorded.
    pub fn write_once<T: Word>(
        &self,
        pfn: u64,
        name: &'static str,
        cell: &Marked<T>,
        new: T,
        val: fn(T) -> Val,
    ) {
        let old = cell.peek();
        if old == new && !self.w.cfg.strict_same_value_races {
            return;
        }
        cell.a.store(new.to_word(), crate::sync::Ordering::Relaxed);
        cell.shadow
            .store(new.to_word(), std::sync::atomic::Ordering::SeqCst);
        self.ev(What::Field {
            pfn,
            field: name,
            old: val(old),
            new: val(new),
        });
    }

    /// `READ_ONCE` of a marked field: a scheduling point and a recorded step.
    pub fn read_once<T: Word>(
        &self,
        pfn: u64,
        name: &'static str,
        cell: &Marked<T>,
        val: fn(T) -> Val,
    ) -> T {
        let v = T::from_word(cell.a.load(crate::sync::Ordering::Relaxed));
        self.ev(What::ReadField {
            pfn,
            field: name,
            val: val(v),
        });
        v
    }

    /// A plain store to a model field, recorded as an event. A store of the
    /// value the field already holds is modelled as no store: it cannot
    /// change what a racing reader sees (KCSAN's value-change rule), unless
    /// `Config::strict_same_value_races` asks for the C memory model's view
    /// (see docs/findings.md, F1).
    pub fn field<T: Copy + PartialEq>(
        &self,
        pfn: u64,
        name: &'static str,
        cell: &DataCell<T>,
        new: T,
        val: fn(T) -> Val,
    ) {
        let old = cell.get();
        if old == new && !self.w.cfg.strict_same_value_races {
            return;
        }
        cell.set(new);
        self.ev(What::Field {
            pfn,
            field: name,
            old: val(old),
            new: val(new),
        });
    }
}
