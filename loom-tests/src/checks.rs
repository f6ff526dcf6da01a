//! The vocabulary of a report: every check the model can break (the spec's
//! invariants I1-I20, the model's own I21 and I22, and the other kinds of finding) and the hypotheses
//! H1-H7 the catalogue's `finds` scenarios test. `daxcheck list --checks`
//! prints it; `docs/checks.md` is its Markdown form, kept equal by a test.

use std::fmt;
use std::fmt::Write;

use daxcheck_core::violation::{CheckKind, Inv};

/// What each invariant requires, in one line (the spec's §5, reworded).
const INVARIANTS: [&str; 22] = [
    "at quiescence a folio's refcount equals its page-table mappings plus its GUP references (in flight: plus temporary and deferred TLB-gather references), and its mapcount (rmap counters) equals its page-table mappings",
    "a refcount never drops below zero; a put on a zero count is the kernel's VM_BUG_ON",
    "tail pages of a compound folio hold no references; after a split every former page has refcount 0",
    "a folio's mapping/index (or share count) names exactly the xarray entries that point at it, with the entry's order",
    "the index/share union is read as a share count only while mapping is NULL, and as an index only while it is set",
    "a block the filesystem may free has refcount 0, mapcount 0, no mapping, no share, order 0 and clean page[1] fields",
    "a block is handed to a new owner (associated afresh) only when it is FS-free (for an order-0 entry the kernel has no WARN here: the report says so, and I7 is then the model's hazard marker, not a kernel WARN)",
    "when dax_break_layout returns 0, every folio of the range is idle and no entry is left, until the FS lock is dropped",
    "dax_folio_put clears and splits a folio only at refcount 0 and mapcount 0 (on an order-0 folio there is no split and no kernel WARN: the report says so, and I9 is then the model's hazard marker, not a kernel WARN)",
    "at most one thread owns an entry lock at a time; unlocking an unlocked entry is the kernel's BUG",
    "a folio's association (mapping, share, index, order) changes only under its mapping's xa_lock and the entry's lock",
    "no entry wakeup is lost: every thread waiting on an entry is woken or blocked behind a new owner who will wake it (a hang here is reported as I12)",
    "a break-layout waiter sleeping on a folio is woken once its refcount reaches 0 (a hang here is reported as I13)",
    "within one PMD range of a file the xarray holds one PMD entry or PTE entries, never both",
    "every present PTE/PMD of a DAX VMA maps a pfn whose entry is in the xarray at that index",
    "a mapping becomes writable only while its entry is marked DIRTY; writeback clears DIRTY only after write-protecting and flushing, and a data-integrity writeback that returns 0 has reached every entry it found tagged TOWRITE",
    "a MAP_SYNC write fault installs a writable PTE only after fsync succeeded, and only while the entry is present",
    "FOLL_LONGTERM GUP never succeeds on an fsdax folio",
    "a memory-failure cookie from dax_lock_folio holds the entry lock of the folio's (mapping, index), and mapping stays set until unlock; dax_lock_mapping_entry gives a DAX mapping a cookie, and a page only with the lock of the real (not zero or empty) entry of that page",
    "a mapping's nrpages equals the sum of 2^order over its entries",
    "a fault that returns NOPAGE leaves its address mapped with its access (a writable PTE or PMD for a write fault, a present one for a read fault), checked at the return when no other thread stored to that address's PMD or PTE meanwhile and the handler took no raced-retry exit (the model's own postcondition, not in the spec)",
    "when memory failure drops the entry lock of a page it poisoned (dax_unlock_folio, dax_unlock_mapping_entry), the page is marked HWPoison and no process maps it through that (mapping, index); a fault needs that entry lock, so none can map it again before the unlock; when mf_dax_kill_procs returns 0 to the filesystem, the page of every entry of its range that stayed the same all through the call is HWPoison (the model's own, not in spec §5)",
];

/// A hypothesis about the kernel that a `finds` scenario tests (spec §6.3;
/// H7 is the model's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hyp {
    H1,
    H2,
    H3,
    H4,
    H5,
    H6,
    H7,
}

/// `H1` … `H7`.
impl fmt::Display for Hyp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("{self:?}"))
    }
}

