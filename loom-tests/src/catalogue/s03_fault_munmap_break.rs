//! S3: a fault, munmap's deferred put and a hole punch's break-layout.

use daxcheck_core::mm::memory::{handle_mm_fault, madvise_dontneed, munmap};
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::Mutant;

use super::common::{file_a, holds, size_name, thread};
use super::{DefaultExplorer, OutOfReach, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: handle_mm_fault(A[0]) in mm0
T2: munmap(mm0, A): zap under the PTL (mapcount-1), unlink, then the TLB flush drops the reference
    (pmd-dontneed: MADV_DONTNEED of A[1] instead, which splits the PMD and puts its reference at once)
    (pmd-two-mms: no T2; T1 PMD-faults A[0] in mm0 and then in mm1, so T3 zaps two PMDs of one folio)
T3: xfs_free_file_space(A, 0..1): MMAPLOCK excl, dax_break_layout, delete entries, free blocks
Property: T3 waits while refcount - mapcount > 0 (the deferred put) and is woken by free_zone_device_folio
          (I13); it never completes early (I8, I9); every reference is accounted (I1)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "`pmd-dontneed` takes the split side of the `vma_is_dax` exclusion: `__split_huge_pmd_locked` \
drops the rmap and the reference at once. M41 (added for `daxcheck why --without`) breaks that \
side.";

/// S3: fault vs munmap vs break-layout.
pub(crate) fn scenario() -> Scenario {
    let variant = |name, size: FaultSize| Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(
                format!("fault A[0] ({}, read)", size_name(size)),
                move |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, size);
                },
            ),
            thread("munmap A in mm0", |cx| munmap(cx, Mm(0), FILE_A)),
            thread("punch hole A[0..1] (break-layout)", |cx| {
                xfs_free_file_space(cx, FILE_A, 0, 1)
            }),
        ],
        expect: None,
    };
    Scenario {
        name: "S3",
        title: "fault vs munmap vs break-layout",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M6,
            Mutant::M9,
            Mutant::M10,
            Mutant::M12,
            Mutant::M29,
            Mutant::M30,
            Mutant::M41,
            Mutant::M58,
            Mutant::B19,
        ],
        // PCT at depth 3 lets M30 escape 2,000 iterations; at depth 5 it is
        // caught within 31-401 executions on seeds 1-3 (`daxcheck mutants
        // --scenario S3 --mutant M30 --explorer pct --depth D --seed S`).
        tuning: Tuning {
            pct_depth: 5,
            // The uniform random scheduler needs both of pmd-two-mms' PMD
            // faults done before the punch's zap for M58: caught at
            // execution 2302, 190, 87, 1020, 1855 on seeds 1-5, past the
            // default 2,000 (`daxcheck check S3/pmd-two-mms --mutant M58
            // --explorer random --iterations 10000 --seed S`).
            random_factor: 5,
            random_out_of_reach: &[OutOfReach {
                variant: "pmd-dontneed",
                mutant: Some(Mutant::M41),
                why: "M41's window needs T1's whole PMD fault (50 steps) before T2's \
                      MADV_DONTNEED looks at the PMD, and the punch after both: the uniform \
                      random scheduler met it 3 times in 335,000 executions (seeds 1, 2, 5 \
                      at 6,232, 22,175, 6,500; seeds 3, 4, 6 not in 100,000: `daxcheck check \
                      S3/pmd-dontneed --mutant M41 --explorer random --iterations 100000 \
                      --seed S`), about 1 in 110,000; PCT catches it at execution 1",
            }],
            ..Tuning::DEFAULT
        },
        variants: vec![
            variant("pte", FaultSize::Pte),
            variant("pmd", FaultSize::Pmd),
            // MADV_DONTNEED of one page of the PMD splits it: the split side
            // of `vma_is_special_huge` (M41) must drop the PMD's reference.
            Variant {
                name: "pmd-dontneed",
                setup: file_a(1),
                threads: vec![
                    thread("fault A[0] (PMD, read)", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                    }),
                    thread("madvise(MADV_DONTNEED) A[1] in mm0", |cx| {
                        madvise_dontneed(cx, Mm(0), FILE_A, 1, 1)
                    }),
                    thread("punch hole A[0..1] (break-layout)", |cx| {
                        xfs_free_file_space(cx, FILE_A, 0, 1)
                    }),
                ],
                expect: None,
            },
            // Two processes map the folio by PMD; the punch zaps them one
            // after the other, so the first zap leaves _entire_mapcount at 1
            // (M58). No other holds run maps one folio by PMD twice: S10,
            // where two do, finds H2 first.
            Variant {
                name: "pmd-two-mms",
                setup: file_a(2),
                threads: vec![
                    thread("fault A[0] (PMD, read) in mm0, then in mm1", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pmd);
                    }),
                    thread("punch hole A[0..1] (break-layout)", |cx| {
                        xfs_free_file_space(cx, FILE_A, 0, 1)
                    }),
                ],
                expect: None,
            },
        ],
    }
}
