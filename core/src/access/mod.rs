//! Access recording: every read and write of a modelled field, with the step,
//! thread, kernel function, value, the locks held and the thread's vector
//! clock; and the race check over them, Eraser's lockset test refined by
//! happens-before as ThreadSanitizer's hybrid detector does.
//!
//! Off by default: a world built while recording is off carries no log, and
//! every hook is one `Option` test. Recording is switched per OS thread, like
//! the backend (`sync::set_backend`), before the explorer builds its worlds.
//! With recording on, plain reads of the fields below become trace steps
//! (`read page 8 mapping = A`), so a recorded execution has more steps than
//! the same execution unrecorded; replay files say which they were.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cx::Cx;
use crate::cx::LockId;
use crate::sync::DataCell;
use crate::trace::{Val, What};
use crate::vclock::{Edge, VClock};

mod event;
mod relation;

pub use event::on_event;
pub use relation::{describe, first_race, lock_name, race_story, relate, Relation, SHARED};

/// Whether worlds built from now on record their accesses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Off = 0,
    /// Record; under loom the fields stay loom's tracked cells, so loom still
    /// stops at a race (used to explain a race loom found).
    On = 1,
    /// Record, and under loom let this checker find races instead of loom,
    /// so exploration runs on past the first race (`daxcheck why`).
    Own = 2,
}

impl Mode {
    pub fn from_number(n: u8) -> Mode {
        match n {
            1 => Mode::On,
            2 => Mode::Own,
            _ => Mode::Off,
        }
    }
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Off) };
    static CURRENT: RefCell<Option<Arc<Log>>> = const { RefCell::new(None) };
}

pub fn set_mode(m: Mode) {
    MODE.with(|c| c.set(m));
    crate::sync::set_loom_cells(m != Mode::Own);
}

pub fn mode() -> Mode {
    MODE.with(|c| c.get())
}

/// The log of the execution now running on this OS thread (the driver reads
/// it after the execution, as it reads `trace::current`).
pub fn current() -> Option<Arc<Log>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// A new world's log: `Some` when recording is on (world construction hook).
pub fn for_new_world(rec: &crate::trace::Recorder) -> Option<Arc<Log>> {
    let m = mode();
    let log = (m != Mode::Off).then(|| Arc::new(Log::default()));
    if log.is_some() {
        rec.set_accesses(m as u8);
    }
    CURRENT.with(|c| *c.borrow_mut() = log.clone());
    log
}

/// How an access touches its cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Read,
    Write,
    /// `READ_ONCE` / lockless page-table read.
    MarkedRead,
    /// `WRITE_ONCE`.
    MarkedWrite,
    /// `atomic_read`.
    AtomicRead,
    /// An atomic read-modify-write (`folio_ref_inc`, `folio_put`...).
    AtomicRmw,
}

impl Kind {
    pub fn is_write(self) -> bool {
        matches!(self, Kind::Write | Kind::MarkedWrite | Kind::AtomicRmw)
    }

    /// Marked and atomic accesses never form a data race with each other.
    pub fn is_plain(self) -> bool {
        matches!(self, Kind::Read | Kind::Write)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::MarkedRead => "READ_ONCE",
            Kind::MarkedWrite => "WRITE_ONCE",
            Kind::AtomicRead => "atomic read",
            Kind::AtomicRmw => "atomic rmw",
        }
    }
}

/// One recorded access.
#[derive(Clone, Debug)]
pub struct Access {
    /// The trace step that made it (1-based, as the trace prints it).
    pub step: usize,
    pub tid: u8,
    pub func: &'static str,
    pub kind: Kind,
    /// The field, as `daxcheck why` names it (`folio.share`).
    pub field: &'static str,
    /// The memory cell (`page 8 folio->index/share (union)`): races are per cell.
    pub cell: String,
    /// The value read, the value written, or for an atomic RMW the value
    /// before it.
    pub val: String,
    /// What the step did (`folio_ref_inc 0 -> 1`, `write`...).
    pub op: String,
    /// Locks held, entry locks included (`xa_lock(A)`, `entry lock A[0]`).
    pub locks: Vec<String>,
    /// The step at which each of `locks` was taken.
    pub lock_steps: Vec<usize>,
    pub clock: VClock,
    /// Per thread component of `clock`: the edge that last raised it.
    pub via: Vec<Option<Edge>>,
}

