//! S5: two or three faults in different processes on one entry.

use daxcheck_core::mm::gup::{gup_fast, unpin_user_page, GupFlags};
use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vm::Access::{self, Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, Setup, FILE_A};
use daxcheck_core::Mutant;

use super::common::{file_a, holds, size_name, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// Two files' worth of setup: A with both blocks holes.
fn hole_a(mms: u8) -> Setup {
    let mut s = file_a(mms);
    s.files[0].blocks = vec![None, None];
    s
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
hole-read:   T1, T2 (two processes) read-fault the hole A[0]: one zero entry, zero-page PTEs, no refcount
write-read:  T1 write-faults A[0] in mm0, T2 read-faults A[0] in mm1: one waits on the entry lock
read-upgrade: T1 reads then writes A[0] in mm0 (the mkwrite upgrade takes no new reference), T2 reads in mm1
pmd-pte:     T1 PMD-faults A[0] in mm0, T2 PTE-faults A[1] in mm1 inside the PMD entry (a PTE of the PMD folio)
pte-pmd:     T1 PTE-faults A[1] in mm0, T2 PMD-faults A[0] in mm1 (CONFLICT, fallback to a PTE)
hole-pmd-pte: T1 PMD read of the hole A[0..1] (huge zero PMD) in mm0, T2 PTE read of A[1] in mm1 (downgrade)
hole-pmd-write-pin: T1 PMD read of the hole A[0..1] (huge zero PMD) in mm0, then pin_user_pages_fast_only(A[0],
    FOLL_WRITE), which must bail (the huge zero PMD is read-only), T2 PTE read of A[1] in mm1 (downgrade)
three:       T1, T2, T3 read-fault A[0] in three processes (a WAKE_NEXT chain)
Property: entry lock exclusion (I10), no lost wake (I12), PMD/PTE exclusivity (I14), page tables match the
          xarray (I15), refcount == installed mappings (I1); no zero folio is pinned for write (I16)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "";

/// S5: two (or three) faults on the same entry.
pub(crate) fn scenario() -> Scenario {
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
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M4,
            Mutant::M18,
            Mutant::M23,
            Mutant::M24,
            Mutant::M25,
            Mutant::M54,
            Mutant::M59,
            Mutant::B12,
        ],
        tuning: Tuning::DEFAULT,
        variants: vec![
            Variant {
                name: "hole-read",
                setup: hole_a(2),
                threads: vec![fault(Mm(0), 0, Read, pte), fault(Mm(1), 0, Read, pte)],
                expect: None,
            },
            Variant {
                name: "write-read",
                setup: file_a(2),
                threads: vec![fault(Mm(0), 0, Write, pte), fault(Mm(1), 0, Read, pte)],
                expect: None,
            },
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
            Variant {
                name: "pmd-pte",
                setup: file_a(2),
                threads: vec![fault(Mm(0), 0, Read, pmd), fault(Mm(1), 1, Read, pte)],
                expect: None,
            },
            Variant {
                name: "pte-pmd",
                setup: file_a(2),
                threads: vec![fault(Mm(0), 1, Read, pte), fault(Mm(1), 0, Read, pmd)],
                expect: None,
            },
            Variant {
                name: "hole-pmd-pte",
                setup: hole_a(2),
                threads: vec![fault(Mm(0), 0, Read, pmd), fault(Mm(1), 1, Read, pte)],
                expect: None,
            },
            // GUP-fast's non-special huge-PMD arm sees only the huge zero
            // PMD on v6.15 (DAX PMDs are special, B5): a FOLL_WRITE grab
            // must leave it to the slow path, which fast-only forbids.
            Variant {
                name: "hole-pmd-write-pin",
                setup: hole_a(2),
                threads: vec![
                    thread(
                        "mm0 PMD read fault A[0] (hole), pin A[0] for write (fast only)",
                        |cx| {
                            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                            let flags = GupFlags {
                                write: true,
                                pin: true,
                                fast_only: true,
                                ..GupFlags::default()
                            };
                            if let Ok(p) = gup_fast(cx, Mm(0), FILE_A, 0, flags) {
                                unpin_user_page(cx, p);
                            }
                        },
                    ),
                    fault(Mm(1), 1, Read, pte),
                ],
                expect: None,
            },
            Variant {
                name: "three",
                setup: file_a(3),
                threads: vec![
                    fault(Mm(0), 0, Read, pte),
                    fault(Mm(1), 0, Read, pte),
                    fault(Mm(2), 0, Read, pte),
                ],
                expect: None,
            },
        ],
    }
}
