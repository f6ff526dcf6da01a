//! Known findings as named suppressions, the way syzkaller keeps them: a
//! run whose first violation matches one is not a crash unless
//! `DAXCHECK_FUZZ_REPORT_KNOWN=1`. Every match is counted, with the number
//! of distinct operation sequences that reached it (a known finding reached
//! by a new path still shows), and [`summary`] prints the counts.
//!
//! A signature names the check that fires, the top-level kernel operation
//! of the thread that saw it, and what the world must hold for the finding
//! to be reachable (shared extents, GUP, MAP_SYNC, a kernel state). The
//! H-entries are the spec's hypotheses the catalogue confirms
//! (docs/findings.md); Z-entries are gaps of the model itself that the
//! fuzzer found, reported but not kernel findings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use daxcheck_core::entry::dax_is_pmd_entry;
use daxcheck_core::trace::What;
use daxcheck_core::violation::Check;
use daxcheck_core::{Config, KernelState};

use super::ops::Op;
use super::run::{Program, Verdict};
use crate::explore::Failure;

/// What a signature looks at.
pub struct Seen<'a> {
    pub check: String,
    pub detail: &'a str,
    /// Top-level kernel function of the thread that saw the violation
    /// ("-" for the checker at quiescence with no operation under way).
    pub op: &'static str,
    pub program: &'a Program,
    pub kernel: KernelState,
    /// The run stored an order-0 value over a PMD value: H7's store, the
    /// one that leaves a PTE entry owning a PMD range.
    pub h7_store: bool,
}

impl Seen<'_> {
    fn check_in(&self, ids: &[&str]) -> bool {
        ids.contains(&self.check.as_str())
    }
    fn op_in(&self, fs: &[&str]) -> bool {
        fs.contains(&self.op)
    }
    fn shared(&self) -> bool {
        self.program
            .world
            .files
            .iter()
            .flatten()
            .flatten()
            .any(|b| b.shared)
            || self.any_op(|o| matches!(o, Op::Reflink { .. }))
    }
    fn any_op(&self, f: impl Fn(&Op) -> bool) -> bool {
        self.program.threads.iter().flatten().any(f)
    }
    fn gup(&self) -> bool {
        self.any_op(|o| matches!(o, Op::Pin { .. }))
    }
    fn pmd(&self) -> bool {
        self.program.world.huge.iter().flatten().any(|&h| h)
    }
    fn concurrent(&self) -> bool {
        self.program.threads.len() > 1
    }
}

pub struct Known {
    pub name: &'static str,
    pub what: &'static str,
    pub matches: fn(&Seen) -> bool,
}

const FAULTS: &[&str] = &[
    "handle_mm_fault",
    "__get_user_pages",
    "gup_fast",
    "unpin_user_page",
    "put_page",
];

