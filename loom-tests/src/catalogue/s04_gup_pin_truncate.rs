//! S4: a GUP pin (slow, fast-only, long-term) against truncate.

use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::mm::gup::{__get_user_pages, unpin_user_page, GupFlags};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::{self, Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::Mutant;

use super::common::{file_a, holds, pin_unpin, thread, PIN};
use super::{DefaultExplorer, OutOfReach, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: pin_user_pages(A[0]) (slow path faults it in; -fast: a fault, then get_user_pages_fast_only, which
    never falls back: a fallback would fault in the page again, which is S13's H6), then unpin;
    -slow-pmd: the VMA is PMD-aligned, so the slow path's fault-in is a PMD fault (a PMD folio's pin);
    -munmap: the process unmaps between pin and unpin (B19); -longterm: FOLL_LONGTERM must fail (I18);
    -fast-write, -slow-write: a PTE read fault of A[0], then a FOLL_WRITE pin of it (GUP-fast only: it
    bails on the read-only PTE; the slow path: it write-faults first); -fast-write-mapped: a write
    fault, then a FOLL_WRITE GUP-fast (granted through the writable PTE); -slow-pmd-write: a PMD read
    fault of A[0], then a FOLL_WRITE pin of A[1] through the read-only PMD (the slow path write-faults it)
T2: xfs_setattr_size(A, 0)
-evict: T1 faults A[0], unmaps it and evicts A (dax_break_layout_final waits uninterruptibly for a
    pin to go); T2 pins A[0] through GUP-fast (if still mapped), then unpins
Property: break-layout (and the final one) returns only once the pin is released (I8); GUP-fast
          either is seen by the scan or bails (I6/I8); no refcount underflow (I2); refcount == mappings + pins (I1);
          a FOLL_WRITE pin is granted only through a PTE/PMD that maps the page writable (I16)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "Why `fast` never falls back: findings O1. Both explorers run by default: loom's bounded search \
misses B19's interleaving (truncate entirely between the munmap and the unpin) at preemption \
bounds 2 to 4, which PCT finds; loom finds M20's at once.";

/// Why the uniform random scheduler does not reach B19 in `munmap`.
const B19_MUNMAP: &str = "B19's window is the whole truncate between T1's VMA unlink and its \
    unpin: once T1 drops MMAPLOCK after its fault, T2 (which takes it next) must stay off the CPU \
    for the ~20 steps of T1's pin and munmap, about 2^-20 per execution under the uniform random \
    scheduler; not met in 50,000 executions (`daxcheck check S4/munmap --mutant B19 --explorer \
    random --iterations 50000`); PCT catches it at execution 14";

/// Why the uniform random scheduler does not reach B19 in `evict`.
const B19_EVICT: &str = "B19's window: T2's GUP-fast pin must land between T1's PTE insert \
    and its zap, then T2 must stay off the CPU for the ~42 steps of T1's munmap and eviction \
    (its PTE recheck comes last), about 2^-40 per execution under the uniform random scheduler; \
    not met in 50,000 executions (`daxcheck check S4/evict --mutant B19 --explorer random \
    --iterations 50000`); PCT catches it at execution 45";

/// `pin_user_pages(FOLL_WRITE)`.
const WRITE_PIN: GupFlags = GupFlags { write: true, ..PIN };

/// S4: GUP pin vs truncate.
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S4",
        title: "GUP pin vs truncate",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M20,
            Mutant::M39,
            Mutant::B19,
            Mutant::M10,
            Mutant::M52,
            Mutant::M53,
            Mutant::M54,
            Mutant::M61,
        ],
        // PCT at depth 3 lets M20 (S4/fast) escape 2,000 iterations; at
        // depth 5 it is caught within 1,150-1,977 executions on seeds 1-4
        // (`daxcheck mutants --scenario S4 --mutant M20 --explorer pct
        // --depth D --seed S --iterations 20000`), hence 3x for a margin.
        tuning: Tuning {
            pct_depth: 5,
            pct_factor: 3,
            random_out_of_reach: &[
                OutOfReach {
                    variant: "munmap",
                    mutant: Some(Mutant::B19),
                    why: B19_MUNMAP,
                },
                OutOfReach {
                    variant: "evict",
                    mutant: Some(Mutant::B19),
                    why: B19_EVICT,
                },
            ],
            ..Tuning::DEFAULT
        },
        variants: vec![
            Variant {
                name: "slow",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] (slow), unpin", |cx| {
                        pin_unpin(cx, 0, 0, false, PIN)
                    }),
                    truncate(),
                ],
                expect: None,
            },
            // The fault-in of a PMD-aligned VMA is a PMD fault: the pin
            // takes a page of a PMD folio (the pin bias and `_pincount`).
            Variant {
                name: "slow-pmd",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] (slow, PMD-aligned VMA), unpin", |cx| {
                        pin_unpin(cx, 0, 0, false, GupFlags { huge: true, ..PIN })
                    }),
                    truncate(),
                ],
                expect: None,
            },
            fault_then_pin(
                "fast",
                "fault A[0], pin A[0] (fast only), unpin",
                Read,
                true,
                PIN,
            ),
            // A FOLL_WRITE pin of a page mapped read-only: GUP-fast must
            // bail (fast only: no fallback), the slow path must write-fault
            // it first (the fault that tags the entry DIRTY).
            fault_then_pin(
                "fast-write",
                "read fault A[0], pin A[0] for write (fast only), unpin",
                Read,
                true,
                WRITE_PIN,
            ),
            // The grant side: a FOLL_WRITE GUP-fast of a writable PTE that
            // truncate zaps meanwhile. The grab is judged on the PTE its
            // re-check read, which may be older than the zap.
            fault_then_pin(
                "fast-write-mapped",
                "write fault A[0], pin A[0] for write (fast only), unpin",
                Write,
                true,
                WRITE_PIN,
            ),
            fault_then_pin(
                "slow-write",
                "read fault A[0], pin A[0] for write (slow), unpin",
                Read,
                false,
                WRITE_PIN,
            ),
            Variant {
                name: "slow-pmd-write",
                setup: file_a(1),
                threads: vec![
                    thread(
                        "PMD read fault A[0], pin A[1] for write (slow, PMD-aligned VMA), unpin",
                        |cx| {
                            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                            pin_unpin(
                                cx,
                                0,
                                1,
                                false,
                                GupFlags {
                                    huge: true,
                                    ..WRITE_PIN
                                },
                            );
                        },
                    ),
                    truncate(),
                ],
                expect: None,
            },
            Variant {
                name: "munmap",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] (slow), munmap, unpin", |cx| {
                        if let Ok(p) = __get_user_pages(cx, Mm(0), FILE_A, 0, PIN) {
                            munmap(cx, Mm(0), FILE_A);
                            unpin_user_page(cx, p);
                        }
                    }),
                    truncate(),
                ],
                expect: None,
            },
            Variant {
                name: "evict",
                setup: file_a(1),
                threads: vec![
                    thread("mm0 read fault A[0], munmap, evict A", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        munmap(cx, Mm(0), FILE_A);
                        xfs_fs_evict_inode(cx, FILE_A.0);
                    }),
                    thread("pin A[0] (fast only), unpin", |cx| {
                        pin_unpin(cx, 0, 0, true, PIN)
                    }),
                ],
                expect: None,
            },
            Variant {
                name: "longterm",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] FOLL_LONGTERM (must fail)", |cx| {
                        pin_unpin(
                            cx,
                            0,
                            0,
                            false,
                            GupFlags {
                                longterm: true,
                                ..PIN
                            },
                        )
                    }),
                    truncate(),
                ],
                expect: Some(holds),
            },
        ],
    }
}

/// T2 of every variant.
fn truncate() -> ThreadSpec {
    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0))
}

/// T1 PTE-faults A[0] in with `access`, then pins it with `flags` (GUP-fast
/// only when `fast`) and unpins it; T2 truncates A.
fn fault_then_pin(
    name: &'static str,
    label: &'static str,
    access: Access,
    fast: bool,
    flags: GupFlags,
) -> Variant {
    Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(label, move |cx| {
                handle_mm_fault(cx, Mm(0), FILE_A, 0, access, FaultSize::Pte);
                pin_unpin(cx, 0, 0, fast, flags);
            }),
            truncate(),
        ],
        expect: None,
    }
}