#[derive(Default)]
struct State {
    clocks: Vec<Option<(VClock, Vec<Option<Edge>>)>>,
    /// Per lock: the clock of the last exclusive release, and the joined
    /// clocks of shared releases since (a writer acquires both).
    locks: HashMap<String, (VClock, VClock)>,
    atomics: HashMap<String, VClock>,
    entries: Vec<Vec<(u8, u64)>>,
    /// Per thread: lock name -> step it was taken at, and whether shared.
    taken: Vec<HashMap<String, (usize, bool)>>,
    accesses: Vec<Access>,
    /// Per cell: indices into `accesses`.
    by_cell: HashMap<String, Vec<usize>>,
    raced: bool,
}

/// The accesses and clocks of one execution (model bookkeeping: a std
/// mutex, invisible to the explorers, never held across a model step).
#[derive(Default)]
pub struct Log {
    s: Mutex<State>,
}

impl State {
    fn clock(&mut self, tid: u8) -> &mut (VClock, Vec<Option<Edge>>) {
        let t = tid as usize;
        if self.clocks.len() <= t {
            self.clocks.resize(t + 1, None);
        }
        if self.clocks[t].is_none() {
            // Spawned by thread 0, which does nothing between the spawn
            // and the join: start from its clock.
            let mut c = self.clocks.first().cloned().flatten().unwrap_or_default();
            if tid != 0 {
                c.1 = vec![Some(Edge::Thread("spawn"))];
            }
            c.0.tick(tid);
            self.clocks[t] = Some(c);
        }
        self.clocks[t].as_mut().expect("just set")
    }

    fn entry_taken(&mut self, tid: u8, file: u8, index: u64, key: String, step: usize) {
        let t = tid as usize;
        if self.entries.len() <= t {
            self.entries.resize(t + 1, Vec::new());
        }
        if self.entries[t].contains(&(file, index)) {
            return;
        }
        if let Some((w, _)) = self.locks.get(&key).cloned() {
            self.acquire(tid, &w, Edge::Lock(key.clone()));
        }
        self.taken_at(tid, key, step, false);
        self.entries[t].push((file, index));
    }

    fn entry_dropped(&mut self, tid: u8, file: u8, index: u64, key: String) {
        let held = self
            .entries
            .get(tid as usize)
            .is_some_and(|v| v.contains(&(file, index)));
        if !held {
            return;
        }
        if let Some(v) = self.entries.get_mut(tid as usize) {
            v.retain(|&e| e != (file, index));
        }
        if let Some(m) = self.taken.get_mut(tid as usize) {
            m.remove(&key);
        }
        self.release_into(tid, key, false);
    }

    fn taken_at(&mut self, tid: u8, lock: String, step: usize, shared: bool) {
        let t = tid as usize;
        if self.taken.len() <= t {
            self.taken.resize(t + 1, HashMap::new());
        }
        self.taken[t].insert(lock, (step, shared));
    }

    fn acquire(&mut self, tid: u8, from: &VClock, why: Edge) {
        let (c, via) = self.clock(tid);
        for up in c.join(from) {
            if via.len() <= up as usize {
                via.resize(up as usize + 1, None);
            }
            via[up as usize] = Some(why.clone());
        }
    }

    fn release_into(&mut self, tid: u8, key: String, shared: bool) {
        let c = self.clock(tid).0.clone();
        let slot = self.locks.entry(key).or_default();
        if shared {
            slot.1.join(&c);
        } else {
            slot.0 = c;
            slot.1 = VClock::default();
        }
        self.clock(tid).0.tick(tid);
    }
}

impl Log {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.s.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The accesses recorded so far, in step order.
    pub fn accesses(&self) -> Vec<Access> {
        self.with(|s| s.accesses.clone())
    }
}

/// Hook before a lock is released (before, so that a thread the unlock lets
/// run finds the release in the lock's clock).
pub fn release(cx: &Cx, id: LockId, shared: bool) {
    let Some(log) = &cx.w.acc else { return };
    log.with(|s| s.release_into(cx.tid, id.to_string(), shared));
}

/// Hook after the spawning thread joined every model thread.
pub fn join_all(cx: &Cx) {
    let Some(log) = &cx.w.acc else { return };
    log.with(|s| {
        let others: Vec<VClock> = s
            .clocks
            .iter()
            .skip(1)
            .flatten()
            .map(|c| c.0.clone())
            .collect();
        for c in others {
            s.acquire(cx.tid, &c, Edge::Thread("join"));
        }
    });
}

/// A plain read of a modelled field: a trace step of its own when recording
/// (so a racing read is a trace line), a bare read otherwise.
#[track_caller]
pub fn read<T: Copy>(
    cx: &Cx,
    pfn: u64,
    field: &'static str,
    cell: &DataCell<T>,
    val: fn(T) -> Val,
) -> T {
    if cx.w.acc.is_some() {
        // Recorded before the access: loom stops inside a racing access.
        cx.ev(What::Load {
            pfn,
            field,
            val: val(cell.peek()),
        });
    }
    cell.get()
}

