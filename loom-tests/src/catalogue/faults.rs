//! Fault, munmap and truncate scenarios: S1, S3, S5, S6.

use daxcheck_core::mm::memory::{handle_mm_fault, madvise_dontneed, munmap};
use daxcheck_core::vm::Access::{self, Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::{xfs_free_file_space, xfs_setattr_size};
use daxcheck_core::Mutant;

use super::{file_a, holds, size_name, thread, DefaultExplorer, Scenario, Variant};

/// S1: fault vs truncate.
pub(crate) fn s1() -> Scenario {
    let variant = |name, size: FaultSize, exit: bool| Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(
                format!(
                    "fault A[0] ({}, read){}",
                    size_name(size),
                    if exit { ", then exit (munmap)" } else { "" }
                ),
                move |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, size);
                    if exit {
                        munmap(cx, Mm(0), FILE_A);
                    }
                },
            ),
            thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
        ],
        expect: None,
    };
    Scenario {
        name: "S1",
        title: "fault vs truncate",
        header: "\
T1: handle_mm_fault(A[0]) under MMAPLOCK shared; in the -exit variants the process then exits
    (munmap: zap, unlink, TLB flush)
T2: xfs_setattr_size(A, 0): MMAPLOCK excl, dax_break_layout (callback drops/retakes MMAPLOCK),
    truncate, free blocks
Property: when break-layout returns, T1's folio has refcount 0 and mapcount 0 and no entry is
          left (I8); a deferred TLB put is waited for, not missed; blocks are freed FS-free (I6);
          T1 either never mapped (SIGBUS past i_size) or was zapped; no hang (I12/I13)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M1,
            Mutant::M2,
            Mutant::M7,
            Mutant::M8,
            Mutant::M10,
            Mutant::M12,
            Mutant::M14,
            Mutant::M16,
            Mutant::M17,
            Mutant::M27,
            Mutant::M28,
            Mutant::M29,
            Mutant::M30,
            Mutant::M42,
            Mutant::M33,
            Mutant::M35,
            Mutant::B1,
            Mutant::B2,
            Mutant::B3,
            Mutant::B5,
            Mutant::B8,
            Mutant::B19,
            Mutant::B21,
        ],
        variants: vec![
            variant("pte", FaultSize::Pte, false),
            variant("pmd", FaultSize::Pmd, false),
            variant("pte-exit", FaultSize::Pte, true),
            variant("pmd-exit", FaultSize::Pmd, true),
        ],
    }
}

/// S3: fault vs munmap vs break-layout.
pub(crate) fn s3() -> Scenario {
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
        header: "\
T1: handle_mm_fault(A[0]) in mm0
T2: munmap(mm0, A): zap under the PTL (mapcount-1), unlink, then the TLB flush drops the reference
    (pmd-dontneed: MADV_DONTNEED of A[1] instead, which splits the PMD and puts its reference at once)
T3: xfs_free_file_space(A, 0..1): MMAPLOCK excl, dax_break_layout, delete entries, free blocks
Property: T3 waits while refcount - mapcount > 0 (the deferred put) and is woken by free_zone_device_folio
          (I13); it never completes early (I8, I9); every reference is accounted (I1)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M6, Mutant::M9, Mutant::M10, Mutant::M12, Mutant::M29, Mutant::M30, Mutant::M41, Mutant::B19],
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
        ],
    }
}

/// Two files' worth of setup: A with both blocks holes.
fn hole_a(mms: u8) -> daxcheck_core::world::Setup {
    let mut s = file_a(mms);
    s.files[0].blocks = vec![None, None];
    s
}

