//! S1: a fault (and the process's exit) against truncate's break-layout.

use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::Mutant;

use super::common::{file_a, holds, size_name, thread};
use super::{DefaultExplorer, Scenario, Tuning, Variant};

/// The litmus-style header; `Result:` is derived from `expect`.
const HEADER: &str = "\
T1: handle_mm_fault(A[0]) under MMAPLOCK shared; in the -exit variants the process then exits
    (munmap: zap, unlink, TLB flush)
T2: xfs_setattr_size(A, 0): MMAPLOCK excl, dax_break_layout (callback drops/retakes MMAPLOCK),
    truncate, free blocks
Property: when break-layout returns, T1's folio has refcount 0 and mapcount 0 and no entry is
          left (I8); a deferred TLB put is waited for, not missed; blocks are freed FS-free (I6);
          T1 either never mapped (SIGBUS past i_size) or was zapped; no hang (I12/I13)";

/// Markdown for `docs/catalogue.md`.
const NOTES: &str = "";

/// S1: fault vs truncate.
pub(crate) fn scenario() -> Scenario {
    let variant = |name, size: FaultSize, exit: bool| Variant {
        name,
        setup: file_a(1),
        threads: vec![
            thread(
                format!(
                    "fault A[0] ({}, read){}",
                    size_name(size),
                    if exit { ", then exit (munmap)" } else { "" }
                ),
                move |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, size);
                    if exit {
                        munmap(cx, Mm(0), FILE_A);
                    }
                },
            ),
            thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
        ],
        expect: None,
    };
    Scenario {
        name: "S1",
        title: "fault vs truncate",
        header: HEADER,
        notes: NOTES,
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[
            Mutant::M1,
            Mutant::M2,
            Mutant::M7,
            Mutant::M8,
            Mutant::M10,
            Mutant::M12,
            Mutant::M14,
            Mutant::M16,
            Mutant::M17,
            Mutant::M27,
            Mutant::M28,
            Mutant::M29,
            Mutant::M30,
            Mutant::M42,
            Mutant::M33,
            Mutant::M35,
            Mutant::B1,
            Mutant::B2,
            Mutant::B3,
            Mutant::B5,
            Mutant::B8,
            Mutant::B19,
            Mutant::B21,
        ],
        // The uniform random scheduler meets B19's window (the scan between
        // the exit's VMA unlink and its TLB put) in the -exit variants at
        // seed 1 at execution 3,683 (pmd-exit), seeds 2-5 at 2,587, 2,899,
        // 3,094 and 28 (the sooner of the two variants; the later one at
        // up to 10,747): `daxcheck check S1/pte-exit S1/pmd-exit --mutant
        // B19 --explorer random --iterations 30000 --seed S`.
        tuning: Tuning {
            random_factor: 5,
            ..Tuning::DEFAULT
        },
        variants: vec![
            variant("pte", FaultSize::Pte, false),
            variant("pmd", FaultSize::Pmd, false),
            variant("pte-exit", FaultSize::Pte, true),
            variant("pmd-exit", FaultSize::Pmd, true),
        ],
    }
}
