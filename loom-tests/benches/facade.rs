//! Facade overhead: S1/pte and S3/pte through the model (its sync facade,
//! trace recorder and checker, access recording off) against a twin of each
//! written straight on loom's and shuttle's own primitives, per execution.
//!
//! The twin does the scenario's locks, atomics and plain-cell accesses in the
//! order the model does them, as its trace of a serial run shows them
//! (`lock xa_lock(A)`, `READ_ONCE page 8 compound_head`, `folio_get`...), on
//! only the primitives the scenario touches, with no checker and no trace.
//! It is reduced to that straight path: where the model would retry or sleep
//! in some interleaving, the twin goes on, so loom explores fewer executions
//! of it; the comparison is per execution (executions/s, divan's `item/s`).
//!
//! `cargo bench -p daxcheck --bench facade` (scripts/bench.sh turns the
//! medians into the BENCHMARKS.md table).

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use daxcheck::catalogue::{catalogue, resolve};
use daxcheck::explore::Model;
use daxcheck::run::model_of;
use daxcheck_core::exec::execute;
use daxcheck_core::sync::{set_backend, Backend};
use divan::counter::ItemsCount;
use divan::Bencher;

fn main() {
    divan::main();
}

/// loom's preemption bound for both sides (the catalogue's default).
const BOUND: usize = 2;
/// shuttle executions per measured iteration.
const SHUTTLE_RUNS: usize = 200;

const SCENARIOS: [&str; 2] = ["S1/pte", "S3/pte"];

fn model(spec: &str) -> Arc<Model> {
    let cat = catalogue();
    let (si, vis) = resolve(&cat, spec).expect("scenario in the catalogue");
    Arc::new(model_of(&cat[si], vis[0], Default::default(), None))
}

/// One whole loom exploration of `f`; returns its executions.
fn loom_explore(f: impl Fn() + Send + Sync + 'static) -> usize {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    set_backend(Backend::Loom);
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(BOUND);
    b.check(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    set_backend(Backend::Std);
    n.load(std::sync::atomic::Ordering::Relaxed)
}

/// `SHUTTLE_RUNS` executions of `f` under shuttle's random scheduler.
fn shuttle_runs(f: impl Fn() + Send + Sync + 'static) {
    set_backend(Backend::Shuttle);
    let s = shuttle::scheduler::RandomScheduler::new_from_seed(1, SHUTTLE_RUNS);
    let mut cfg = shuttle::Config::new();
    cfg.silence_warnings = true;
    shuttle::Runner::new(s, cfg).run(f);
    set_backend(Backend::Std);
}

fn model_body(m: Arc<Model>) -> impl Fn() + Send + Sync + 'static {
    move || {
        let rec = execute(&m.cfg, &m.setup, &m.threads);
        assert!(!rec.has_violation(), "the scenario holds");
    }
}

#[divan::bench(args = SCENARIOS, sample_count = 20)]
fn loom_model(b: Bencher, spec: &str) {
    let m = model(spec);
    let n = loom_explore(model_body(m.clone()));
    b.counter(ItemsCount::new(n))
        .bench_local(|| loom_explore(model_body(m.clone())));
}

#[divan::bench(args = SCENARIOS, sample_count = 20)]
fn loom_twin(b: Bencher, spec: &str) {
    let prog = twin::program(spec);
    let n = loom_explore(move || loom_twin::run(prog));
    b.counter(ItemsCount::new(n))
        .bench_local(|| loom_explore(move || loom_twin::run(prog)));
}

#[divan::bench(args = SCENARIOS, sample_count = 50)]
fn shuttle_model(b: Bencher, spec: &str) {
    let m = model(spec);
    b.counter(ItemsCount::new(SHUTTLE_RUNS))
        .bench_local(|| shuttle_runs(model_body(m.clone())));
}

#[divan::bench(args = SCENARIOS, sample_count = 50)]
fn shuttle_twin(b: Bencher, spec: &str) {
    let prog = twin::program(spec);
    b.counter(ItemsCount::new(SHUTTLE_RUNS))
        .bench_local(|| shuttle_runs(move || shuttle_twin::run(prog)));
}