/// S5: two (or three) faults on the same entry.
pub(crate) fn s5() -> Scenario {
    let pte = FaultSize::Pte;
    let pmd = FaultSize::Pmd;
    let fault = |mm: Mm, index: u64, access: Access, size: FaultSize| {
        thread(
            format!(
                "mm{} {} fault A[{index}] ({})",
                mm.0,
                if access == Write { "write" } else { "read" },
                size_name(size)
            ),
            move |cx| {
                handle_mm_fault(cx, mm, FILE_A, index, access, size);
            },
        )
    };
    Scenario {
        name: "S5",
        title: "faults on the same entry",
        header: "\
hole-read:   T1, T2 (two processes) read-fault the hole A[0]: one zero entry, zero-page PTEs, no refcount
write-read:  T1 write-faults A[0] in mm0, T2 read-faults A[0] in mm1: one waits on the entry lock
read-upgrade: T1 reads then writes A[0] in mm0 (the mkwrite upgrade takes no new reference), T2 reads in mm1
pmd-pte:     T1 PMD-faults A[0] in mm0, T2 PTE-faults A[1] in mm1 inside the PMD entry (a PTE of the PMD folio)
pte-pmd:     T1 PTE-faults A[1] in mm0, T2 PMD-faults A[0] in mm1 (CONFLICT, fallback to a PTE)
hole-pmd-pte: T1 PMD read of the hole A[0..1] (huge zero PMD) in mm0, T2 PTE read of A[1] in mm1 (downgrade)
three:       T1, T2, T3 read-fault A[0] in three processes (a WAKE_NEXT chain)
Property: entry lock exclusion (I10), no lost wake (I12), PMD/PTE exclusivity (I14), page tables match the
          xarray (I15), refcount == installed mappings (I1)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M4, Mutant::M18, Mutant::M23, Mutant::M24, Mutant::M25, Mutant::B12],
        variants: vec![
            Variant { name: "hole-read", setup: hole_a(2), threads: vec![fault(Mm(0), 0, Read, pte), fault(Mm(1), 0, Read, pte)], expect: None },
            Variant { name: "write-read", setup: file_a(2), threads: vec![fault(Mm(0), 0, Write, pte), fault(Mm(1), 0, Read, pte)], expect: None },
            Variant {
                name: "read-upgrade",
                setup: file_a(2),
                threads: vec![
                    thread("mm0 read then write fault A[0] (PTE)", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                    }),
                    fault(Mm(1), 0, Read, pte),
                ],
            expect: None,
            },
            Variant { name: "pmd-pte", setup: file_a(2), threads: vec![fault(Mm(0), 0, Read, pmd), fault(Mm(1), 1, Read, pte)], expect: None },
            Variant { name: "pte-pmd", setup: file_a(2), threads: vec![fault(Mm(0), 1, Read, pte), fault(Mm(1), 0, Read, pmd)], expect: None },
            Variant {
                name: "hole-pmd-pte",
                setup: hole_a(2),
                threads: vec![fault(Mm(0), 0, Read, pmd), fault(Mm(1), 1, Read, pte)],
            expect: None,
            },
            Variant {
                name: "three",
                setup: file_a(3),
                threads: vec![fault(Mm(0), 0, Read, pte), fault(Mm(1), 0, Read, pte), fault(Mm(2), 0, Read, pte)],
            expect: None,
            },
        ],
    }
}

/// S6: mixed PMD/PTE mappings across processes (B14).
pub(crate) fn s6() -> Scenario {
    Scenario {
        name: "S6",
        title: "mixed PMD and PTE mappings across processes",
        header: "\
T1: mm0 PMD read fault A[0] (PMD entry, compound folio 8)
T2: mm1 PTE read fault A[1] inside the PMD entry, then (-truncate) T3 truncates A
Property: the PMD folio keeps mapping A / index 0 and its order (I4); P2's PTE holds a reference on the
          large folio (I1); truncate waits for both mappings to go (I8)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::B14, Mutant::M28],
        variants: vec![
            Variant {
                name: "map",
                setup: file_a(2),
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
                name: "truncate",
                setup: file_a(2),
                threads: vec![
                    thread("mm0 PMD read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                    }),
                    thread("mm1 PTE read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
                ],
            expect: None,
            },
        ],
    }
}
