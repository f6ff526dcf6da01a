//! S17: a shared-extent refault in one file while another process maps it.

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::Mutant;

use super::common::{finds_h5, holds, shared_ab, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
Setup: A[0] shares pfn 8 with B[0] (IOMAP_F_SHARED); B is not touched
T1: mm0 read fault A[0]; T2: mm1 read fault A[0]: the second fault of a shared extent unmaps every
    mapping of the index (unmap_mapping_pages), then disassociates and associates again
pte-index1: the same two faults at A[1] (the direct H5 trigger): the first is a first-owner association
    (index = 1), the second disassociates (order 0: the cell keeps 1) and associates with shared = true,
    reading 1 as a share count: share 2 for one entry
Property: the disassociation happens only once the other process's mapping is gone (I9); refcount ==
          mappings (I1)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "`pte-index1` is the direct H5 trigger (spec errata 9); on 2026 `dax_folio_reset_order` clears \
the cell.";

/// S17: a shared-extent refault in one file while another process maps it.
pub(crate) fn scenario() -> Scenario {
    let fault = |mm: u8| {
        thread(
            format!("mm{mm} read fault A[0] (shared extent)"),
            move |cx| {
                handle_mm_fault(cx, Mm(mm), FILE_A, 0, Read, FaultSize::Pte);
            },
        )
    };
    Scenario {
        name: "S17",
        title: "shared-extent refault in one file",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M38],
        tuning: Tuning::DEFAULT,
        variants: vec![
            Variant {
                name: "pte",
                setup: shared_ab(2, 0),
                threads: vec![fault(0), fault(1)],
                expect: None,
            },
            Variant {
                name: "pte-index1",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 read fault A[1] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                    thread("mm1 read fault A[1] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(finds_h5),
            },
        ],
    }
}
