//! The modelled machine's state: page frames, files (mappings), processes
//! (mm) and their page tables, the hashed waitqueues, and the model's own
//! bookkeeping about them (outstanding GUP references, the checker's shadow
//! reads). The per-thread context that changes this state is `cx::Cx`.

use std::sync::Arc;

use crate::config::{Config, Mutant};
use crate::cx::Cx;
use crate::entry::{Xarray, PG_PMD_NR};
use crate::sync::shadow::{Counter, Locked, Marked};
use crate::sync::{DataCell, RwSem};
use crate::trace::Recorder;
use crate::vm::{FileOps, VmOps};
use crate::wait::WaitTable;

pub use crate::pgtable::{Pmd, Pte};

/// pfn of the shared zero page (`ZERO_PAGE(0)`).
pub const ZERO_PFN: u64 = 1;
/// pfn of the huge zero folio's head (an order-PMD_ORDER folio).
pub const HUGE_ZERO_PFN: u64 = 2;
/// First pfn of the pmem pgmap (PMD aligned).
pub const DAX_BASE: u64 = 8;
/// The pgmap id every DAX frame points back to.
pub const PGMAP_ID: u8 = 1;
/// A `mapping` value that is no `address_space`: the word holds the bits a
/// folio counter overlay left there (`_entire_mapcount`/`_pincount` of the
/// folio whose `page[1]` this page was, H1). The bits are in
/// `Frame::mapping_bits`.
pub const MAPPING_GARBAGE: u8 = 0xff;

/// `_mm_ids`/`_mm_id_mapcount` (CONFIG_MM_ID) of the folio whose `page[1]`
/// this frame is: which two processes map it and how often (kernel values,
/// -1 for none). Updated under the folio's large-mapcount bit lock, which
/// the model leaves out, so kept as model-only state while `page[1]` is a
/// tail; the `private` word is not touched by the split, the `index` word
/// is `Frame::index_share` (see `mm::rmap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmIds {
    /// `mm + 1` per slot; 0 is `MM_ID_DUMMY`.
    pub id: [u8; 2],
    pub mapcount: [i32; 2],
}

impl Default for MmIds {
    fn default() -> Self {
        MmIds {
            id: [0; 2],
            mapcount: [-1; 2],
        }
    }
}

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

/// One `struct page`.
pub struct Frame {
    pub pfn: u64,
    pub kind: FrameKind,
    /// `_refcount`; meaningful on a folio head or an order-0 page.
    pub refcount: Counter,
    /// Per-page `_mapcount`, counted from 0 (the kernel stores -1 for none).
    pub mapcount: Counter,
    /// The folio counters live in `page[1]`, where this frame is `page[1]`:
    /// `_entire_mapcount` (PMD mappings, from 0; kernel -1-based) overlays
    /// `page[1]`'s `mapping` word, and `prep_compound_page` resets it.
    pub entire_mapcount: Counter,
    /// `_large_mapcount` (every PTE and PMD mapping of the folio, from 0;
    /// what `folio_mapcount` reads in one go), in `page[1]`'s `lru.prev`.
    pub large_mapcount: Counter,
    /// PG_head.
    pub head: DataCell<bool>,
    /// `compound_head` of a tail page (WRITE_ONCE/READ_ONCE in the kernel).
    pub compound_head: Marked<Option<u64>>,
    /// The folio order bits this frame carries as `page[1]` of a large folio.
    pub order: DataCell<u8>,
    /// `_nr_pages` of `page[1]`, which overlays `memcg_data` (bug B3).
    pub memcg: DataCell<u64>,
    pub mapping: DataCell<Option<u8>>,
    /// What a lockless `READ_ONCE(folio->mapping)` sees: written with every
    /// store to `mapping` (see `dax::set_mapping`).
    pub mapping_once: Marked<Option<u8>>,
    /// `_pincount` of a large folio (FOLL_PIN), where this frame is `page[1]`:
    /// the upper half of `page[1]`'s `mapping` word; reset by
    /// `prep_compound_page`.
    pub pincount: Counter,
    /// Model-only: the index an order-0 non-shared association wrote into
    /// the union cell. Before 2026 `dax_folio_put` leaves it there (H5): the
    /// checker tells that documented stale cell from a leaked share count.
    pub stale_index: std::sync::atomic::AtomicU64,
    /// The `index`/`share` union: one cell, two views.
    pub index_share: DataCell<u64>,
    /// `pgmap`: for ZONE_DEVICE pages the first word of `struct page`, the
    /// word `compound_head` uses. `prep_compound_page` clobbers it in tail
    /// pages; `clear_compound_head` in the split zeroes it in the head until
    /// the split restores it (F1). A word that is also written by
    /// `WRITE_ONCE`, so lockless readers see each value change.
    pub pgmap: Marked<Option<u8>>,
    /// PG_hwpoison, set by memory failure.
    pub hwpoison: DataCell<bool>,
    /// Model-only: the raw `mapping` word while `mapping` is
    /// `MAPPING_GARBAGE` (what the rmap's `_entire_mapcount` update left in
    /// the page after the folio was split, H1).
    pub mapping_bits: std::sync::atomic::AtomicU64,
    /// Model-only: `page[1]`'s `_mm_ids` and, while it is a tail,
    /// `_mm_id_mapcount` (see `MmIds`).
    pub mm_ids: std::sync::Mutex<MmIds>,
}

