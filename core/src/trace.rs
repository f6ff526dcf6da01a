//! The execution recorder: every lock, entry-lock, wait, refcount and field
//! change of one execution, in the order it happened.
//!
//! The same list serves three purposes: the per-thread trace printed with a
//! violation, `tracing` events for replays, and the schedule (which thread
//! made each step) that `daxcheck replay` re-imposes.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::cx::LockId;
use crate::violation::{Check, Inv, Violation};
use crate::wait::{WaitKey, WakeMode};
use crate::world::{Pmd, Pte};

pub fn file_name(f: u8) -> char {
    match f {
        0..=25 => (b'A' + f) as char,
        // MAPPING_GARBAGE and anything else that names no file.
        _ => '?',
    }
}

/// A `folio->mapping` value as reports print it: `NULL`, the file, or
/// `garbage` for counter bits that are no `address_space` (H1).
pub fn mapping_name(m: Option<u8>) -> String {
    match m {
        None => "NULL".into(),
        Some(crate::world::MAPPING_GARBAGE) => "garbage".into(),
        Some(f) => file_name(f).to_string(),
    }
}

/// A value of a plain-data field, for `Field` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Mapping(Option<u8>),
    Num(u64),
    /// A raw machine word (a `mapping` holding counter bits), in hex.
    Word(u64),
    Flag(bool),
    Head(Option<u64>),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Val::Mapping(None) | Val::Head(None) => f.write_str("NULL"),
            Val::Mapping(Some(m)) => f.write_str(&mapping_name(Some(m))),
            Val::Word(w) => write!(f, "{w:#x}"),
            Val::Num(n) => write!(f, "{n}"),
            Val::Flag(b) => write!(f, "{b}"),
            Val::Head(Some(p)) => write!(f, "pfn {p}"),
        }
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    Spawn(u8),
    /// A thread starts a top-level operation.
    Begin,
    Acquire(LockId, &'static str),
    Release(LockId, &'static str),
    /// `schedule()` in a wait loop: the thread sleeps until woken.
    Sleep {
        table: &'static str,
        key: WaitKey,
    },
    Woken,
    EntryLock {
        file: u8,
        index: u64,
        entry: u64,
    },
    EntryUnlock {
        file: u8,
        index: u64,
        entry: u64,
    },
    XaStore {
        file: u8,
        index: u64,
        old: Option<u64>,
        new: Option<u64>,
    },
    Wake {
        table: &'static str,
        key: WaitKey,
        mode: WakeMode,
        woken: usize,
    },
    Enqueue {
        table: &'static str,
        key: WaitKey,
        exclusive: bool,
    },
    /// A marked (READ_ONCE) read of a field.
    ReadField {
        pfn: u64,
        field: &'static str,
        val: Val,
    },
    /// A kernel read of an atomic counter.
    Read {
        pfn: u64,
        what: &'static str,
        val: i32,
    },
    Ref {
        pfn: u64,
        old: i32,
        new: i32,
        how: &'static str,
    },
    Mapcount {
        pfn: u64,
        which: &'static str,
        old: i32,
        new: i32,
    },
    Field {
        pfn: u64,
        field: &'static str,
        old: Val,
        new: Val,
    },
    Pte {
        mm: u8,
        file: u8,
        index: u64,
        old: PtEntry,
        new: PtEntry,
    },
    Note(String),
    /// A plain read of a field (a step only while accesses are recorded).
    Load {
        pfn: u64,
        field: &'static str,
        val: Val,
    },
    /// `mapping->nrpages` changed (a step only while accesses are recorded).
    Nrpages {
        file: u8,
        old: i64,
        new: i64,
    },
}

/// A page-table value of a `What::Pte` step: a PTE or a PMD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtEntry {
    Pte(Pte),
    Pmd(Pmd),
}

impl fmt::Display for PtEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PtEntry::Pte(p) => p.fmt(f),
            PtEntry::Pmd(p) => p.fmt(f),
        }
    }
}

/// What a thread is blocked on right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocked {
    /// `spin_lock`/`mutex_lock`.
    Lock(LockId),
    DownRead(LockId),
    DownWrite(LockId),
    /// `schedule()` on a waitqueue.
    Sleeping {
        table: &'static str,
        key: WaitKey,
    },
}