/// A plain kernel read the explorers do not track: recorded (a step, with
/// its locks and clock, so `daxcheck why` judges it) when recording is on,
/// and otherwise a peek: no loom cell access, no scheduling point, no step.
/// For the lockless `folio->mapping` readers whose races are stated in
/// docs/findings.md (F1, F4), so that the catalogue's loom runs stay as
/// they were.
pub fn read_untracked<T: Copy>(
    cx: &Cx,
    pfn: u64,
    field: &'static str,
    cell: &DataCell<T>,
    val: fn(T) -> Val,
) -> T {
    let v = cell.peek();
    if cx.w.acc.is_some() {
        cx.ev(What::Load {
            pfn,
            field,
            val: val(v),
        });
    }
    v
}

/// `mapping->nrpages` changed (a step only when recording).
pub fn nrpages(cx: &Cx, file: u8, old: i64, new: i64) {
    if cx.w.acc.is_some() && old != new {
        cx.ev(What::Nrpages { file, old, new });
    }
}

fn marked(field: &str) -> bool {
    matches!(field, "compound_head" | "mapping (READ_ONCE view)")
        || field.starts_with("pte")
        || field.starts_with("pmd")
}

/// The `daxcheck why` name and the cell of a trace field name.
fn field_of(pfn: u64, f: &str) -> (&'static str, String) {
    let (name, cell) = match f {
        "mapping" | "mapping (READ_ONCE view)" => ("folio.mapping", "folio->mapping"),
        "share" => ("folio.share", "folio->index/share (union)"),
        "index" => ("folio.index", "folio->index/share (union)"),
        "refcount" => ("folio.refcount", "folio->_refcount"),
        "pgmap" => ("folio.pgmap", "folio->pgmap"),
        "compound_head" => ("page.compound_head", "page->compound_head"),
        "PG_head" => ("page.head", "page->flags PG_head"),
        "PG_hwpoison" => ("page.hwpoison", "page->flags PG_hwpoison"),
        "folio order" => ("folio.order", "page[1] order"),
        "_nr_pages" => ("folio.nr_pages", "page[1] _nr_pages/memcg_data"),
        "mapcount" => ("page.mapcount", "page->_mapcount"),
        "entire_mapcount" => ("folio.entire_mapcount", "folio->_entire_mapcount"),
        "large_mapcount" => ("folio.large_mapcount", "folio->_large_mapcount"),
        "_pincount" => ("folio.pincount", "folio->_pincount"),
        f if f.starts_with("pte") || f.starts_with("pmd") => {
            return ("pagetable.entry", format!("page table entry {pfn}"));
        }
        _ => ("other", "other"),
    };
    (name, format!("page {pfn} {cell}"))
}

/// Every field `daxcheck why` knows, with one line each.
pub const FIELDS: [(&str, &str); 19] = [
    ("folio.share", "reflink owner count, the `share` view of the index/share union (plain)"),
    ("folio.index", "file index of a non-shared folio, the `index` view of the same union cell (plain)"),
    ("folio.mapping", "owning address_space, NULL when shared or free (plain; READ_ONCE mirror for lockless readers)"),
    ("folio.refcount", "_refcount: one per PTE/PMD mapping, GUP pin and temporary reference (atomic)"),
    ("folio.pgmap", "pgmap pointer; prep_compound_page clobbers it in tail pages (plain)"),
    ("folio.order", "folio order stored in page[1] (plain)"),
    ("folio.nr_pages", "_nr_pages of page[1], overlaying memcg_data (plain)"),
    ("folio.entire_mapcount", "_entire_mapcount: PMD mappings of a large folio (atomic)"),
    ("folio.large_mapcount", "_large_mapcount: every PTE and PMD mapping of a large folio (atomic)"),
    ("folio.pincount", "_pincount: FOLL_PIN references of a large folio (atomic)"),
    ("page.mapcount", "_mapcount of one page: its PTE mappings (atomic)"),
    ("page.compound_head", "compound_head of a tail page (WRITE_ONCE/READ_ONCE)"),
    ("page.head", "PG_head flag of a folio head (plain)"),
    ("page.hwpoison", "PG_hwpoison flag set by memory failure (plain)"),
    ("entry.lock", "the DAX entry lock bit of an xarray value entry, set and cleared under xa_lock"),
    ("xarray.entry", "an i_pages slot of a mapping, stored under xa_lock"),
    ("mapping.nrpages", "pages the mapping's entries cover, changed under xa_lock"),
    ("pagetable.entry", "a PTE or PMD: stored under the PTL, read locklessly by GUP-fast"),
    ("other", "fields the model records without a name of their own"),
];
