//! GUP scenarios: S4 (pin vs truncate), S10 (shared refault vs unpin, H2),
//! S13 (refault while break-layout waits, H6).

use daxcheck_core::cx::Cx;
use daxcheck_core::mm::gup::{__get_user_pages, gup_fast, unpin_user_page, GupFlags};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::{KernelState, Mutant};

use super::reflink::shared_ab;
use super::{file_a, holds, thread, DefaultExplorer, Expect, Scenario, Variant};

const PIN: GupFlags = GupFlags {
    write: false,
    pin: true,
    longterm: false,
    huge: false,
    fast_only: false,
};

/// Pin A[index] in `mm` (slow path, faulting it in), then unpin.
fn pin_unpin(cx: &Cx, mm: u8, index: u64, fast: bool, flags: GupFlags) {
    let r = if fast {
        let fast_only = GupFlags {
            fast_only: true,
            ..flags
        };
        gup_fast(cx, Mm(mm), FILE_A, index, fast_only)
    } else {
        __get_user_pages(cx, Mm(mm), FILE_A, index, flags)
    };
    if let Ok(p) = r {
        unpin_user_page(cx, p);
    }
}

/// S4: GUP pin vs truncate.
pub(crate) fn s4() -> Scenario {
    let truncate = || thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0));
    Scenario {
        name: "S4",
        title: "GUP pin vs truncate",
        header: "\
T1: pin_user_pages(A[0]) (slow path faults it in; -fast: a fault, then get_user_pages_fast_only, which
    never falls back: a fallback would fault in the page again, which is S13's H6), then unpin;
    -munmap: the process unmaps between pin and unpin (B19); -longterm: FOLL_LONGTERM must fail (I18)
T2: xfs_setattr_size(A, 0)
-evict: T1 faults A[0], unmaps it and evicts A (dax_break_layout_final waits uninterruptibly for a
    pin to go); T2 pins A[0] through GUP-fast (if still mapped), then unpins
Property: break-layout (and the final one) returns only once the pin is released (I8); GUP-fast either is seen by the
          scan or bails (I6/I8); no refcount underflow (I2); refcount == mappings + pins (I1)
Result: holds
(Both explorers: loom's bounded search misses B19's interleaving — truncate entirely between the
munmap and the unpin — at preemption bounds 2 to 4, which PCT finds; loom finds M20's at once.)",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M20, Mutant::M39, Mutant::B19, Mutant::M10],
        variants: vec![
            Variant {
                name: "slow",
                setup: file_a(1),
                threads: vec![thread("pin A[0] (slow), unpin", |cx| pin_unpin(cx, 0, 0, false, PIN)), truncate()],
            expect: None,
            },
            Variant {
                name: "fast",
                setup: file_a(1),
                threads: vec![
                    thread("fault A[0], pin A[0] (fast only), unpin", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        pin_unpin(cx, 0, 0, true, PIN);
                    }),
                    truncate(),
                ],
            expect: None,
            },
            Variant {
                name: "munmap",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] (slow), munmap, unpin", |cx| {
                        if let Ok(p) = __get_user_pages(cx, Mm(0), FILE_A, 0, PIN) {
                            munmap(cx, Mm(0), FILE_A);
                            unpin_user_page(cx, p);
                        }
                    }),
                    truncate(),
                ],
            expect: None,
            },
            Variant {
                name: "evict",
                setup: file_a(1),
                threads: vec![
                    thread("mm0 read fault A[0], munmap, evict A", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        munmap(cx, Mm(0), FILE_A);
                        xfs_fs_evict_inode(cx, FILE_A.0);
                    }),
                    thread("pin A[0] (fast only), unpin", |cx| pin_unpin(cx, 0, 0, true, PIN)),
                ],
                expect: None,
            },
            Variant {
                name: "longterm",
                setup: file_a(1),
                threads: vec![
                    thread("pin A[0] FOLL_LONGTERM (must fail)", |cx| {
                        pin_unpin(cx, 0, 0, false, GupFlags { longterm: true, ..PIN })
                    }),
                    truncate(),
                ],
                expect: Some(holds),
            },
        ],
    }
}

fn finds_h2(_: KernelState) -> Expect {
    Expect::Finds(
        "H2/H1: a shared refault disassociates and splits a pinned PMD folio",
        &["I9", "I2", "WARN"],
    )
}

/// S10: shared refault vs unpin (H2).
pub(crate) fn s10() -> Scenario {
    Scenario {
        name: "S10",
        title: "shared-extent refault vs unpin of a tail page (H2)",
        header: "\
Setup: A and B share their blocks (reflink); A[0..1] is one PMD extent
T1: mm0 PMD read fault A[0]; pin the tail page A[1]; unpin it
T2: mm1 PMD read fault A[0] (IOMAP_F_SHARED): unmap all, disassociate (last share: clear and split),
    associate again (prep the compound folio again), all under A's xa_lock
Property: the folio is split only when idle (I9); the unpin lands on the folio it pinned, no underflow (I2)
Result: finds (H2) — the split runs while the pin is held",
        expect: finds_h2,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
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

fn s13_expect(_: KernelState) -> Expect {
    Expect::Finds(
        "H6: truncate sleeps until a mapping made during its own wait goes away",
        &["I13"],
    )
}

/// S13: a refault while break-layout waits with the FS lock dropped (H6).
pub(crate) fn s13() -> Scenario {
    let pinner = || {
        thread("mm0 fault A[0], pin, unpin", |cx| {
            handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
            pin_unpin(cx, 0, 0, false, PIN);
        })
    };
    Scenario {
        name: "S13",
        title: "refault during the break-layout wait (H6)",
        header: "\
T1: xfs_setattr_size(A, 0): the busy scan finds T3's pin; wait_page_idle's callback drops MMAPLOCK
T2: mm1 read fault A[0] in that window (maps the page again: a new reference); -munmap: then unmaps
T3: mm0 fault A[0], pin it, unpin (-munmap: munmap before the unpin)
Property: every thread finishes (I13); break-layout's postcondition (I8)
Result: finds (H6) in the base variant — T1 waits for refcount 0 while T2's mapping holds a reference;
        the -munmap variant holds",
        expect: s13_expect,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M12, Mutant::M29],
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