impl Blocked {
    /// `Deadlock` is told as the invariant it breaks: I13 when a thread sleeps
    /// in a break-layout var-wait, I12 when one sleeps on an entry.
    pub fn liveness(blocked: &[(u8, Blocked)]) -> Check {
        if blocked.iter().any(|(_, on)| on.on_table("var")) {
            Check::Inv(Inv::BreakLayoutLiveness)
        } else if blocked.iter().any(|(_, on)| on.on_table("entry")) {
            Check::Inv(Inv::NoLostEntryWakeup)
        } else {
            Check::Deadlock
        }
    }
    /// Whether this wait involves the named waitqueue table (`"entry"`,
    /// `"var"`): sleeping on it, or spinning on one of its bucket locks.
    pub fn on_table(&self, name: &str) -> bool {
        match *self {
            Blocked::Sleeping { table, key } => {
                table == name
                    || match key {
                        WaitKey::Entry { .. } => name == "entry",
                        WaitKey::Var { .. } | WaitKey::VarRefcount { .. } => name == "var",
                    }
            }
            Blocked::Lock(l) | Blocked::DownRead(l) | Blocked::DownWrite(l) => {
                matches!(l, LockId::WaitQueue(t, _) if t == name)
            }
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::Lock(l) => write!(f, "{l}"),
            Blocked::DownRead(l) => write!(f, "down_read {l}"),
            Blocked::DownWrite(l) => write!(f, "down_write {l}"),
            Blocked::Sleeping { table, key } => write!(f, "sleeping on {table} {key}"),
        }
    }
}

/// Renders an xarray value entry as the kernel would describe it.
pub fn entry_str(e: u64) -> String {
    use crate::entry::*;
    let mut s = if dax_is_empty_entry(e) {
        "EMPTY".to_string()
    } else if dax_is_zero_entry(e) {
        "ZERO".to_string()
    } else {
        format!("pfn {}", dax_to_pfn(e))
    };
    if dax_is_pmd_entry(e) {
        s.push_str("|PMD");
    }
    if dax_is_locked(e) {
        s.push_str("|LOCKED");
    }
    s
}

