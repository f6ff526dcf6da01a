//! S16: three invalidators and a fault on one entry, no FS lock between them (B11).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::mm::truncate::invalidate_inode_pages2_range;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::Mutant;

use super::common::{file_a, holds, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: mm0 read fault on the hole A[0] (holds the entry lock while it inserts the zero entry)
T2, T3, T4: invalidate_inode_pages2_range(A, 0, 0), no FS lock between them (virtiofs-like)
Property: when the first invalidator deletes the entry, every other waiter is woken (WAKE_ALL): all
          threads finish (I12); page tables match the xarray afterwards (I15)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "With M3 or B11, a waiter that finds NULL passes no wake on.";

/// S16: three invalidators and a fault on one entry, with no FS lock to
/// serialise the invalidators (B11).
pub(crate) fn scenario() -> Scenario {
    let inval = |n: u8| {
        thread(format!("invalidate A[0] (#{n})"), |cx| {
            invalidate_inode_pages2_range(cx, 0, 0, 0);
        })
    };
    let mut setup = file_a(1);
    setup.files[0].blocks = vec![None, None];
    Scenario {
        name: "S16",
        title: "three invalidators and a fault on one entry (B11)",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M3, Mutant::B11],
        tuning: Tuning::DEFAULT,
        variants: vec![Variant {
            name: "hole",
            setup,
            threads: vec![
                thread("mm0 read fault A[0] (hole)", |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                }),
                inval(1),
                inval(2),
                inval(3),
            ],
            expect: None,
        }],
    }
}
