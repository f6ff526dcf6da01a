//! S2: break-layout's busy scan meets an entry writeback holds locked.

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vfs::vfs_fsync_range;
use daxcheck_core::vm::Access::Write;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::Mutant;

use super::common::{file_a, finds_b4_on_v6_15, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: mm0 write fault A[0] (DIRTY), then fsync: dax_writeback_one holds A[0]'s entry lock across
    pfn_mkclean_range and the flush
T2: xfs_free_file_space(A, 0..1): the busy scan and dax_delete_mapping_range meet the locked entry,
    wait for it (wait_entry_unlocked_exclusive) and must come back to the same index
T3: fsync A (a second exclusive waiter on the same entry)
Property: the locked entry is examined and deleted after its unlock (I8: no entry left, no busy page
          missed); every waiter is woken or passed the wake (I12)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "On the v6.15 tag (B4 present) loom finds I8 at execution 319 and PCT at execution 34: the scan \
resumes past the entry it waited for. M15, B4 and B20 (judged on v6.15.y) break the same step.";

/// S2: a busy scan meets an entry another thread holds locked.
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S2",
        title: "break-layout scan vs a locked entry",
        header: HEADER,
        notes: NOTES,
        expect: finds_b4_on_v6_15,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M15, Mutant::B4, Mutant::B20],
        // The uniform random scheduler meets B4's window on the tag later
        // than PCT: seed 1 at execution 2,939, seeds 2-4 at 758, 53 and 493
        // (`daxcheck check S2 --explorer random --iterations 6000 --seed S`).
        tuning: Tuning {
            random_factor: 3,
            ..Tuning::DEFAULT
        },
        variants: vec![Variant {
            name: "writeback",
            setup: file_a(1),
            threads: vec![
                thread("mm0 write fault A[0], fsync", |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                    vfs_fsync_range(cx, FILE_A, 0, 1);
                }),
                thread("punch hole A[0..1]", |cx| {
                    xfs_free_file_space(cx, FILE_A, 0, 1)
                }),
                thread("fsync A", |cx| {
                    vfs_fsync_range(cx, FILE_A, 0, 1);
                }),
            ],
            expect: None,
        }],
    }
}
