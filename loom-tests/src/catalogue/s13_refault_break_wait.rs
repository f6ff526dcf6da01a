//! S13: a refault while break-layout waits with the FS lock dropped (H6).

use daxcheck_core::mm::gup::{__get_user_pages, unpin_user_page};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::{KernelState, Mutant};

use super::common::{file_a, holds, pin_unpin, thread, PIN};
use super::{DefaultExplorer, Expect, Finding, OutOfReach, Scenario, Tuning, Variant};
use crate::checks::Hyp;

fn s13_expect(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H6],
        bug: None,
        what: "truncate sleeps until a mapping made during its own wait goes away",
        checks: &[CheckKind::I13],
    })
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: xfs_setattr_size(A, 0): the busy scan finds T3's pin; wait_page_idle's callback drops MMAPLOCK
T2: mm1 read fault A[0] in that window (maps the page again: a new reference); -munmap: then unmaps
T3: mm0 fault A[0], pin it, unpin (-munmap: munmap before the unpin)
Property: every thread finishes (I13); break-layout's postcondition (I8)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "In `refault`, T1 waits for refcount 0 while T2's mapping holds a reference; in `refault-munmap` \
T2 unmaps it, so the wait ends. Finding F8.";

/// S13: a refault while break-layout waits with the FS lock dropped (H6).
pub(crate) fn scenario() -> Scenario {
    let pinner = || {
        thread("mm0 fault A[0], pin, unpin", |cx| {
            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
            pin_unpin(cx, 0, 0, false, PIN);
        })
    };
    Scenario {
        name: "S13",
        title: "refault during the break-layout wait (H6)",
        header: HEADER,
        notes: NOTES,
        expect: s13_expect,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M12, Mutant::M29],
        tuning: Tuning {
            random_out_of_reach: &[OutOfReach {
                variant: "refault",
                mutant: None,
                why:
                    "T3's fault and pin (53 steps) must come before T1's truncate scans, and T2's \
                      refault must land in the wait T1 enters then: PCT's finding (corpus replay \
                      S13-refault) runs T3's 53 steps before T1 or T2 take one, about 3^-50 per \
                      execution under the uniform random scheduler; not met in 50,000 executions \
                      (seed 1) or 200,000 (seed 2) (`daxcheck check S13/refault --explorer random \
                      --iterations 200000 --seed 2`); PCT finds it at execution 140",
            }],
            ..Tuning::DEFAULT
        },
        variants: vec![
            Variant {
                name: "refault",
                setup: file_a(2),
                threads: vec![
                    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
                    thread("mm1 read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
                    }),
                    pinner(),
                ],
                expect: None,
            },
            Variant {
                name: "refault-munmap",
                setup: file_a(2),
                threads: vec![
                    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
                    thread("mm1 read fault A[0], then munmap", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
                        munmap(cx, Mm(1), FILE_A);
                    }),
                    // Its own fault may land in the window too: it unmaps
                    // before unpinning.
                    thread("mm0 fault A[0], pin, munmap, unpin", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        if let Ok(p) = __get_user_pages(cx, Mm(0), FILE_A, 0, PIN) {
                            munmap(cx, Mm(0), FILE_A);
                            unpin_user_page(cx, p);
                        }
                    }),
                ],
                expect: Some(holds),
            },
        ],
    }
}
