//! S15: reuse of a block after disassociation, then a shared association (H5).

use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Block, FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::xfs::reflink::xfs_reflink_remap_range;

use super::common::{finds_h5, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

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

/// A[0] shares pfn 8 with B[0]; A[1] owns pfn 9, which the allocator hands
/// out once the punch has freed it (the free list stands for block reuse).
fn cow_onto_stale() -> Setup {
    let shared = Some(Block {
        pfn: DAX_BASE,
        shared: true,
    });
    let own = Some(Block {
        pfn: DAX_BASE + 1,
        shared: false,
    });
    let mut s = a4();
    s.files = vec![
        FileSetup {
            pages: 2,
            size: 2,
            blocks: vec![shared, own],
        },
        FileSetup {
            pages: 2,
            size: 2,
            blocks: vec![shared, None],
        },
    ];
    s.dax_frames = 2;
    s.ext.free_blocks = Some(vec![DAX_BASE + 1]);
    s
}

/// H5 through a CoW write fault: the CoW block's page carries a stale
/// order-0 index.
fn cow_fault_story(cx: &daxcheck_core::cx::Cx) {
    handle_mm_fault(cx, Mm(0), FILE_A, 1, Read, FaultSize::Pte);
    munmap(cx, Mm(0), FILE_A);
    xfs_free_file_space(cx, FILE_A, 1, 1);
    handle_mm_fault(cx, Mm(1), FILE_A, 0, Write, FaultSize::Pte);
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1 (sequential): read fault A[2] (order 0: mapping = A, index = 2); munmap; reflink A -> B (its
    break-layout deletes A's entry: mapping = NULL, the union cell keeps 2); read fault A[2] and B[2] on
    the now shared extent (-pte: PTE faults; -pmd: PMD faults, pfn 10 becomes a PMD head)
-cow-fault: A[0] shares pfn 8 with B, A[1] owns pfn 9; read fault A[1] (mapping = A, index = 1);
    munmap; punch A[1] (the cell keeps 1, pfn 9 is freed); write fault A[0]: XFS CoWs the shared
    extent into the free block pfn 9 (the setup's free list names it: the model has no free-to-pool
    path) and associates it with shared = true, reading the stale 1 as a share count
Property: share == number of live associations (I4); FS-free state after disassociation (I6); no
          order-mismatch WARN";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "On v6.15, v6.15.y and v6.16 the cell reads as share = 2 before any sharing; on 2026 \
`dax_folio_reset_order` clears it. Finding F9. `cow-fault` (issue 14 §3) reaches H5 through a \
CoW write fault onto a block whose page carries a stale order-0 index: I4 `folio 9 share 2, \
entries naming it: A[0] order 0` at PCT execution 1; on 2026 the fresh block is a first-owner \
association.";

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
        tuning: Tuning::DEFAULT,
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
            Variant {
                name: "cow-fault",
                setup: cow_onto_stale(),
                threads: vec![thread("the H5 sequence, CoW write fault", cow_fault_story)],
                expect: None,
            },
        ],
    }
}