/// The twins' programs: per thread, the primitive operations of the
/// model's serial trace.
mod twin {
    /// rwsems: `mmap_lock(mm0)`, MMAPLOCK(A), ILOCK(A), `i_mmap_rwsem(A)`,
    /// IOLOCK(A).
    pub const MMAP: usize = 0;
    pub const FS: usize = 1;
    pub const ILOCK: usize = 2;
    pub const IMMAP: usize = 3;
    pub const IO: usize = 4;
    pub const RWSEMS: usize = 5;
    /// spinlocks: `pmd_lock`, the PTE lock, `xa_lock(A)`, `entry_wq[0]`,
    /// `var_wq[0]`.
    pub const PMD: usize = 0;
    pub const PTE: usize = 1;
    pub const XA: usize = 2;
    pub const EWQ: usize = 3;
    pub const VWQ: usize = 4;
    pub const LOCKS: usize = 5;
    /// marked words: `compound_head` of pages 0, 8, 9, the `mapping`
    /// READ_ONCE mirror of page 8, the PMD word and PTE word of A[0].
    pub const HEAD0: usize = 0;
    pub const HEAD8: usize = 1;
    pub const HEAD9: usize = 2;
    pub const MAP_ONCE8: usize = 3;
    pub const PMD_WORD: usize = 4;
    pub const PTE_WORD: usize = 5;
    pub const WORDS: usize = 6;
    /// counters: page 8's refcount and mapcount.
    pub const REF8: usize = 0;
    pub const MAP8: usize = 1;
    pub const COUNTERS: usize = 2;
    /// plain cells: `i_size`, blocks 0 and 1, page 8's `mapping`, the
    /// VMA's liveness.
    pub const ISIZE: usize = 0;
    pub const BLOCK0: usize = 1;
    pub const BLOCK1: usize = 2;
    pub const MAPPING8: usize = 3;
    pub const VMA: usize = 4;
    pub const CELLS: usize = 5;

    #[derive(Clone, Copy, Debug)]
    pub enum Op {
        DownRead(usize),
        DownWrite(usize),
        /// `up_read`/`up_write` of the innermost holding of the rwsem.
        Up(usize),
        Lock(usize),
        Unlock(usize),
        /// `READ_ONCE`: a relaxed load.
        ReadOnce(usize),
        /// `WRITE_ONCE` (relaxed), or a page-table word store (release).
        WriteOnce(usize),
        StoreRelease(usize),
        /// `folio_ref_count`/`folio_mapcount`: acquire loads.
        Read(usize),
        /// `folio_ref_inc`, `folio_get`, mapcount changes: relaxed.
        AddRelaxed(usize, i32),
        /// `folio_put`: fully ordered.
        Put(usize),
        Get(usize),
        Set(usize),
    }
    pub use Op::*;

    /// `handle_mm_fault(mm0, A[0], read, PTE)`: S1 T1 and S3 T1.
    pub const FAULT: &[Op] = &[
        DownRead(MMAP),
        Lock(PMD),
        Unlock(PMD),
        Lock(PTE),
        Unlock(PTE),
        DownRead(FS),
        Get(ISIZE),
        Lock(XA), // grab_mapping_entry: store a locked empty entry
        Unlock(XA),
        Lock(PMD),
        Unlock(PMD),
        DownRead(ILOCK), // xfs_read_iomap_begin
        Get(BLOCK0),
        Up(ILOCK),
        Lock(XA), // dax_insert_entry
        ReadOnce(HEAD0),
        ReadOnce(HEAD8),
        ReadOnce(HEAD8),
        ReadOnce(HEAD8),
        ReadOnce(HEAD8),
        WriteOnce(MAP_ONCE8),
        Set(MAPPING8),
        Unlock(XA),
        ReadOnce(HEAD8),
        AddRelaxed(REF8, 1),
        ReadOnce(HEAD8), // vmf_insert_page_mkwrite
        Read(REF8),
        Lock(PMD),
        StoreRelease(PMD_WORD),
        Unlock(PMD),
        Lock(PTE),
        ReadOnce(HEAD8),
        AddRelaxed(REF8, 1),
        AddRelaxed(MAP8, 1),
        ReadOnce(HEAD8),
        StoreRelease(PTE_WORD),
        Unlock(PTE),
        Put(REF8),
        Lock(XA), // dax_unlock_entry
        Unlock(XA),
        Lock(EWQ),
        Unlock(EWQ),
        Up(FS),
        Up(MMAP),
    ];

