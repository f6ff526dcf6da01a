//! S7: two reflinked files associate one folio (H3).

use daxcheck_core::mm::gup::{gup_fast, unpin_user_page, GupFlags};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{File, Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::{KernelState, Mutant};

use super::common::{holds, shared_ab, thread};
use super::{DefaultExplorer, Expect, Finding, OutOfReach, Scenario, Tuning, Variant};
use crate::checks::Hyp;

fn finds_h3(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H3],
        bug: None,
        what: "two files associate one folio under two different xa_locks",
        checks: &[
            CheckKind::DataRace,
            CheckKind::I4,
            CheckKind::I9,
            CheckKind::I13,
        ],
    })
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
Setup: A[0] and B[0] share pfn 8 (IOMAP_F_SHARED)
T1: mm0 read fault A[0]: associates the folio (first owner: mapping = A, index = 0)
T2: mm1 read fault B[0]: second owner: make_shared (mapping = NULL, share = 1), share = 2
    (-fault-punch: then T2 punches B[0..1]: F3, B's break-layout waits on A's mapping)
  -pin-punch: T2 faults A[0] (mm0) and B[0] (mm1), then punches B; T1 pins A[0] through mm0 with
    GUP-fast only (no fault-in, so no fault's temporary reference) and unpins: a scan that sees the
    pin waits, and after the unpin the refcount is A's mapcount, never 0 (F3 through a pin)
  -longterm-punch: T2 faults A[0] (mm0) and B[0] (mm1), then punches B; T1 calls
    pin_user_pages_fast(A[0], FOLL_LONGTERM) through mm0: try_grab_folio_fast takes a reference
    before it finds the fsdax folio not long-term pinnable and puts it (the slow path then refuses):
    the only transient reference T2's busy scan can see is that one (F3 through GUP-fast)
  -fault-evict: T2 faults B[0], unmaps it and evicts B: dax_break_layout_final waits
    TASK_UNINTERRUPTIBLE on A's mapping (F3 at eviction: an unkillable hang, I13)
-in-order: one thread makes the two associations in turn (B first), then punches A[0..1]: A's
    break-layout scan finds the folio still mapped through B, and must call it idle (refcount ==
    mapcount: only mappings hold it), delete A's entry and leave B's
-in-order-pmd: the same with PMD faults: the folio is compound, so its mapcount is page[1]'s
    large_mapcount (B's PMD mapping), not the head page's own
Property: folio->mapping/share/index change only under one lock that orders them (I11 as the kernel
          states it: xa_lock of *the* mapping) — with two files there are two xa_locks";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "Under loom the two associations are unordered accesses (a data race); under shuttle they \
interleave and both take the first-owner branch (I4); in `fault-punch` PCT may instead meet the \
I13 hang. `pin-punch`, `longterm-punch` and `fault-evict` give F3 through a GUP-fast pin, through GUP-fast's transient FOLL_LONGTERM reference, and at eviction (`dax_break_layout_final`, an unkillable wait): each the I13 hang. `in-order` holds: the same two associations made in turn by one thread, then a punch of A, whose \
busy scan must call the folio idle though B still maps it (added for coverage, issue 10). \
`in-order-pmd` is its PMD form (issue 10): the scan reads the mapcount of a compound folio, so it \
catches M43 (the head page's own mapcount, 0 under a PMD mapping) and the generated mutant \
`mm/folio.rs:66 + -> *` (`folio_mapcount` reading the head's `large_mapcount`), which nothing else \
catches. v6.15's special DAX PMDs (B5) do not get in the way: the PMD still takes its reference and \
its rmap, and the variant holds and catches both mutants on every kernel state. Findings F2 and F3 \
in `docs/findings.md`.";

/// S7: two files sharing one folio.
pub(crate) fn scenario() -> Scenario {
    let fault = |mm: u8, file: u8| {
        thread(
            format!(
                "mm{mm} read fault {}[0] (shared extent)",
                (b'A' + file) as char
            ),
            move |cx| {
                handle_mm_fault(cx, Mm(mm), File(file), 0, Read, FaultSize::Pte);
            },
        )
    };
    // F3's punching thread: both files map the folio, then B's break-layout
    // meets A's mapping.
    let map_both_punch_b = || {
        thread(
            "mm0 read fault A[0], mm1 read fault B[0], punch B[0..1]",
            |cx| {
                handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                xfs_free_file_space(cx, FILE_B, 0, 1);
            },
        )
    };
    Scenario {
        name: "S7",
        title: "reflink: two files associate one folio (H3)",
        header: HEADER,
        notes: NOTES,
        expect: finds_h3,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        // -in-order: a busy test by refcount alone sees B's mapping as busy;
        // -in-order-pmd: one that misses a PMD mapping in the mapcount too.
        catches: &[Mutant::M14, Mutant::M43],
        // The uniform random scheduler cannot reach the two GUP windows.
        tuning: Tuning {
            random_out_of_reach: &[
                OutOfReach {
                    variant: "pin-punch",
                    mutant: None,
                    why: "T1's lockless walk must come after T2's fault of A has mapped it (T2's \
                          first 63 steps: before that GUP-fast finds no PTE and T1 ends), and its \
                          pin must then outlast T2's fault of B and the punch up to the busy scan \
                          (78 more steps, T1 two steps from its unpin): about 2^-60 per execution \
                          under the uniform random scheduler; not met in 50,000 executions (seed 1) \
                          or 200,000 (seed 2) (`daxcheck check S7/pin-punch --explorer random \
                          --iterations 200000 --seed 2`); PCT finds it at execution 21",
                },
                OutOfReach {
                    variant: "longterm-punch",
                    mutant: None,
                    why: "T1's GUP-fast must come after T2's fault of A (46 steps), and its \
                          transient reference must still be held when T2's busy scan looks, 95 \
                          steps later: about 2^-45 per execution under the uniform random \
                          scheduler; not met in 50,000 executions (seed 1) or 200,000 (seed 2) \
                          (`daxcheck check S7/longterm-punch --explorer random --iterations \
                          200000 --seed 2`); PCT finds it at execution 30",
                },
            ],
            ..Tuning::DEFAULT
        },
        variants: vec![
            Variant {
                name: "faults",
                setup: shared_ab(2, 0),
                threads: vec![fault(0, 0), fault(1, 1)],
                expect: None,
            },
            Variant {
                name: "fault-punch",
                setup: shared_ab(2, 0),
                threads: vec![
                    fault(0, 0),
                    thread("mm1 read fault B[0], then punch B[0..1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                        xfs_free_file_space(cx, FILE_B, 0, 1);
                    }),
                ],
                expect: None,
            },
            Variant {
                name: "pin-punch",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 pin_user_pages_fast_only(A[0]), unpin", |cx| {
                        let flags = GupFlags {
                            write: false,
                            pin: true,
                            longterm: false,
                            huge: false,
                            fast_only: true,
                        };
                        if let Ok(p) = gup_fast(cx, Mm(0), FILE_A, 0, flags) {
                            unpin_user_page(cx, p);
                        }
                    }),
                    map_both_punch_b(),
                ],
                expect: None,
            },
            Variant {
                name: "longterm-punch",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread(
                        "mm0 pin_user_pages_fast(A[0], FOLL_LONGTERM) (fails)",
                        |cx| {
                            let flags = GupFlags {
                                write: false,
                                pin: true,
                                longterm: true,
                                huge: false,
                                fast_only: false,
                            };
                            let _ = gup_fast(cx, Mm(0), FILE_A, 0, flags);
                        },
                    ),
                    map_both_punch_b(),
                ],
                expect: None,
            },
            Variant {
                name: "fault-evict",
                setup: shared_ab(2, 0),
                threads: vec![
                    fault(0, 0),
                    thread(
                        "mm1 read fault B[0], munmap B, evict B (dax_break_layout_final)",
                        |cx| {
                            handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                            munmap(cx, Mm(1), FILE_B);
                            xfs_fs_evict_inode(cx, 1);
                        },
                    ),
                ],
                expect: None,
            },
            Variant {
                name: "in-order",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm1 read fault B[0]; mm0 read fault A[0]; punch A[0..1]",
                    |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        xfs_free_file_space(cx, FILE_A, 0, 1);
                    },
                )],
                expect: Some(holds),
            },
            Variant {
                name: "in-order-pmd",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm1 PMD read fault B[0]; mm0 PMD read fault A[0]; punch A[0..1]",
                    |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pmd);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                        xfs_free_file_space(cx, FILE_A, 0, 1);
                    },
                )],
                expect: Some(holds),
            },
        ],
    }
}