fn opt_entry(e: Option<u64>) -> String {
    e.map_or_else(|| "NULL".to_string(), entry_str)
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Spawn(t) => write!(f, "spawn T{t}"),
            What::Begin => f.write_str("begin"),
            What::Acquire(l, how) => write!(f, "{how} {l}"),
            What::Release(l, how) => write!(f, "{how} {l}"),
            What::Sleep { table, key } => write!(f, "sleeps: {table} {key}"),
            What::Woken => write!(f, "woken"),
            What::EntryLock { file, index, entry } => {
                write!(
                    f,
                    "lock entry {}[{index}] ({})",
                    file_name(*file),
                    entry_str(*entry)
                )
            }
            What::EntryUnlock { file, index, entry } => {
                write!(
                    f,
                    "unlock entry {}[{index}] ({})",
                    file_name(*file),
                    entry_str(*entry)
                )
            }
            What::XaStore {
                file,
                index,
                old,
                new,
            } => write!(
                f,
                "xa store {}[{index}]: {} -> {}",
                file_name(*file),
                opt_entry(*old),
                opt_entry(*new)
            ),
            What::Wake {
                table,
                key,
                mode,
                woken,
            } => {
                write!(f, "wake {table} {key} {mode}: {woken} woken")
            }
            What::Enqueue {
                table,
                key,
                exclusive,
            } => write!(
                f,
                "prepare_to_wait{} {table} {key}",
                if *exclusive { "_exclusive" } else { "" }
            ),
            What::ReadField { pfn, field, val } => {
                write!(f, "READ_ONCE page {pfn} {field} = {val}")
            }
            What::Read { pfn, what, val } => write!(f, "read page {pfn} {what} = {val}"),
            What::Ref { pfn, old, new, how } => {
                write!(f, "{how} folio {pfn} refcount {old} -> {new}")
            }
            What::Mapcount {
                pfn,
                which,
                old,
                new,
            } => write!(f, "page {pfn} {which} {old} -> {new}"),
            What::Field {
                pfn,
                field,
                old,
                new,
            } => write!(f, "page {pfn} {field}: {old} -> {new}"),
            What::Pte {
                mm,
                file,
                index,
                old,
                new,
            } => {
                write!(f, "mm{mm} {}[{index}] {old} -> {new}", file_name(*file))
            }
            What::Note(s) => f.write_str(s),
            What::Load { pfn, field, val } => write!(f, "read page {pfn} {field} = {val}"),
            What::Nrpages { file, old, new } => {
                write!(f, "{} nrpages {old} -> {new}", file_name(*file))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub tid: u8,
    pub func: &'static str,
    /// How many modelled kernel functions enclose `func` (0: the
    /// top-level operation), for pictures that indent by call nesting.
    pub depth: u8,
    pub what: What,
}

/// The record of one execution. A std mutex (invisible to loom and shuttle):
/// it is never held across a model operation, so it cannot block a model
/// thread.
#[derive(Default)]
pub struct Recorder {
    inner: Mutex<RecState>,
    /// A replay's recorded length (0: none): see [`set_step_limit`].
    limit: usize,
    /// Real threads only (0: none): a run that records this many events is
    /// spinning, and its threads park at the next event (see [`Recorder::for_stress`]).
    park_after: usize,
    /// Real threads only: the stress driver gave up on this run.
    abandoned: std::sync::atomic::AtomicBool,
}

#[derive(Default, Clone)]
pub struct RecState {
    pub events: Vec<Event>,
    pub violations: Vec<Violation>,
    /// Per thread: what it is blocked on right now, if anything.
    pub blocked: Vec<Option<Blocked>>,
    /// Per thread: the top-level operation it runs (for the report header).
    pub names: Vec<String>,
    /// Threads that ran to completion.
    pub finished: Vec<bool>,
    /// Accesses were recorded (`access::Mode` as a number: 0 off, 1 on, 2 own).
    pub accesses: u8,
}

impl Recorder {
    /// A recorder whose event list starts as large as the last execution's
    /// on this OS thread: the executions of one variant have about the
    /// same length, so the list is not regrown step by step each time.
    pub fn new() -> Arc<Recorder> {
        let cap = LAST_LEN.with(|l| l.get());
        Arc::new(Recorder {
            limit: STEP_LIMIT.with(|l| l.get()),
            inner: Mutex::new(RecState {
                events: Vec::with_capacity(cap),
                ..RecState::default()
            }),
            park_after: 0,
            abandoned: Default::default(),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut RecState) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    pub fn push(&self, ev: Event) {
        if emit() && tracing::enabled!(target: "daxcheck", tracing::Level::TRACE) {
            tracing::trace!(target: "daxcheck", tid = ev.tid, func = ev.func, "{}", ev.what);
        }
        enum Stop {
            ReplayLength,
            Park,
        }
        let stop = self.with(|s| {
            if self.limit != 0 && s.events.len() >= self.limit {
                return Some(Stop::ReplayLength);
            }
            if self.park_after != 0
                && (s.events.len() >= self.park_after
                    || self.abandoned.load(std::sync::atomic::Ordering::Relaxed))
            {
                return Some(Stop::Park);
            }
            s.events.push(ev);
            None
        });
        match stop {
            Some(Stop::ReplayLength) => panic!("{REPLAY_LENGTH_STOP}"),
            // A spinning OS thread never ends by itself: after the driver
            // abandons the run it would record until memory runs out (B2's
            // livelock took 24 GB). Parked, it costs neither memory nor CPU;
            // a parked thread can hold a model lock, but only this run's.
            Some(Stop::Park) => loop {
                std::thread::park();
            },
            None => {}
        }
    }

    /// A recorder for one run on real threads (`--explorer stress`): a
    /// livelock there has no step bound, so the run's threads park once it
    /// has recorded [`STRESS_EVENT_CAP`] events or the driver abandons it.
    pub fn for_stress() -> Arc<Recorder> {
        Arc::new(Recorder {
            park_after: STRESS_EVENT_CAP,
            ..Recorder::default()
        })
    }

    /// The stress driver stopped waiting for this run: its threads park at
    /// their next event.
    pub fn abandon(&self) {
        self.abandoned
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn steps(&self) -> usize {
        self.with(|s| s.events.len())
    }

    pub fn violate(&self, v: Violation) {
        if tracing::enabled!(target: "daxcheck", tracing::Level::WARN) {
            tracing::warn!(target: "daxcheck", "violation: {}", v.headline());
        }
        // A state that stays broken is seen at every later quiescent point;
        // report it once.
        self.with(|s| {
            if !s
                .violations
                .iter()
                .any(|o| o.check == v.check && o.detail == v.detail)
            {
                s.violations.push(v)
            }
        });
    }

    pub fn has_violation(&self) -> bool {
        self.with(|s| !s.violations.is_empty())
    }

    /// Whether a recorded violation satisfies `f`: what the explorers ask
    /// after every execution, answered without copying the record.
    pub fn any_violation(&self, f: impl Fn(&Violation) -> bool) -> bool {
        self.with(|s| s.violations.iter().any(f))
    }

    pub fn set_blocked(&self, tid: u8, on: Option<Blocked>) {
        self.with(|s| {
            let t = tid as usize;
            if s.blocked.len() <= t {
                s.blocked.resize(t + 1, None);
            }
            s.blocked[t] = on;
        })
    }

    pub fn set_name(&self, tid: u8, name: &str) {
        self.with(|s| {
            let t = tid as usize;
            if s.names.len() <= t {
                s.names.resize(t + 1, String::new());
            }
            s.names[t] = name.to_string();
        })
    }

    pub fn set_finished(&self, tid: u8) {
        self.with(|s| {
            let t = tid as usize;
            if s.finished.len() <= t {
                s.finished.resize(t + 1, false);
            }
            s.finished[t] = true;
        })
    }

    /// Mark the record as made with access recording on (its plain reads
    /// are steps, so a replay must record too).
    pub fn set_accesses(&self, mode: u8) {
        self.with(|s| s.accesses = mode)
    }

    pub fn snapshot(&self) -> RecState {
        self.with(|s| s.clone())
    }

    /// Whether the last recorded step is `tid` going to sleep: a replay
    /// lets that thread run until it blocks (see `Guided` in daxcheck).
    pub fn last_is_sleep_by(&self, tid: u8) -> bool {
        self.with(|s| {
            s.events
                .last()
                .is_some_and(|e| e.tid == tid && matches!(e.what, What::Sleep { .. }))
        })
    }

    /// The thread that made each step: the schedule a replay re-imposes.
    pub fn schedule(&self) -> Vec<u8> {
        self.with(|s| s.events.iter().map(|e| e.tid).collect())
    }
}

thread_local! {
    /// The recorder of the execution now running on this OS thread. loom and
    /// shuttle run all model threads on the driver's OS thread, so the driver
    /// and the replay scheduler read the execution's record through this.
    static CURRENT: RefCell<Option<Arc<Recorder>>> = const { RefCell::new(None) };
}

thread_local! {
    static EMIT: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
    static STEP_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Events of the last execution recorded on this OS thread (a capacity
    /// hint for the next recorder; never more than 4096).
    static LAST_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Events after which a run on real threads is taken to spin: catalogue
/// runs record at most a few thousand.
pub const STRESS_EVENT_CAP: usize = 1 << 20;

/// The panic that ends a replay at its recorded length: in the words of
/// shuttle's step bound, so that the runner reports the livelock it reported
/// for the recorded execution.
pub const REPLAY_LENGTH_STOP: &str =
    "replay reached the recorded length (exceeded max_steps bound)";

/// Executions started on this OS thread stop after `n` steps (`None`: no
/// limit). A livelock is recorded where the explorer's step bound cut it,
/// and that bound counts the explorer's scheduling steps, not ours; a replay
/// of it stops at the recorded length instead, so it ends where the
/// original did.
pub fn set_step_limit(n: Option<usize>) {
    STEP_LIMIT.with(|l| l.set(n.unwrap_or(0)));
}

/// Whether events go to `tracing` too (a loom replay turns this off for the
/// executions before the one it replays).
pub fn set_emit(on: bool) {
    EMIT.with(|e| e.set(on));
}

fn emit() -> bool {
    EMIT.with(|e| e.get())
}

pub fn set_current(r: Option<Arc<Recorder>>) {
    CURRENT.with(|c| {
        if let Some(old) = c.borrow().as_ref() {
            let n = old.with(|s| s.events.len()).min(4096);
            LAST_LEN.with(|l| l.set(n));
        }
        *c.borrow_mut() = r
    });
}

pub fn current() -> Option<Arc<Recorder>> {
    CURRENT.with(|c| c.borrow().clone())
}

impl RecState {
    /// The per-thread trace: one line per step, each thread in its own column
    /// band, as litmus tools print them.
    pub fn render_trace(&self, out: &mut String) {
        use fmt::Write;
        let width = self.events.len().to_string().len().max(2);
        // A livelock runs to the step bound: keep the start and the end.
        let (head, tail) = (150, 250);
        let n = self.events.len();
        for (i, ev) in self.events.iter().enumerate() {
            if n > head + tail && i >= head && i < n - tail {
                if i == head {
                    let _ = writeln!(
                        out,
                        "  {:>width$}  ... {} steps elided ...",
                        "",
                        n - head - tail
                    );
                }
                continue;
            }
            let indent = "    ".repeat(ev.tid.saturating_sub(1) as usize);
            let _ = writeln!(
                out,
                "  {:>width$}  T{} {indent}{}: {}",
                i + 1,
                ev.tid,
                ev.func,
                ev.what
            );
        }
    }
}
