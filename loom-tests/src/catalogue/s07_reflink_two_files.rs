//! S7: two reflinked files associate one folio (H3).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{File, Mm, FILE_B};
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::KernelState;

use super::common::{shared_ab, thread};
use super::{DefaultExplorer, Expect, Finding, Scenario, Variant};
use crate::checks::Hyp;

fn finds_h3(_: KernelState) -> Expect {
    Expect::Finds(Finding {
        hypotheses: &[Hyp::H3],
        bug: None,
        what: "two files associate one folio under two different xa_locks",
        checks: &[
            CheckKind::DataRace,
            CheckKind::I4,
            CheckKind::I9,
            CheckKind::I13,
        ],
    })
}

/// S7: two files sharing one folio.
pub(crate) fn scenario() -> Scenario {
    let fault = |mm: u8, file: u8| {
        thread(
            format!(
                "mm{mm} read fault {}[0] (shared extent)",
                (b'A' + file) as char
            ),
            move |cx| {
                handle_mm_fault(cx, Mm(mm), File(file), 0, Read, FaultSize::Pte);
            },
        )
    };
    Scenario {
        name: "S7",
        title: "reflink: two files associate one folio (H3)",
        header: "\
Setup: A[0] and B[0] share pfn 8 (IOMAP_F_SHARED)
T1: mm0 read fault A[0]: associates the folio (first owner: mapping = A, index = 0)
T2: mm1 read fault B[0]: second owner: make_shared (mapping = NULL, share = 1), share = 2
    (-punch: then T2 punches B[0..1])
Property: folio->mapping/share/index change only under one lock that orders them (I11 as the kernel
          states it: xa_lock of *the* mapping) — with two files there are two xa_locks",
        notes: "Under loom the two associations are unordered accesses (a data race); under shuttle they interleave and both take the first-owner branch (I4); in `fault-punch` PCT may instead meet the I13 hang. Findings F2 and F3 in `docs/findings.md`.",
        expect: finds_h3,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        variants: vec![
            Variant {
                name: "faults",
                setup: shared_ab(2, 0),
                threads: vec![fault(0, 0), fault(1, 1)],
                expect: None,
            },
            Variant {
                name: "fault-punch",
                setup: shared_ab(2, 0),
                threads: vec![
                    fault(0, 0),
                    thread("mm1 read fault B[0], then punch B[0..1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                        xfs_free_file_space(cx, FILE_B, 0, 1);
                    }),
                ],
                expect: None,
            },
        ],
    }
}
