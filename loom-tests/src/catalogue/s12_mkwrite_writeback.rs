//! S12: the mkwrite upgrade and MAP_SYNC faults against writeback (I16, I17).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vfs::vfs_fsync_range;
use daxcheck_core::vm::Access::Write;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, Setup, SetupExt, FILE_A};
use daxcheck_core::Mutant;

use super::common::{file_a, holds, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
fsync-fsync: T1: mm0 write fault A[0], then fsync; T2: fsync A
two-entries: T1: mm0 write faults A[0] and A[1], then fsync; T2: fsync A
mkwrite:     T1: mm0 write fault A[0], fsync, write again (the pfn_mkwrite upgrade); T2: fsync A
mkwrite-pmd: T1: mm0 PMD write fault A[0], fsync (write-protects the PMD), PMD write fault again
             (wp_huge_pmd, then the insert's upgrade of the PMD); T2: fsync A
sync:        A[0]'s metadata not yet durable, mm0 maps A with MAP_SYNC. T1: mm0 write fault A[0]
             (NEEDDSYNC: entry inserted, fsync, dax_insert_pfn_mkwrite); T2: fsync A
Property: when an fsync returns, every writable PTE of its range has DIRTY set, and every entry it found
          tagged TOWRITE was written back (I16); the upgrade takes
          no new reference (I1); writeback holds the entry lock across write-protect and flush; a
          MAP_SYNC PTE becomes writable only after its fsync (I17); a fault that returns NOPAGE, when
          no other thread changed its PTE or PMD meanwhile, has mapped its page with the access (I21)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "`sync` (added for coverage, issue 10) is the holds counterpart of S11: before it, no holds run \
reached `dax_finish_sync_fault`/`dax_insert_pfn_mkwrite`. It catches the generated mutant \
`syncfault.rs:88 replace != with == in check_sync_insert`, which S11 (expecting I17) cannot tell \
from its finding (`docs/adequacy.md`). `two-entries` (issue 10) gives the writeback scan two \
TOWRITE entries; with I16's per-call record (an fsync that returns 0 has reached every entry it \
found tagged TOWRITE) it catches M45 and the generated mutant `writeback.rs:74 + -> -` (the \
cursor wraps after A[0] and A[1] stays DIRTY and TOWRITE), which before were seen only as \
S2/writeback's B4 finding going missing. With I21 (issue 10: a fault that returns NOPAGE, when no \
other thread stored to its PTE or PMD meanwhile, has mapped its access) `two-entries` also \
catches M55 and the generated mutant `memory.rs:416 % -> /` in `pte_at`: the write fault of A[1] \
reads A[0]'s writable PTE and returns \"already mapped\" with A[1] unmapped. `mkwrite-pmd` \
(issue 10) is the PMD form of `mkwrite`: fsync write-protects the PMD, and the second write fault \
must take `wp_huge_pmd` to the DAX PMD fault, whose `vmf_insert_folio_pmd` upgrades the PMD of its \
own folio. With I21 it catches M56 and M57 and the generated mutants `huge_memory.rs:63` (the \
upgrade arm's guard `write` -> `false`: -EEXIST, the PMD stays read-only) and `memory.rs:380` \
(`!write || writable` -> `write || writable`: the write fault is taken for \"already mapped\"); no \
run wrote through a read-only DAX PMD before.";

/// S12: mkwrite vs writeback (I16).
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S12",
        title: "mkwrite vs writeback",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M21,
            Mutant::M18,
            Mutant::M45,
            Mutant::M60,
            Mutant::M55,
            Mutant::M56,
            Mutant::M57,
        ],
        tuning: Tuning::DEFAULT,
        variants: vec![
            Variant {
                name: "fsync-fsync",
                setup: file_a(1),
                threads: vec![
                    thread("mm0 write fault A[0], fsync", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                    }),
                    thread("fsync A", |cx| {
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                    }),
                ],
                expect: None,
            },
            mkwrite("mkwrite", FaultSize::Pte),
            // The PMD form: fsync write-protects the PMD, and the second
            // write fault goes through wp_huge_pmd to the DAX PMD fault,
            // whose insert upgrades the PMD it finds.
            mkwrite("mkwrite-pmd", FaultSize::Pmd),
            Variant {
                // Two dirty entries: the writeback scan must move its cursor
                // past the first to reach the second.
                name: "two-entries",
                setup: file_a(1),
                threads: vec![
                    thread("mm0 write fault A[0] and A[1], fsync", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                        handle_mm_fault(cx, Mm(0), FILE_A, 1, Write, FaultSize::Pte);
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                    }),
                    thread("fsync A", |cx| {
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                    }),
                ],
                expect: None,
            },
            Variant {
                // The MAP_SYNC path (dax_finish_sync_fault) on a block nobody
                // else writes: the holds counterpart of S11.
                name: "sync",
                setup: Setup {
                    ext: SetupExt {
                        map_sync: vec![(0, 0)],
                        meta_dirty: vec![(0, 0)],
                        free_blocks: None,
                        always_cow: false,
                    },
                    ..file_a(1)
                },
                threads: vec![
                    thread("mm0 MAP_SYNC write fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                    }),
                    thread("fsync A", |cx| {
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                    }),
                ],
                expect: None,
            },
        ],
    }
}

/// A write fault, fsync (which write-protects the mapping), and a second
/// write fault that must make it writable again (mkwrite), while another
/// fsync runs: one variant per fault size.
fn mkwrite(name: &'static str, size: FaultSize) -> Variant {
    let how = if size == FaultSize::Pmd {
        "PMD write"
    } else {
        "write"
    };
    Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(format!("mm0 {how} A[0], fsync, {how} again"), move |cx| {
                handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, size);
                vfs_fsync_range(cx, FILE_A, 0, 1);
                handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, size);
            }),
            thread("fsync A", |cx| {
                vfs_fsync_range(cx, FILE_A, 0, 1);
            }),
        ],
        expect: None,
    }
}
