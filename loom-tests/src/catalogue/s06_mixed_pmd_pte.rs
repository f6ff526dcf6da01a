//! S6: a PMD and a PTE mapping of one PMD entry in two processes (B14).

use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::Mutant;

use super::common::{file_a, holds, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: mm0 PMD read fault A[0] (PMD entry, compound folio 8)
T2: mm1 PTE read fault A[1] inside the PMD entry, then (-truncate) T3 truncates A
    (-pmd-over-table: mm1 PTE read fault A[0], then PMD read fault A[1] over its own PTE table,
    which takes the PTE path)
Property: the PMD folio keeps mapping A / index 0 and its order (I4); P2's PTE holds a reference on the
          large folio (I1); truncate waits for both mappings to go (I8); a fault that returns NOPAGE,
          when no other thread changed its PTE or PMD meanwhile, has mapped its page (I21)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "With B14 reverted, the PTE fault moves the association and splits the PMD folio. \
`pmd-over-table` (issue 10) catches the generated mutant `memory.rs:104` (`pmd_is_table` -> \
`false`): mm1's PMD fault over its own PTE table goes on into the DAX PMD fault (its PMD-order \
grab finds T1's PMD entry), whose `vmf_insert_folio_pmd` refuses the table PMD and returns \
NOPAGE with A[1] unmapped (I21). Paired as M62.";

/// S6: mixed PMD/PTE mappings across processes (B14).
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S6",
        title: "mixed PMD and PTE mappings across processes",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::B14, Mutant::M28, Mutant::M62],
        tuning: Tuning::DEFAULT,
        variants: vec![
            Variant {
                name: "map",
                setup: file_a(2),
                threads: vec![
                    pmd_reader(),
                    thread("mm1 PTE read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: None,
            },
            Variant {
                // mm1's PMD fault finds its own PTE table: __handle_mm_fault
                // takes the PTE path (pmd_none is false).
                name: "pmd-over-table",
                setup: file_a(2),
                threads: vec![
                    pmd_reader(),
                    thread("mm1 PTE read fault A[0], then PMD read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pmd);
                    }),
                ],
                expect: None,
            },
            Variant {
                name: "truncate",
                setup: file_a(2),
                threads: vec![
                    pmd_reader(),
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

/// T1 of every variant: mm0 maps A's PMD entry (compound folio 8) by PMD.
fn pmd_reader() -> ThreadSpec {
    thread("mm0 PMD read fault A[0]", |cx| {
        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
    })
}