/// The table, most specific first.
pub const KNOWN: &[Known] = &[
    Known {
        name: "Z2",
        what: "model gap: one thread holding a FOLL_GET and a FOLL_PIN on the same page; unpin_user_page's bookkeeping drops the first record of that page, whichever kind, so I1's GUP count is off",
        matches: |s| {
            s.check == "I1"
                && s.detail.contains("GUP references")
                && s.program.threads.iter().any(|t| {
                    t.iter().any(|o| matches!(o, Op::Pin { pin: true, .. }))
                        && t.iter().any(|o| matches!(o, Op::Pin { pin: false, .. }))
                })
        },
    },
    Known {
        name: "H1",
        what: "invalidation (invalidate_inode_pages2_range, also under a CoW write) disassociates and splits a folio that is still mapped, unmapping only at the end (F5)",
        matches: |s| {
            s.check_in(&["I9", "WARN", "I2"])
                && s.op_in(&["invalidate_inode_pages2_range", "xfs_file_dax_write"])
        },
    },
    Known {
        name: "H5",
        what: "a stale order-0 index left in the index/share union is read as a share count when the folio is associated with a shared extent (F9; fixed in the 2026 state)",
        matches: |s| {
            s.kernel != KernelState::Y2026 && s.shared() && s.check_in(&["I4", "WARN", "I6"])
        },
    },
    Known {
        name: "H7",
        what: "a shared-extent PTE fault inside a PMD entry stores an order-0 entry over the multi-index entry (the model's hypothesis H7)",
        matches: |s| {
            s.shared()
                && s.pmd()
                && (s.check_in(&["I20", "I4", "I14", "WARN", "I15"])
                    // S18/waiter's hang: a sleeper keyed by the PTE entry's
                    // own index is never woken by an unlock at the range's
                    // canonical index (or the reverse). Only with H7's store
                    // in the trace: a lost wakeup is otherwise a crash.
                    || (s.check == "I12" && s.h7_store))
        },
    },
    Known {
        name: "H2",
        what: "a shared-extent refault disassociates and splits a folio a GUP reference still holds (F6)",
        matches: |s| s.shared() && s.gup() && s.check_in(&["I9", "I2", "WARN", "I1"]) && s.op_in(FAULTS),
    },
    Known {
        name: "H3",
        what: "two files associate one folio under two different xa_locks; break-layout of one file then waits on the other file's mapping (F2, F3)",
        matches: |s| {
            s.shared()
                // I3: the every-step check sees the other file's PTE
                // reference land on what is a tail page of this file's
                // PMD folio before any quiescent check does.
                && (s.check_in(&["data-race", "I4", "I9", "I13", "I2", "I1", "I3"])
                    // Two concurrent associations: the second one preps a
                    // folio the first already associated.
                    || (s.concurrent() && s.check == "I7"))
        },
    },
    Known {
        name: "B4",
        what: "the v6.15 tag's wait_entry_unlocked_exclusive (xas_pause) makes a scan skip the locked entry it waited for and reload the next one: break-layout misses a busy page or leaves an entry, and a CoW write's __dax_clear_dirty_range clears the DIRTY mark of the entry after its range (fixed in 6.15.3 and 6.16)",
        matches: |s| {
            s.kernel == KernelState::V6_15
                && s.concurrent()
                && s.check_in(&["I8", "I9", "WARN", "I16"])
                && s.any_op(|o| {
                    matches!(
                        o,
                        Op::Truncate { .. }
                            | Op::PunchHole { .. }
                            | Op::Reflink { .. }
                            | Op::Evict { .. }
                            | Op::CowWrite { .. }
                    )
                })
        },
    },
    Known {
        name: "H4",
        what: "a sync fault maps the pfn of an entry a CoW write replaced (F7)",
        matches: |s| {
            s.check == "I17"
                && !s.program.world.map_sync.is_empty()
                && s.any_op(|o| matches!(o, Op::CowWrite { .. }))
        },
    },
    Known {
        name: "H6",
        what: "truncate sleeps until a mapping made during its own break-layout wait goes away (F8, and through GUP: O1)",
        matches: |s| s.concurrent() && s.check == "I13",
    },
    Known {
        name: "O2",
        what: "mf_generic_kill_procs reads TAIL_MAPPING through a folio pointer that a concurrent PMD fault turned into a tail page (docs/findings.md O2)",
        matches: |s| s.check == "BUG" && s.detail.contains("TAIL_MAPPING"),
    },
    Known {
        name: "S8b",
        what: "memory failure holds a dax_lock_folio cookie while a shared fault changes the folio's owner (F4, H3 with B16)",
        matches: |s| {
            s.shared()
                && s.check_in(&["BUG", "I19", "I10", "I5", "data-race"])
                && s.any_op(|o| matches!(o, Op::MemoryFailure { .. } | Op::MemoryFailureFs { .. }))
        },
    },
];

pub fn describe(name: &str) -> &'static str {
    KNOWN.iter().find(|k| k.name == name).map_or("", |k| k.what)
}

/// The top-level kernel function thread `tid` was in at `step`.
fn top_op(f: &Failure) -> &'static str {
    let v = &f.violation;
    let upto = v.step.min(f.rec.events.len());
    f.rec.events[..upto]
        .iter()
        .rev()
        .find(|e| (v.tid == 0 || e.tid == v.tid) && matches!(e.what, What::Begin))
        .map_or("-", |e| e.func)
}

/// The known finding the run's first violation matches, if any.
pub fn classify(p: &Program, cfg: &Config, f: &Failure) -> Option<&'static Known> {
    let seen = Seen {
        check: f.violation.check.id(),
        detail: &f.violation.detail,
        op: top_op(f),
        program: p,
        kernel: cfg.kernel,
        h7_store: f.rec.events.iter().any(|e| {
            matches!(e.what, What::XaStore { old: Some(o), new: Some(n), .. }
                if dax_is_pmd_entry(o) && !dax_is_pmd_entry(n))
        }),
    };
    // A lock-rule, internal or livelock report is never a known finding.
    if matches!(
        f.violation.check,
        Check::Internal | Check::Livelock | Check::LockRule(_)
    ) {
        return None;
    }
    KNOWN.iter().find(|k| (k.matches)(&seen))
}

type Stats = BTreeMap<&'static str, (u64, BTreeSet<u64>)>;
static STATS: Mutex<Stats> = Mutex::new(BTreeMap::new());

/// FNV-1a of the operation kinds in order: what "a path" is.
fn path_of(p: &Program) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (t, ops) in p.threads.iter().enumerate() {
        for op in ops {
            let kind = op.to_string();
            for b in kind
                .split_whitespace()
                .take(3)
                .flat_map(str::bytes)
                .chain([t as u8])
            {
                h ^= b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// Count a run that reached a known finding.
pub fn count(p: &Program, v: &Verdict) {
    if let Verdict::Known(name, _) = v {
        let mut s = STATS.lock().unwrap_or_else(|e| e.into_inner());
        let e = s.entry(name).or_default();
        e.0 += 1;
        e.1.insert(path_of(p));
    }
}

/// Known findings reached so far: `H3 x12 (5 paths), H7 x3 (2 paths)`.
pub fn summary() -> String {
    let s = STATS.lock().unwrap_or_else(|e| e.into_inner());
    if s.is_empty() {
        return "no known finding reached".into();
    }
    s.iter()
        .map(|(k, (n, paths))| format!("{k} x{n} ({} paths)", paths.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Total runs that reached a known finding.
pub fn total() -> u64 {
    STATS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|(n, _)| n)
        .sum()
}