    /// `dax_break_layout` through the entry deletion, and the rest of a
    /// truncate or hole punch (shared by S1 T2 and S3 T3).
    const BREAK_AND_FREE: &[Op] = &[
        Lock(XA), // dax_layout_busy_page_range
        ReadOnce(HEAD8),
        ReadOnce(HEAD8),
        Read(REF8),
        Read(MAP8),
        Lock(EWQ),
        Unlock(EWQ),
        Unlock(XA),
        Lock(XA), // dax_delete_mapping_range
        ReadOnce(HEAD8),
        ReadOnce(HEAD8),
        WriteOnce(MAP_ONCE8),
        Set(MAPPING8),
        Lock(EWQ),
        Unlock(EWQ),
        Unlock(XA),
        ReadOnce(HEAD8),
        ReadOnce(HEAD9),
    ];

    const FREE_BLOCKS: &[Op] = &[
        Lock(XA), // truncate_inode_pages_range
        Unlock(XA),
        DownWrite(ILOCK),
        Get(BLOCK0),
        ReadOnce(HEAD8),
        Set(BLOCK0),
        Up(ILOCK),
        DownWrite(ILOCK),
        Get(BLOCK1),
        ReadOnce(HEAD9),
        Set(BLOCK1),
        Up(ILOCK),
        Up(FS),
        Up(IO),
    ];

    /// The zap of A[0] under the PTE lock, then the TLB flush's put.
    const ZAP_AND_FLUSH: &[Op] = &[
        Lock(PMD),
        Unlock(PMD),
        Lock(PTE),
        StoreRelease(PTE_WORD),
        AddRelaxed(MAP8, -1),
        ReadOnce(HEAD8),
        Unlock(PTE),
    ];

    const TLB_PUT: &[Op] = &[
        ReadOnce(HEAD8),
        Put(REF8),
        Lock(VWQ), // free_zone_device_folio wakes the var waitqueue
        Unlock(VWQ),
    ];

    fn cat(parts: &[&[Op]]) -> &'static [Op] {
        parts.concat().leak()
    }

    /// `xfs_setattr_size(A, 0)`: S1 T2.
    fn truncate() -> &'static [Op] {
        cat(&[
            &[DownWrite(IO), DownWrite(FS), DownRead(IMMAP)],
            ZAP_AND_FLUSH,
            TLB_PUT,
            &[Up(IMMAP)],
            BREAK_AND_FREE,
            &[
                Set(ISIZE),
                DownRead(IMMAP),
                Lock(PMD),
                Unlock(PMD),
                Lock(PTE),
                Unlock(PTE),
                Up(IMMAP),
            ],
            FREE_BLOCKS,
        ])
    }

    /// `munmap(mm0, A)`: S3 T2.
    fn munmap() -> &'static [Op] {
        cat(&[
            &[DownWrite(MMAP)],
            ZAP_AND_FLUSH,
            &[DownWrite(IMMAP), Set(VMA), Up(IMMAP)],
            TLB_PUT,
            &[Up(MMAP)],
        ])
    }

    /// `xfs_free_file_space(A, 0, 1)`: S3 T3.
    fn punch() -> &'static [Op] {
        cat(&[
            &[DownWrite(IO), DownWrite(FS), DownRead(IMMAP), Up(IMMAP)],
            BREAK_AND_FREE,
            &[DownRead(IMMAP), Up(IMMAP)],
            FREE_BLOCKS,
        ])
    }

    /// The threads of a scenario's twin.
    pub fn program(spec: &str) -> &'static [&'static [Op]] {
        match spec {
            "S1/pte" => vec![FAULT, truncate()].leak(),
            "S3/pte" => vec![FAULT, munmap(), punch()].leak(),
            other => panic!("no twin for {other}"),
        }
    }
}

