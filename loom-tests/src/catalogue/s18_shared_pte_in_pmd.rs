//! S18: a shared-extent PTE fault inside a PMD entry (H7, the model's own hypothesis).

use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::KernelState;

use super::common::{file_spare, shared_ab, thread};
use super::{DefaultExplorer, Expect, Finding, Scenario, Tuning, Variant};
use crate::checks::Hyp;

fn finds_h7(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H7],
        bug: None,
        what: "an order-0 store keeps a multi-index PMD entry's range (shared-extent PTE fault)",
        checks: &[
            CheckKind::I14,
            CheckKind::I20,
            CheckKind::I4,
            CheckKind::Warn,
        ],
    })
}

fn finds_h7_evict(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H7],
        bug: None,
        what: "the delete subtracts one page for the whole range; clear_inode's BUG_ON(nrpages) at eviction",
        checks: &[CheckKind::Bug],
    })
}

fn finds_h7_waiter(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H7],
        bug: None,
        what: "a waiter on the PMD-aligned key is not woken by the order-0 entry's unlock (a hang)",
        checks: &[CheckKind::I12],
    })
}

fn finds_h7_refault(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H7],
        bug: None,
        what: "a refault at another index of the range resolves to the other page's entry",
        checks: &[CheckKind::I15, CheckKind::I9],
    })
}

/// The H7 state, made by one thread: mm0 maps A[0..1] with a PMD (a PMD
/// entry, compound folio 8), then mm1's shared-extent PTE fault at A[1]
/// stores the order-0 entry (pfn 9) into the PMD entry's canonical slot.
fn h7_state(cx: &daxcheck_core::cx::Cx) {
    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
    handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
Setup: A[0..1] shares pfn 8-9 with B (IOMAP_F_SHARED)
T1: mm0 PMD read fault A[0] (a PMD entry, compound folio 8)
T2: mm1 PTE read fault A[1]: shared, so dax_insert_entry unmaps, disassociates the PMD folio (split)
    and stores the order-0 entry through its order-0 xas: lib/xarray.c writes only the canonical slot,
    the siblings keep pointing at it, so A[0] and A[1] both resolve to the pfn-9 PTE entry and
    nrpages still counts the PMD
Variants show what follows in the kernel:
  -evict: munmap both, evict A: the delete clears the range but subtracts 1 page, so clear_inode's
          BUG_ON(nrpages) fires
  -waiter: T2 reads A[0] while T1's PTE fault at A[1] holds the PMD entry locked: T2 sleeps on the
          PMD-aligned key [0], the order-0 unlock wakes key [1]: T2 hangs (I12)
  -refault: then mm0 read-faults A[0] (pfn 8): zaps only A[0], disassociates folio 9 while mm1's PTE
          still maps it (I9, a model hazard marker on order 0) and stores pfn 8 for the whole range,
          so A[1] resolves to pfn 8 while mm1 maps pfn 9 (I15)
  -cow-pmd: one process, two spare frames: mm0 PMD read fault A[0] (a read-only PMD), then PMD
          write fault A[0]: wp_huge_pmd, the DAX PMD fault falls back (CoW of a PMD extent) and
          splits the PMD, and the PTE CoW fault inside the PMD entry makes H7's store
Property: an entry fills exactly the range of its order (I14); nrpages == pages the slots cover (I20)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "H7 is this model's hypothesis, not the spec's; `docs/findings.md` has the evidence. \
`cow-pmd` (issue 10) reaches H7 from one process: a write to a reflinked file it maps by a \
read-only PMD. It is the only run in which a DAX PMD fault falls back over a huge PMD of its own \
process, so it is the one that sees the generated mutant `huge_memory.rs:149` (`split_huge_pmd` \
replaced by `()`): without the split the PTE fault finds the PMD still huge and returns NOPAGE, \
nothing is stored and the finding goes missing (expected finds, observed holds). A finds run \
looks only for its finding's checks, so I21, which the mutant breaks, is not what reports it.";

/// S18: a shared-extent PTE fault inside a real PMD entry (H7, the model's own hypothesis).
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S18",
        title: "shared-extent PTE fault inside a PMD entry (H7)",
        header: HEADER,
        notes: NOTES,
        expect: finds_h7,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        tuning: Tuning::DEFAULT,
        variants: vec![
            Variant {
                name: "pmd-pte",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 PMD read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                    }),
                    thread("mm1 PTE read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: None,
            },
            Variant {
                name: "evict",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm0 PMD read A[0]; mm1 PTE read A[1]; munmap both; evict A",
                    |cx| {
                        h7_state(cx);
                        munmap(cx, Mm(0), FILE_A);
                        munmap(cx, Mm(1), FILE_A);
                        xfs_fs_evict_inode(cx, 0);
                    },
                )],
                expect: Some(finds_h7_evict),
            },
            Variant {
                name: "waiter",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 PMD read A[0]; mm1 PTE read A[1]", h7_state),
                    thread("mm1 PTE read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(finds_h7_waiter),
            },
            Variant {
                name: "refault",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm0 PMD read A[0]; mm1 PTE read A[1]; mm0 PTE read A[0]",
                    |cx| {
                        h7_state(cx);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                    },
                )],
                expect: Some(finds_h7_refault),
            },
            Variant {
                name: "cow-pmd",
                setup: file_spare(true, 2),
                threads: vec![thread(
                    "mm0 PMD read A[0], then PMD write A[0] (CoW)",
                    |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pmd);
                    },
                )],
                expect: None,
            },
        ],
    }
}