impl Frame {
    fn new(pfn: u64, kind: FrameKind) -> Frame {
        Frame {
            pfn,
            kind,
            // The huge zero folio keeps the reference it was allocated with
            // (`get_huge_zero_folio`; only its shrinker drops it), so GUP
            // can take more on it. The zero page (and a free ZONE_DEVICE
            // folio) has none.
            refcount: Counter::new(i32::from(pfn == HUGE_ZERO_PFN)),
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
            pgmap: Marked::new(if kind == FrameKind::Dax {
                Some(PGMAP_ID)
            } else {
                None
            }),
            hwpoison: DataCell::new(false),
            mapping_bits: std::sync::atomic::AtomicU64::new(0),
            mm_ids: std::sync::Mutex::new(MmIds::default()),
        }
    }

    /// Model-only: `page[1]`'s `_mm_ids`/`_mm_id_mapcount`.
    pub fn mm_ids(&self) -> std::sync::MutexGuard<'_, MmIds> {
        self.mm_ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A process, by number (`mm0`, `mm1`): how scenarios name an `mm_struct`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mm(pub u8);

/// A file, by number (`A`, `B`): how scenarios name an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct File(pub u8);

/// File A (the first file of a `Setup`).
pub const FILE_A: File = File(0);
/// File B (the second file of a `Setup`).
pub const FILE_B: File = File(1);

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
    /// The `vm_ops` of every VMA that maps the file: how mm/ reaches the
    /// filesystem's fault handler.
    pub vm_ops: &'static VmOps,
    /// The `f_op` of every open file of the inode (fsync).
    pub f_op: &'static FileOps,
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
    /// XFS CoW fork (`ip->i_cowfp`) per index: the block a CoW write or
    /// write fault allocated and has not yet remapped into the data fork
    /// (`xfs_reflink_end_cow`). Under the ILOCK, held exclusive.
    pub cow_fork: Vec<DataCell<Option<u64>>>,
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
    /// How many PMD or PTE stores the slot has had (model bookkeeping for
    /// I21, `mm::fault_post`; no scheduling point).
    pub stores: std::sync::atomic::AtomicU64,
}

/// `struct mm_struct`: a process address space that maps every file at page offset = address.
pub struct MmStruct {
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

impl Setup {
    /// One private file of `pages` pages on pfns `DAX_BASE..`, mapped by two
    /// processes, with no spare pmem frames.
    pub fn file(pages: u64) -> Setup {
        Setup::files(vec![FileSetup::backed(pages)])
    }

    /// These files, mapped by two processes, on as many pmem frames as the
    /// largest needs (files share pfns when their blocks say so).
    pub fn files(files: Vec<FileSetup>) -> Setup {
        let dax_frames = files.iter().map(|f| f.pages).max().unwrap_or(0);
        Setup {
            files,
            mms: 2,
            dax_frames,
            ext: SetupExt::default(),
        }
    }

    /// `n` processes instead of two.
    pub fn mms(self, n: u8) -> Setup {
        Setup { mms: n, ..self }
    }

    /// `n` more pmem frames, FS-free (the allocator's pool).
    pub fn spare(self, n: u64) -> Setup {
        Setup {
            dax_frames: self.dax_frames + n,
            ..self
        }
    }
}

impl FileSetup {
    /// A file of `pages` pages, every block allocated, block `i` on pfn
    /// `DAX_BASE + i`, not shared; `i_size` covers all of it.
    pub fn backed(pages: u64) -> FileSetup {
        FileSetup {
            pages,
            size: pages,
            blocks: (0..pages)
                .map(|i| {
                    Some(Block {
                        pfn: DAX_BASE + i,
                        shared: false,
                    })
                })
                .collect(),
        }
    }