/// The twin on one runtime: the runtime's crate as `$rt`, its plain cell
/// as `$cell` with `get`/`set`.
macro_rules! twin_runtime {
    ($name:ident, $rt:ident, $cell:ty) => {
        mod $name {
            use super::twin::*;
            use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
            use std::sync::Arc;

            use $rt::sync::atomic::{AtomicI32, AtomicU64};
            use $rt::sync::{Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

            struct World {
                rwsems: Vec<RwLock<()>>,
                locks: Vec<Mutex<()>>,
                words: Vec<AtomicU64>,
                counters: Vec<AtomicI32>,
                cells: Vec<$cell>,
                gate: (Mutex<bool>, Condvar),
            }

            enum Held<'a> {
                Read(usize, #[allow(dead_code)] RwLockReadGuard<'a, ()>),
                Write(usize, #[allow(dead_code)] RwLockWriteGuard<'a, ()>),
                Lock(usize, #[allow(dead_code)] MutexGuard<'a, ()>),
            }

            impl Held<'_> {
                fn rwsem(&self) -> Option<usize> {
                    match self {
                        Held::Read(i, _) | Held::Write(i, _) => Some(*i),
                        Held::Lock(..) => None,
                    }
                }
            }

            fn thread(w: &World, ops: &[Op]) {
                let mut held: Vec<Held<'_>> = Vec::with_capacity(8);
                for &op in ops {
                    match op {
                        DownRead(i) => held.push(Held::Read(i, w.rwsems[i].read().unwrap())),
                        DownWrite(i) => held.push(Held::Write(i, w.rwsems[i].write().unwrap())),
                        Up(i) => {
                            let at = held.iter().rposition(|h| h.rwsem() == Some(i));
                            drop(held.remove(at.expect("up of a held rwsem")));
                        }
                        Lock(i) => held.push(Held::Lock(i, w.locks[i].lock().unwrap())),
                        Unlock(i) => {
                            let at = held
                                .iter()
                                .rposition(|h| matches!(h, Held::Lock(j, _) if *j == i));
                            drop(held.remove(at.expect("unlock of a held lock")));
                        }
                        ReadOnce(i) => {
                            w.words[i].load(Relaxed);
                        }
                        WriteOnce(i) => w.words[i].store(1, Relaxed),
                        StoreRelease(i) => w.words[i].store(1, Release),
                        Read(i) => {
                            w.counters[i].load(Acquire);
                        }
                        AddRelaxed(i, d) => {
                            w.counters[i].fetch_add(d, Relaxed);
                        }
                        Put(i) => {
                            w.counters[i].fetch_add(-1, SeqCst);
                        }
                        Get(i) => {
                            w.cells[i].get();
                        }
                        Set(i) => w.cells[i].set(1),
                    }
                }
                assert!(held.is_empty(), "every lock released");
            }

            /// One execution: build the primitives, start every thread at
            /// once behind a gate (as the model does), join them.
            pub fn run(prog: &'static [&'static [Op]]) {
                let w = Arc::new(World {
                    rwsems: (0..RWSEMS).map(|_| RwLock::new(())).collect(),
                    locks: (0..LOCKS).map(|_| Mutex::new(())).collect(),
                    words: (0..WORDS).map(|_| AtomicU64::new(0)).collect(),
                    counters: (0..COUNTERS).map(|_| AtomicI32::new(0)).collect(),
                    cells: (0..CELLS).map(|_| <$cell>::new(0)).collect(),
                    gate: (Mutex::new(false), Condvar::new()),
                });
                let handles: Vec<_> = prog
                    .iter()
                    .map(|&ops| {
                        let w = w.clone();
                        $rt::thread::spawn(move || {
                            let mut open = w.gate.0.lock().unwrap();
                            while !*open {
                                open = w.gate.1.wait(open).unwrap();
                            }
                            drop(open);
                            thread(&w, ops);
                        })
                    })
                    .collect();
                *w.gate.0.lock().unwrap() = true;
                w.gate.1.notify_all();
                for h in handles {
                    h.join().unwrap();
                }
            }
        }
    };
}

/// loom's tracked cell, as the model's plain fields are under loom.
struct LoomCell(loom::cell::UnsafeCell<u64>);

impl LoomCell {
    fn new(v: u64) -> Self {
        LoomCell(loom::cell::UnsafeCell::new(v))
    }
    fn get(&self) -> u64 {
        // SAFETY: loom checks the access against concurrent writes.
        self.0.with(|p| unsafe { *p })
    }
    fn set(&self, v: u64) {
        // SAFETY: as above; the twin writes only under the model's locks.
        self.0.with_mut(|p| unsafe { *p = v })
    }
}

// SAFETY: only built inside a loom run, where loom checks every access.
unsafe impl Sync for LoomCell {}

/// A std mutex, as the model's plain fields are under shuttle (shuttle
/// looks for no data races).
struct StdCell(std::sync::Mutex<u64>);

impl StdCell {
    fn new(v: u64) -> Self {
        StdCell(std::sync::Mutex::new(v))
    }
    fn get(&self) -> u64 {
        *self.0.lock().unwrap()
    }
    fn set(&self, v: u64) {
        *self.0.lock().unwrap() = v
    }
}

twin_runtime!(loom_twin, loom, super::LoomCell);
twin_runtime!(shuttle_twin, shuttle, super::StdCell);