/// The hypotheses and what each says.
pub const HYPOTHESES: [(Hyp, &str); 7] = [
    (Hyp::H1, "invalidation disassociates and splits a PMD folio before unmapping it, so a still-mapped folio is split (S9)"),
    (Hyp::H2, "a shared re-fault splits and re-preps a folio while a concurrent unpin of a tail page reads the split state (S10)"),
    (Hyp::H3, "two files sharing a reflinked block update the folio's mapping/share union under different xa_locks (S7, S8)"),
    (Hyp::H4, "the sync-fault path maps the pfn it was handed without checking it still matches the entry (S11)"),
    (Hyp::H5, "v6.15 leaves a stale index in the union of an order-0 folio, later read as a share count (S15)"),
    (Hyp::H6, "truncate's break-layout drops the FS lock while waiting, a fault maps the page again, and truncate waits on that mapping (S13)"),
    (Hyp::H7, "an order-0 store over a multi-index PMD entry (a shared-extent PTE fault) leaves the xarray inconsistent (S18)"),
];

/// The other kinds of check: what each means.
const OTHERS: [(CheckKind, &str); 7] = [
    (CheckKind::Warn, "a kernel WARN_ON/WARN_ON_ONCE site was reached; the report quotes the site and its condition"),
    (CheckKind::Bug, "a kernel BUG_ON/VM_BUG_ON site was reached; the report quotes the site"),
    (CheckKind::LockRule, "a lock-discipline rule of the spec's lock catalogue was broken (order, or a field changed without its lock)"),
    (CheckKind::DataRace, "loom saw two accesses to a plain field that no lock orders"),
    (CheckKind::Deadlock, "every remaining thread is blocked and none sleeps on an entry or var waitqueue (those are I12 and I13)"),
    (CheckKind::Livelock, "threads kept running without finishing until the explorer's step bound: a retry loop that never succeeds"),
    (CheckKind::Internal, "a model thread panicked for a reason that is not a model check: a daxcheck bug"),
];

/// Every check as `(id, name, meaning)`.
pub fn all() -> Vec<(String, String, &'static str)> {
    let mut v: Vec<(String, String, &'static str)> = Inv::ALL
        .iter()
        .zip(INVARIANTS)
        .map(|(inv, meaning)| {
            (
                CheckKind::Inv(*inv).to_string(),
                inv.name().to_string(),
                meaning,
            )
        })
        .collect();
    v.extend(
        OTHERS
            .iter()
            .map(|(k, meaning)| (k.to_string(), k.to_string(), *meaning)),
    );
    v
}

/// Whether `id` names a check (as replay files carry them).
pub fn is_check(id: &str) -> bool {
    all().iter().any(|(i, _, _)| i == id)
}

pub fn render_text() -> String {
    let mut out = String::from("checks (the VIOLATION line names one):\n");
    for (id, name, meaning) in all() {
        if id == name {
            let _ = writeln!(out, "  {id:<10} {meaning}");
        } else {
            let _ = writeln!(out, "  {id:<10} {name}: {meaning}");
        }
    }
    out.push_str("\nhypotheses (a `finds` scenario confirms one on the unmutated model):\n");
    for (id, meaning) in HYPOTHESES {
        let _ = writeln!(out, "  {id:<10} {meaning}");
    }
    out
}

pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Checks and hypotheses\n\n\
         Generated by `daxcheck list --checks --format markdown`; `loom-tests/tests/docs.rs` fails \
         when this file differs. A report's `VIOLATION` line names one check. I1-I20 keep the \
         numbers of the spec's §5 (I21 and I22 are the model's own); their meanings are restated here so that a clone needs \
         nothing outside the repository.\n\n\
         ## Checks\n\n| id | name | meaning |\n|---|---|---|\n",
    );
    for (id, name, meaning) in all() {
        let _ = writeln!(out, "| {id} | {name} | {meaning} |");
    }
    out.push_str(
        "\n## Hypotheses\n\nA `finds` scenario confirms one on the unmutated model \
         (`docs/findings.md` has the evidence).\n\n| id | hypothesis |\n|---|---|\n",
    );
    for (id, meaning) in HYPOTHESES {
        let _ = writeln!(out, "| {id} | {meaning} |");
    }
    out
}