    /// Every block marked reflinked (IOMAP_F_SHARED).
    pub fn shared(mut self) -> FileSetup {
        for b in self.blocks.iter_mut().flatten() {
            b.shared = true;
        }
        self
    }
}

/// The rarer parts of a world's shape (MAP_SYNC VMAs, metadata not yet
/// durable, the free-block pool), grouped so that the common `Setup`
/// builders need not name them. The default is a world with none of them.
#[derive(Clone, Debug, Default)]
pub struct SetupExt {
    /// (mm, file) pairs whose VMA is MAP_SYNC.
    pub map_sync: Vec<(u8, u8)>,
    /// (file, index) pairs whose block metadata starts out not durable.
    pub meta_dirty: Vec<(u8, u64)>,
    /// The allocator's free blocks, handed out in order; None means every
    /// pgmap frame that no file's block map names.
    pub free_blocks: Option<Vec<u64>>,
    /// XFS's `always_cow` debug knob (`/sys/fs/xfs/debug/always_cow`,
    /// `xfs_is_always_cow_inode`): every write and write fault to a written
    /// extent goes through the CoW fork, shared or not.
    pub always_cow: bool,
}

pub struct World {
    pub cfg: Config,
    pub frames: Vec<Frame>,
    pub files: Vec<Inode>,
    pub mms: Vec<MmStruct>,
    /// The 4096 hashed DAX entry waitqueues, scaled down.
    pub entry_wq: WaitTable,
    /// `bit_wait_table`, where `wait_var_event` sleeps.
    pub var_wq: WaitTable,
    pub rec: Arc<Recorder>,
    /// Threads inside a top-level operation (model bookkeeping, invisible to
    /// the explorers); when it drops to 0 the world is quiescent.
    pub in_op: std::sync::atomic::AtomicUsize,
    /// The model threads run on real OS threads (`execute` on the std
    /// backend: the stress explorer), where nothing serializes the steps.
    pub os_threads: std::sync::atomic::AtomicBool,
    /// Real threads: the quiescent checker is reading the world (see
    /// `Cx::enter`); operations wait until it is done.
    pub checking: std::sync::atomic::AtomicBool,
    /// Outstanding GUP references (model bookkeeping for I1's Pins(f)).
    pub pins: std::sync::Mutex<Vec<PinRec>>,
    /// The block allocator's free list (FS-free pfns), under its own lock
    /// (the AGF buffer lock of the allocation group).
    pub free_blocks: Locked<Vec<u64>>,
    /// XFS `always_cow` (from `SetupExt::always_cow`).
    pub always_cow: bool,
    /// Run when the last thread leaves an operation (the world is at rest):
    /// the runner's quiescent checker.
    pub(crate) on_quiescent: fn(&Cx),
    /// Recorded accesses and vector clocks (`access.rs`); None when off.
    pub acc: Option<Arc<crate::access::Log>>,
}

/// The operations of the filesystem every file of a world lives on.
#[derive(Clone, Copy, Debug)]
pub struct Filesystem {
    pub vm_ops: &'static VmOps,
    pub f_op: &'static FileOps,
}

/// Model bookkeeping of an outstanding GUP reference: what it added to which
/// folio (for I1's Pins(f)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinRec {
    pub tid: u8,
    pub page: u64,
    pub head: u64,
    pub refs: i32,
    pub large: bool,
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
    /// `on_quiescent` runs whenever the last thread leaves an operation;
    /// every file belongs to the filesystem `fs`.
    pub fn new(
        cfg: Config,
        setup: &Setup,
        rec: Arc<Recorder>,
        on_quiescent: fn(&Cx),
        fs: Filesystem,
    ) -> Arc<World> {
        let ext = &setup.ext;
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
                if kind == FrameKind::Absent {
                    // No kernel path touches a pfn without a struct page,
                    // so its cells need not be loom's: building a loom
                    // object costs a loom execution more than most steps.
                    crate::sync::with_backend(crate::sync::Backend::Std, || Frame::new(pfn, kind))
                } else {
                    Frame::new(pfn, kind)
                }
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
                vm_ops: fs.vm_ops,
                f_op: fs.f_op,
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
                cow_fork: (0..f.pages).map(|_| DataCell::new(None)).collect(),
                meta_dirty: (0..f.pages)
                    .map(|k| DataCell::new(ext.meta_dirty.contains(&(i as u8, k))))
                    .collect(),
            })
            .collect();
        let mms = (0..setup.mms)
            .map(|id| MmStruct {
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
                                stores: std::sync::atomic::AtomicU64::new(0),
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
            os_threads: std::sync::atomic::AtomicBool::new(false),
            checking: std::sync::atomic::AtomicBool::new(false),
            pins: std::sync::Mutex::new(Vec::new()),
            free_blocks: Locked::new(free),
            always_cow: ext.always_cow,
            on_quiescent,
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

    /// Model checks: the refcount, without a scheduling point or a step.
    pub fn peek_ref_count(&self, head: u64) -> i32 {
        self.frames[head as usize].refcount.peek()
    }

    /// Model checks: the folio's mapcount, without a scheduling point or a
    /// step.
    pub fn peek_mapcount(&self, head: u64) -> i32 {
        let f = &self.frames[head as usize];
        let page1 = self
            .frames
            .get(head as usize + 1)
            .filter(|p| f.head.peek() && p.order.peek() > 0);
        match page1 {
            Some(p1) => p1.large_mapcount.peek(),
            None => f.mapcount.peek(),
        }
    }
}
