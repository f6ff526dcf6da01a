//! S9: a CoW write(2) invalidates a PMD-mapped shared extent (H1).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::file::xfs_file_dax_write;
use daxcheck_core::KernelState;

use super::common::{file_spare, thread};
use super::{DefaultExplorer, Expect, Finding, Scenario, Tuning, Variant};
use crate::checks::Hyp;

fn finds_h1(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H1],
        bug: None,
        what: "invalidation disassociates (and splits) a folio before unmapping it",
        checks: &[CheckKind::I9, CheckKind::Warn],
    })
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
Setup: A and B share pfn 8-9; two spare frames for the CoW copy
T1: mm0 PMD read fault A[0]
T2: write(2) to A[0] (CoW over the shared extent): __dax_clear_dirty_range, then
    invalidate_inode_pages2_range, which deletes entries first and unmaps at the end
Property: split only when idle (I9); page tables match the xarray (I15)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "The folio is disassociated and split while T1's PMD still maps it. The PMD unmap after the \
split then writes page 9's `mapping` and `index` (0xffffffff each: `_entire_mapcount` and \
`_mm_id_mapcount` live there), and I4/I6 report folio 9's garbage mapping. Finding F5.";

/// S9: a CoW write(2) invalidates a PMD-mapped shared extent (H1).
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S9",
        title: "invalidation vs a mapped PMD (H1)",
        header: HEADER,
        notes: NOTES,
        expect: finds_h1,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        tuning: Tuning::DEFAULT,
        variants: vec![Variant {
            name: "pmd",
            setup: file_spare(true, 2),
            threads: vec![
                thread("mm0 PMD read fault A[0]", |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                }),
                thread("CoW write A[0]", |cx| {
                    xfs_file_dax_write(cx, FILE_A, 0);
                }),
            ],
            expect: None,
        }],
    }
}
