//! S15: reuse of a block after disassociation, then a shared association (H5).

use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Block, FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::reflink::xfs_reflink_remap_range;

use super::common::{finds_h5, thread};
use super::{DefaultExplorer, Scenario, Variant};

/// A file A of 4 pages (two PMD ranges) backed by pfn 8..11, B of 4 holes.
fn a4() -> Setup {
    let a = (0..4)
        .map(|i| {
            Some(Block {
                pfn: DAX_BASE + i,
                shared: false,
            })
        })
        .collect();
    Setup {
        files: vec![
            FileSetup {
                pages: 4,
                size: 4,
                blocks: a,
            },
            FileSetup {
                pages: 4,
                size: 4,
                blocks: vec![None; 4],
            },
        ],
        mms: 2,
        dax_frames: 4,
        ext: Default::default(),
    }
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1 (sequential): read fault A[2] (order 0: mapping = A, index = 2); munmap; reflink A -> B (its
    break-layout deletes A's entry: mapping = NULL, the union cell keeps 2); read fault A[2] and B[2] on
    the now shared extent (-pte: PTE faults; -pmd: PMD faults, pfn 10 becomes a PMD head)
Property: share == number of live associations (I4); FS-free state after disassociation (I6); no
          order-mismatch WARN";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "On v6.15 and v6.16 the cell reads as share = 2 before any sharing; on 2026 \
`dax_folio_reset_order` clears it. Finding F9.";

/// S15: reuse after disassociation, then a shared association (H5).
pub(crate) fn scenario() -> Scenario {
    let story = |size: FaultSize| {
        move |cx: &daxcheck_core::cx::Cx| {
            // An order-0 association at index 2 leaves the cell at 2.
            handle_mm_fault(cx, Mm(0), FILE_A, 2, Read, FaultSize::Pte);
            munmap(cx, Mm(0), FILE_A);
            // FICLONE: break both layouts (A's entry goes, the cell keeps 2),
            // then A's blocks become shared with B.
            xfs_reflink_remap_range(cx, FILE_A, FILE_B);
            handle_mm_fault(cx, Mm(1), FILE_A, 2, Read, size);
            handle_mm_fault(cx, Mm(1), FILE_B, 2, Read, size);
        }
    };
    Scenario {
        name: "S15",
        title: "reuse after disassociation, then a shared association (H5)",
        header: HEADER,
        notes: NOTES,
        expect: finds_h5,
        explorers: &[DefaultExplorer::Pct],
        catches: &[],
        variants: vec![
            Variant {
                name: "pte",
                setup: a4(),
                threads: vec![thread("the H5 sequence, PTE faults", story(FaultSize::Pte))],
                expect: None,
            },
            Variant {
                name: "pmd",
                setup: a4(),
                threads: vec![thread("the H5 sequence, PMD faults", story(FaultSize::Pmd))],
                expect: None,
            },
        ],
    }
}
