//! S10: a shared-extent refault against the unpin of a tail page (H2).

use daxcheck_core::mm::gup::GupFlags;
use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::KernelState;

use super::common::{pin_unpin, shared_ab, thread, PIN};
use super::{DefaultExplorer, Expect, Finding, Scenario, Tuning, Variant};
use crate::checks::Hyp;

fn finds_h2(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H2, Hyp::H1],
        bug: None,
        what: "a shared refault disassociates and splits a pinned PMD folio",
        checks: &[CheckKind::I9, CheckKind::I2, CheckKind::Warn],
    })
}

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
Setup: A and B share their blocks (reflink); A[0..1] is one PMD extent
T1: mm0 PMD read fault A[0]; pin the tail page A[1]; unpin it
T2: mm1 PMD read fault A[0] (IOMAP_F_SHARED): unmap all, disassociate (last share: clear and split),
    associate again (prep the compound folio again), all under A's xa_lock
Property: the folio is split only when idle (I9); the unpin lands on the folio it pinned, no underflow (I2)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str =
    "The split runs while the pin is held. Finding F6 tells what loom and PCT each report.";

/// S10: shared refault vs unpin (H2).
pub(crate) fn scenario() -> Scenario {
    Scenario {
        name: "S10",
        title: "shared-extent refault vs unpin of a tail page (H2)",
        header: HEADER,
        notes: NOTES,
        expect: finds_h2,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        tuning: Tuning::DEFAULT,
        variants: vec![Variant {
            name: "pmd",
            setup: shared_ab(2, 0),
            threads: vec![
                thread("mm0 PMD fault A[0], pin A[1], unpin", |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                    // A PMD-aligned VMA: a fault-in of the pin is a PMD fault.
                    pin_unpin(cx, 0, 1, false, GupFlags { huge: true, ..PIN });
                }),
                thread("mm1 PMD fault A[0] (shared refault)", |cx| {
                    handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pmd);
                }),
            ],
            expect: None,
        }],
    }
}
