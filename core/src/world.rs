//! The modelled machine: page frames, files (mappings), processes (mm) and
//! the hashed waitqueues, plus `Cx`, the per-thread context (the kernel's
//! `current`) through which every lock and every event goes.

use std::cell::RefCell;
use std::sync::Arc;

use crate::config::{Config, Mutant};
use crate::entry::{Xarray, PG_PMD_NR};
use crate::sync::{AtomicI32, DataCell, Mutex, MutexGuard, RwSem, RwSemRead, RwSemWrite};
use crate::trace::{Event, LockId, Recorder, Val, What};
use crate::violation::{Check, Violation};
use crate::wait::WaitTable;

/// pfn of the shared zero page (`ZERO_PAGE(0)`).
pub const ZERO_PFN: u64 = 1;
/// pfn of the huge zero folio's head (an order-PMD_ORDER folio).
pub const HUGE_ZERO_PFN: u64 = 2;
/// First pfn of the pmem pgmap (PMD aligned).
pub const DAX_BASE: u64 = 8;
/// The pgmap id every DAX frame points back to.
pub const PGMAP_ID: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Ordinary RAM with a struct page (pfn 0, the junk pfn of EMPTY entries).
    Ram,
    /// The zero page or a frame of the huge zero folio: must never change.
    Zero,
    /// No struct page is mapped for this pfn (vmemmap hole).
    Absent,
    /// A ZONE_DEVICE FS_DAX frame of the pgmap.
    Dax,
}

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
    pub fn load(&self, o: crate::sync::Ordering) -> i32 {
        self.a.load(o)
    }

    /// An atomic add; returns the old value. The shadow follows the
    /// modification order, which is total for read-modify-writes.
    #[track_caller]
    pub fn fetch_add(&self, d: i32, o: crate::sync::Ordering) -> i32 {
        let old = self.a.fetch_add(d, o);
        self.shadow
            .store(old + d, std::sync::atomic::Ordering::SeqCst);
        old
    }

    /// `atomic_cmpxchg`; the shadow follows a successful exchange.
    #[track_caller]
    pub fn compare_exchange(
        &self,
        current: i32,
        new: i32,
        o: crate::sync::Ordering,
    ) -> Result<i32, i32> {
        let r = self.a.compare_exchange(current, new, o);
        if r.is_ok() {
            self.shadow.store(new, std::sync::atomic::Ordering::SeqCst);
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
    shadow: std::sync::Mutex<T>,
}

impl<T: Clone> Locked<T> {
    pub fn new(v: T) -> Locked<T> {
        Locked {
            m: Mutex::new(v.clone()),
            shadow: std::sync::Mutex::new(v),
        }
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
    a: crate::sync::AtomicU64,
    shadow: std::sync::atomic::AtomicU64,
    _t: std::marker::PhantomData<T>,
}

impl<T: Word> Marked<T> {
    pub fn new(v: T) -> Marked<T> {
        Marked {
            a: crate::sync::AtomicU64::new(v.to_word()),
            shadow: std::sync::atomic::AtomicU64::new(v.to_word()),
            _t: std::marker::PhantomData,
        }
    }

    pub fn peek(&self) -> T {
        T::from_word(self.shadow.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// `WRITE_ONCE` without an event of its own (the caller records one).
    pub(crate) fn store_raw(&self, v: T) {
        self.a.store(v.to_word(), crate::sync::Ordering::Release);
        self.shadow
            .store(v.to_word(), std::sync::atomic::Ordering::SeqCst);
    }

    /// Set before any thread runs (world construction).
    fn init(&self, v: T) {
        self.a.store(v.to_word(), crate::sync::Ordering::Relaxed);
        self.shadow
            .store(v.to_word(), std::sync::atomic::Ordering::SeqCst);
    }
}

/// One `struct page`.
pub struct Frame {
    pub pfn: u64,
    pub kind: FrameKind,
    /// `_refcount`; meaningful on a folio head or an order-0 page.
    pub refcount: Counter,
    /// Per-page `_mapcount`, counted from 0 (the kernel stores -1 for none).
    pub mapcount: Counter,
    /// `_entire_mapcount` (PMD mappings), on a head, from 0.
    pub entire_mapcount: Counter,
    /// `_large_mapcount` of a large folio's head: every PTE and PMD mapping
    /// of the folio, from 0; what `folio_mapcount` reads in one go.
    pub large_mapcount: Counter,
    /// PG_head.
    pub head: DataCell<bool>,
    /// `compound_head` of a tail page (WRITE_ONCE/READ_ONCE in the kernel).
    pub compound_head: Marked<Option<u64>>,
    /// The folio order bits this frame carries as page[1] of a large folio.
    pub order: DataCell<u8>,
    /// `_nr_pages` of page[1], which overlays `memcg_data` (bug B3).
    pub memcg: DataCell<u64>,
    pub mapping: DataCell<Option<u8>>,
    /// What a lockless `READ_ONCE(folio->mapping)` sees: written with every
    /// store to `mapping` (see `dax::set_mapping`).
    pub mapping_once: Marked<Option<u8>>,
    /// `_pincount` of a large folio (FOLL_PIN).
    pub pincount: Counter,
    /// Model-only: the index an order-0 non-shared association wrote into
    /// the union cell. Before 2026 `dax_folio_put` leaves it there (H5): the
    /// checker tells that documented stale cell from a leaked share count.
    pub stale_index: std::sync::atomic::AtomicU64,
    /// The `index`/`share` union: one cell, two views.
    pub index_share: DataCell<u64>,
    /// `pgmap`, whose storage `prep_compound_page` clobbers in tail pages.
    pub pgmap: DataCell<Option<u8>>,
    /// PG_hwpoison, set by memory failure.
    pub hwpoison: DataCell<bool>,
}

impl Frame {
    fn new(pfn: u64, kind: FrameKind) -> Frame {
        Frame {
            pfn,
            kind,
            refcount: Counter::new(0),
            mapcount: Counter::new(0),
            entire_mapcount: Counter::new(0),
            large_mapcount: Counter::new(0),
            head: DataCell::new(false),
            compound_head: Marked::new(None),
            order: DataCell::new(0),
            memcg: DataCell::new(0),
            mapping: DataCell::new(None),
            mapping_once: Marked::new(None),
            pincount: Counter::new(0),
            stale_index: std::sync::atomic::AtomicU64::new(u64::MAX),
            index_share: DataCell::new(0),
            pgmap: DataCell::new(if kind == FrameKind::Dax {
                Some(PGMAP_ID)
            } else {
                None
            }),
            hwpoison: DataCell::new(false),
        }
    }
}

/// One FS block of a file's block map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub pfn: u64,
    /// IOMAP_F_SHARED: the extent is reflinked.
    pub shared: bool,
}

/// A file: its `address_space` (xarray + `xa_lock`), FS fault lock, size and
/// block map.
pub struct Inode {
    pub id: u8,
    /// `i_pages` with its `xa_lock`.
    pub xa: Locked<Xarray>,
    /// XFS MMAPLOCK / `invalidate_lock`: faults shared, truncate exclusive.
    pub fs_lock: RwSem<()>,
    /// `i_size` in pages; written only under the FS lock held exclusive.
    pub i_size: DataCell<u64>,
    /// Block map per index (None = hole); protected by the FS lock.
    pub blocks: Vec<DataCell<Option<Block>>>,
    /// `i_mmap_rwsem`, guarding which processes map the file.
    pub i_mmap: RwSem<()>,
    /// XFS ILOCK: the extent map (`blocks`) and its metadata state
    /// (`meta_dirty`) change and are read under it.
    pub ilock: RwSem<()>,
    /// The inode was evicted and freed (`destroy_inode`); with RCU not
    /// modelled the free is immediate, so any later dereference is a
    /// use-after-free (bug B16).
    pub evicted: DataCell<bool>,
    /// XFS IOLOCK (`inode->i_rwsem`): write(2) and truncate take it
    /// exclusive, outside the MMAPLOCK; faults never take it.
    pub io_lock: RwSem<()>,
    /// Per index: the extent record mapping this block is not yet durable in
    /// the log, so a write iomap reports IOMAP_F_DIRTY. Set by a CoW remap,
    /// cleared by fsync's log force. (XFS decides per inode; per block keeps
    /// I17 precise.) Written by CoW (IOLOCK) and fsync, read by faults: the
    /// kernel orders these with the ILOCK, which the model leaves out.
    pub meta_dirty: Vec<DataCell<bool>>,
}

/// The page table of one process over one file's range: one slot per PMD.
pub struct PmdSlot {
    /// The PMD value, under `pmd_lock`.
    pub pmd: Locked<Pmd>,
    /// The PTEs of the PTE table, under its PTE lock.
    pub ptes: Locked<[Pte; PG_PMD_NR as usize]>,
    /// What the lockless walker (GUP-fast) reads: `pmdp_get_lockless`,
    /// `ptep_get_lockless`. Every store under the PTL updates it.
    pub pmd_word: Marked<Pmd>,
    pub pte_words: [Marked<Pte>; PG_PMD_NR as usize],
}

impl Word for Pte {
    fn to_word(self) -> u64 {
        match self {
            Pte::None => 0,
            Pte::Present {
                pfn,
                write,
                special,
            } => 1 | (write as u64) << 1 | (special as u64) << 2 | pfn << 8,
        }
    }
    fn from_word(w: u64) -> Self {
        if w & 1 == 0 {
            Pte::None
        } else {
            Pte::Present {
                pfn: w >> 8,
                write: w & 2 != 0,
                special: w & 4 != 0,
            }
        }
    }
}

impl Word for Pmd {
    fn to_word(self) -> u64 {
        match self {
            Pmd::None => 0,
            Pmd::Table => 1,
            Pmd::Huge {
                pfn,
                write,
                special,
            } => 2 | (write as u64) << 2 | (special as u64) << 3 | pfn << 8,
        }
    }
    fn from_word(w: u64) -> Self {
        match w & 3 {
            0 => Pmd::None,
            1 => Pmd::Table,
            _ => Pmd::Huge {
                pfn: w >> 8,
                write: w & 4 != 0,
                special: w & 8 != 0,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pmd {
    None,
    /// Points to the slot's PTE table.
    Table,
    Huge {
        pfn: u64,
        write: bool,
        special: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pte {
    None,
    Present {
        pfn: u64,
        write: bool,
        special: bool,
    },
}

/// A process address space that maps every file at page offset = address.
pub struct Mm {
    pub id: u8,
    pub mmap_lock: RwSem<()>,
    /// Whether the VMA of each file is still mapped (under `mmap_lock`).
    pub vma_live: Vec<DataCell<bool>>,
    /// `pt[file][pmd slot]`.
    pub pt: Vec<Vec<PmdSlot>>,
    /// Per file: the VMA was mmapped with MAP_SYNC (`VM_SYNC`); false
    /// unless `SetupExt::map_sync` names (mm, file).
    pub map_sync: Vec<DataCell<bool>>,
}

/// Shape of a world: files with their sizes and blocks, and how many
/// processes map them.
#[derive(Clone, Debug)]
pub struct Setup {
    pub files: Vec<FileSetup>,
    pub mms: u8,
    /// pmem frames in the pgmap.
    pub dax_frames: u64,
    /// MAP_SYNC VMAs, metadata not yet durable, the free-block pool.
    pub ext: SetupExt,
}

#[derive(Clone, Debug)]
pub struct FileSetup {
    /// Pages in the file's range (a multiple of PG_PMD_NR).
    pub pages: u64,
    /// `i_size` in pages.
    pub size: u64,
    pub blocks: Vec<Option<Block>>,
}

/// World state that `Setup` does not describe (kept out of `Setup` so that
/// every existing `Setup { .. }` literal still compiles). The default is the
/// world `World::new` builds.
#[derive(Clone, Debug, Default)]
pub struct SetupExt {
    /// (mm, file) pairs whose VMA is MAP_SYNC.
    pub map_sync: Vec<(u8, u8)>,
    /// (file, index) pairs whose block metadata starts out not durable.
    pub meta_dirty: Vec<(u8, u64)>,
    /// The allocator's free blocks, handed out in order; None means every
    /// pgmap frame that no file's block map names.
    pub free_blocks: Option<Vec<u64>>,
}

pub struct World {
    pub cfg: Config,
    pub frames: Vec<Frame>,
    pub files: Vec<Inode>,
    pub mms: Vec<Mm>,
    /// The 4096 hashed DAX entry waitqueues, scaled down.
    pub entry_wq: WaitTable,
    /// `bit_wait_table`, where `wait_var_event` sleeps.
    pub var_wq: WaitTable,
    pub rec: Arc<Recorder>,
    /// Threads inside a top-level operation (model bookkeeping, invisible to
    /// the explorers); when it drops to 0 the world is quiescent.
    pub in_op: std::sync::atomic::AtomicUsize,
    /// Outstanding GUP references (model bookkeeping for I1's Pins(f)).
    pub pins: std::sync::Mutex<Vec<crate::gup::PinRec>>,
    /// The block allocator's free list (FS-free pfns), under its own lock
    /// (the AGF buffer lock of the allocation group).
    pub free_blocks: Locked<Vec<u64>>,
    /// Recorded accesses and vector clocks (`access.rs`); None when off.
    pub acc: Option<Arc<crate::access::Log>>,
}

impl World {
    /// Whether the frame's union cell holds only the stale order-0 index of
    /// its last non-shared association, which kernels before 2026 keep (H5).
    pub fn stale_index_cell(&self, pfn: u64) -> bool {
        let f = &self.frames[pfn as usize];
        let cell = f.index_share.peek();
        self.cfg.kernel != crate::config::KernelState::Y2026
            && f.mapping.peek().is_none()
            && !f.head.peek()
            && cell != 0
            && cell == f.stale_index.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Build a world on the current backend. Must run inside the loom or
    /// shuttle closure.
    pub fn new(cfg: Config, setup: &Setup, rec: Arc<Recorder>) -> Arc<World> {
        World::new_ext(cfg, setup, &setup.ext, rec)
    }

    /// `World::new` with the state of `SetupExt` (MAP_SYNC VMAs, metadata
    /// not yet durable, the free-block pool).
    pub fn new_ext(cfg: Config, setup: &Setup, ext: &SetupExt, rec: Arc<Recorder>) -> Arc<World> {
        let nframes = DAX_BASE + setup.dax_frames;
        let frames = (0..nframes)
            .map(|pfn| {
                // M17/B2 model a device whose vmemmap (altmap) has no struct
                // page for pfn 0, the junk pfn of EMPTY entries.
                let altmap = cfg.any(&[Mutant::M17, Mutant::B2]);
                let kind = match pfn {
                    0 if altmap => FrameKind::Absent,
                    0 => FrameKind::Ram,
                    ZERO_PFN => FrameKind::Zero,
                    p if p == HUGE_ZERO_PFN || p == HUGE_ZERO_PFN + 1 => FrameKind::Zero,
                    p if p >= DAX_BASE => FrameKind::Dax,
                    _ => FrameKind::Absent,
                };
                Frame::new(pfn, kind)
            })
            .collect::<Vec<_>>();
        // The huge zero folio is a permanent order-PMD_ORDER compound page.
        frames[HUGE_ZERO_PFN as usize].head.set(true);
        frames[HUGE_ZERO_PFN as usize + 1]
            .compound_head
            .init(Some(HUGE_ZERO_PFN));
        frames[HUGE_ZERO_PFN as usize + 1]
            .order
            .set(crate::entry::PMD_ORDER as u8);
        let files = setup
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| Inode {
                id: i as u8,
                xa: Locked::new(Xarray::default()),
                fs_lock: RwSem::new(()),
                i_size: DataCell::new(f.size),
                blocks: (0..f.pages)
                    .map(|k| DataCell::new(f.blocks.get(k as usize).copied().flatten()))
                    .collect(),
                i_mmap: RwSem::new(()),
                ilock: RwSem::new(()),
                evicted: DataCell::new(false),
                io_lock: RwSem::new(()),
                meta_dirty: (0..f.pages)
                    .map(|k| DataCell::new(ext.meta_dirty.contains(&(i as u8, k))))
                    .collect(),
            })
            .collect();
        let mms = (0..setup.mms)
            .map(|id| Mm {
                id,
                mmap_lock: RwSem::new(()),
                vma_live: setup.files.iter().map(|_| DataCell::new(true)).collect(),
                pt: setup
                    .files
                    .iter()
                    .map(|f| {
                        (0..f.pages.div_ceil(PG_PMD_NR))
                            .map(|_| PmdSlot {
                                pmd: Locked::new(Pmd::None),
                                ptes: Locked::new([Pte::None; PG_PMD_NR as usize]),
                                pmd_word: Marked::new(Pmd::None),
                                pte_words: std::array::from_fn(|_| Marked::new(Pte::None)),
                            })
                            .collect()
                    })
                    .collect(),
                map_sync: (0..setup.files.len())
                    .map(|f| DataCell::new(ext.map_sync.contains(&(id, f as u8))))
                    .collect(),
            })
            .collect();
        let free = ext.free_blocks.clone().unwrap_or_else(|| {
            (DAX_BASE..DAX_BASE + setup.dax_frames)
                .filter(|&p| {
                    !setup
                        .files
                        .iter()
                        .any(|f| f.blocks.iter().flatten().any(|b| b.pfn == p))
                })
                .collect()
        });
        let buckets = cfg.wait_buckets.max(1);
        Arc::new(World {
            acc: crate::access::for_new_world(&rec),
            frames,
            files,
            mms,
            entry_wq: WaitTable::new("entry", buckets),
            var_wq: WaitTable::new("var", 2),
            rec,
            cfg,
            in_op: std::sync::atomic::AtomicUsize::new(0),
            pins: std::sync::Mutex::new(Vec::new()),
            free_blocks: Locked::new(free),
        })
    }

    pub fn has(&self, m: Mutant) -> bool {
        self.cfg.has(m)
    }

    pub fn file(&self, f: u8) -> &Inode {
        &self.files[f as usize]
    }

    /// Frame lookup for a pfn that must have a struct page.
    pub fn frame(&self, pfn: u64) -> Option<&Frame> {
        self.frames
            .get(pfn as usize)
            .filter(|f| f.kind != FrameKind::Absent)
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
            // The last thread to leave an operation runs the quiescent
            // checker: every lock is free, no wait is pending.
            let left = cx.w.in_op.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) - 1;
            if left == 0 && !std::thread::panicking() {
                crate::check::quiescent(cx);
            }
        }
    }
}

/// A held spinlock or mutex: records its release when dropped.
pub struct Held<'a, T: Clone> {
    g: Option<MutexGuard<'a, T>>,
    shadow: &'a std::sync::Mutex<T>,
    cx: &'a Cx,
    id: LockId,
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
            *self.shadow.lock().unwrap_or_else(|e| e.into_inner()) = (*g).clone();
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
        *self.shadow.lock().unwrap_or_else(|e| e.into_inner()) = (*g).clone();
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
        }
    }

    /// Enter a modelled kernel function: events are attributed to it.
    pub fn enter(&self, f: &'static str) -> FnScope<'_> {
        let outermost = self.funcs.borrow().is_empty();
        self.funcs.borrow_mut().push(f);
        if outermost {
            // A recorded step, so that which operations are under way (and
            // hence every quiescent point) follows from the schedule alone.
            self.w
                .in_op
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.ev(What::Begin);
        }
        FnScope(self)
    }

    pub fn func(&self) -> &'static str {
        self.funcs.borrow().last().copied().unwrap_or("-")
    }

    pub fn ev(&self, what: What) {
        crate::access::on_event(self, &what);
        self.w.rec.push(Event {
            tid: self.tid,
            func: self.func(),
            what,
        });
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
        self.w.rec.set_blocked(self.tid, Some(format!("{id}")));
        let g = l.m.lock();
        self.acquired(id, "lock");
        Held {
            g: Some(g),
            shadow: &l.shadow,
            cx: self,
            id,
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
            .set_blocked(self.tid, Some(format!("down_read {id}")));
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
            .set_blocked(self.tid, Some(format!("down_write {id}")));
        let g = s.write();
        self.acquired(id, "down_write");
        RwHeld {
            g: Some(RwGuard::Write(g)),
            cx: self,
            id,
        }
    }

    /// The world, with a lifetime tied to this context (the Arc lives as
    /// long as the context).
    pub fn world(&self) -> &World {
        &self.w
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
