//! Reflink scenarios: S7 (two files share one folio, H3), S14 (the XFS
//! two-inode remap lock), S15 (reuse after disassociation, H5), S17 (a
//! shared-extent refault in one file) and S18 (a shared-extent PTE fault
//! inside a PMD entry, H7).

use daxcheck_core::mm::gup::{__get_user_pages, unpin_user_page, GupFlags};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vfs::vfs_fsync_range;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Block, FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{File, Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::xfs::reflink::xfs_reflink_remap_range;
use daxcheck_core::{KernelState, Mutant};

use super::{holds, thread, DefaultExplorer, Expect, Scenario, Variant};

/// Files A and B of `pages` pages; A's blocks are pmem pfn 8.., B's are the
/// same pfns (shared, reflinked) when `b_own` is 0, else B has its own
/// `b_own` blocks after A's.
pub(crate) fn shared_ab(pages: u64, b_own: u64) -> Setup {
    let shared = b_own == 0;
    let a: Vec<_> = (0..pages)
        .map(|i| {
            Some(Block {
                pfn: DAX_BASE + i,
                shared,
            })
        })
        .collect();
    let b: Vec<_> = if shared {
        a.clone()
    } else {
        (0..pages)
            .map(|i| {
                Some(Block {
                    pfn: DAX_BASE + pages + i,
                    shared: false,
                })
            })
            .collect()
    };
    Setup {
        files: vec![
            FileSetup {
                pages,
                size: pages,
                blocks: a,
            },
            FileSetup {
                pages,
                size: pages,
                blocks: b,
            },
        ],
        mms: 2,
        dax_frames: pages + b_own,
        ext: Default::default(),
    }
}

fn finds_h3(_: KernelState) -> Expect {
    Expect::Finds(
        "H3: two files associate one folio under two different xa_locks",
        &["data-race", "I4", "I9", "I13"],
    )
}

/// S7: two files sharing one folio.
pub(crate) fn s7() -> Scenario {
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
-in-order: one thread makes the two associations in turn (B first), then punches A[0..1]: A's
    break-layout scan finds the folio still mapped through B, and must call it idle (refcount ==
    mapcount: only mappings hold it), delete A's entry and leave B's
Property: folio->mapping/share/index change only under one lock that orders them (I11 as the kernel
          states it: xa_lock of *the* mapping) — with two files there are two xa_locks
Result: finds (H3): under loom the two associations are unordered accesses (a data race); under
        shuttle they interleave and both take the first-owner branch (I4); -in-order holds",
        expect: finds_h3,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        // -in-order: a busy test by refcount alone sees B's mapping as busy.
        catches: &[Mutant::M14],
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
            Variant {
                name: "in-order",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm1 read fault B[0]; mm0 read fault A[0]; punch A[0..1]",
                    |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        xfs_free_file_space(cx, FILE_A, 0, 1);
                    },
                )],
                expect: Some(holds),
            },
        ],
    }
}

/// S14: the XFS two-inode remap lock with a busy page in the second inode.
pub(crate) fn s14() -> Scenario {
    Scenario {
        name: "S14",
        title: "reflink remap two-inode lock (XFS)",
        header: "\
T1: xfs_reflink_remap_range(A -> B): MMAPLOCK both in inode order, break A's layout (waiting), break B's
    with NOWAIT; a busy B means unlock both and retry
T2: mm1 fault B[0], pin it, unpin it
-writeback-waiter: T2 fsyncs B (dax_writeback_one holds B[0]'s entry lock); T3 pins B[0] for write (its
    fault makes the entry DIRTY), fsyncs B (an exclusive waiter on the same entry), then unpins. T1's
    NOWAIT scan of B may consume the entry's WAKE_NEXT: it must pass it on (put_unlocked_entry), or T3
    never unpins and T1 retries forever
Property: T1 makes progress once the pin goes (no livelock: M13, M26), no deadlock through the inode
          order, and the remap happens only with both layouts broken (I8)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Pct],
        catches: &[Mutant::M13, Mutant::M26],
        variants: vec![
        Variant {
            name: "busy-b",
            setup: shared_ab(2, 2),
            threads: vec![
                thread("reflink remap A -> B", |cx| xfs_reflink_remap_range(cx, FILE_A, FILE_B)),
                thread("mm1 fault B[0], pin, unpin", |cx| {
                    handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                    let flags = GupFlags { write: false, pin: true, longterm: false, huge: false, fast_only: false };
                    if let Ok(p) = __get_user_pages(cx, Mm(1), FILE_B, 0, flags) {
                        unpin_user_page(cx, p);
                    }
                }),
            ],
            expect: None,
        },
        Variant {
            name: "writeback-waiter",
            setup: shared_ab(2, 2),
            threads: vec![
                thread("reflink remap A -> B", |cx| xfs_reflink_remap_range(cx, FILE_A, FILE_B)),
                thread("fsync B", |cx| {
                    vfs_fsync_range(cx, FILE_B, 0, 1);
                }),
                thread("mm1 pin B[0] for write, fsync B, unpin", |cx| {
                    let flags = GupFlags { write: true, pin: true, longterm: false, huge: false, fast_only: false };
                    if let Ok(p) = __get_user_pages(cx, Mm(1), FILE_B, 0, flags) {
                        vfs_fsync_range(cx, FILE_B, 0, 1);
                        unpin_user_page(cx, p);
                    }
                }),
            ],
            expect: None,
        }],
    }
}

fn s15_expect(k: KernelState) -> Expect {
    match k {
        KernelState::Y2026 => Expect::Holds,
        _ => Expect::Finds(
            "H5: the stale order-0 index is read as a share count",
            &["I4", "WARN", "I6"],
        ),
    }
}

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

/// S15: reuse after disassociation, then a shared association (H5).
pub(crate) fn s15() -> Scenario {
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
        header: "\
T1 (sequential): read fault A[2] (order 0: mapping = A, index = 2); munmap; reflink A -> B (its
    break-layout deletes A's entry: mapping = NULL, the union cell keeps 2); read fault A[2] and B[2] on
    the now shared extent (-pte: PTE faults; -pmd: PMD faults, pfn 10 becomes a PMD head)
Property: share == number of live associations (I4); FS-free state after disassociation (I6); no
          order-mismatch WARN
Result: finds (H5) on v6.15 and v6.16 (the cell reads as share = 2 before any sharing);
        holds on 2026 (dax_folio_reset_order clears share)",
        expect: s15_expect,
        explorers: &[DefaultExplorer::Pct],
        catches: &[],
        variants: vec![
            Variant { name: "pte", setup: a4(), threads: vec![thread("the H5 sequence, PTE faults", story(FaultSize::Pte))], expect: None },
            Variant { name: "pmd", setup: a4(), threads: vec![thread("the H5 sequence, PMD faults", story(FaultSize::Pmd))], expect: None },
        ],
    }
}

/// S17: a shared-extent refault in one file while another process maps it.
pub(crate) fn s17() -> Scenario {
    let fault = |mm: u8| {
        thread(
            format!("mm{mm} read fault A[0] (shared extent)"),
            move |cx| {
                handle_mm_fault(cx, Mm(mm), FILE_A, 0, Read, FaultSize::Pte);
            },
        )
    };
    Scenario {
        name: "S17",
        title: "shared-extent refault in one file",
        header: "\
Setup: A[0] shares pfn 8 with B[0] (IOMAP_F_SHARED); B is not touched
T1: mm0 read fault A[0]; T2: mm1 read fault A[0]: the second fault of a shared extent unmaps every
    mapping of the index (unmap_mapping_pages), then disassociates and associates again
Property: the disassociation happens only once the other process's mapping is gone (I9); refcount ==
          mappings (I1)
Result: holds
  -pte-index1: the same two faults at A[1] (the direct H5 trigger): the first is a first-owner
          association (index = 1), the second disassociates (order 0: the cell keeps 1) and associates
          with shared = true, reading 1 as a share count: share 2 for one entry. Finds (H5, I4) on v6.15
          and v6.16; holds on 2026",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M38],
        variants: vec![
            Variant {
                name: "pte",
                setup: shared_ab(2, 0),
                threads: vec![fault(0), fault(1)],
                expect: None,
            },
            Variant {
                name: "pte-index1",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 read fault A[1] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                    thread("mm1 read fault A[1] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(s15_expect),
            },
        ],
    }
}

fn finds_h7(_: KernelState) -> Expect {
    Expect::Finds(
        "H7: an order-0 store keeps a multi-index PMD entry's range (shared-extent PTE fault)",
        &["I14", "I20", "I4", "WARN"],
    )
}

fn finds_h7_evict(_: KernelState) -> Expect {
    Expect::Finds(
        "H7: the delete subtracts one page for the whole range; clear_inode's BUG_ON(nrpages) at eviction",
        &["BUG"],
    )
}

fn finds_h7_waiter(_: KernelState) -> Expect {
    Expect::Finds(
        "H7: a waiter on the PMD-aligned key is not woken by the order-0 entry's unlock (a hang)",
        &["I12"],
    )
}

fn finds_h7_refault(_: KernelState) -> Expect {
    Expect::Finds(
        "H7: a refault at another index of the range resolves to the other page's entry",
        &["I15", "I9"],
    )
}

/// The H7 state, made by one thread: mm0 maps A[0..1] with a PMD (a PMD
/// entry, compound folio 8), then mm1's shared-extent PTE fault at A[1]
/// stores the order-0 entry (pfn 9) into the PMD entry's canonical slot.
fn h7_state(cx: &daxcheck_core::cx::Cx) {
    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
    handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
}

/// S18: a shared-extent PTE fault inside a real PMD entry (H7, the model's own hypothesis).
pub(crate) fn s18() -> Scenario {
    Scenario {
        name: "S18",
        title: "shared-extent PTE fault inside a PMD entry (H7)",
        header:
            "\
Setup: A[0..1] shares pfn 8-9 with B (IOMAP_F_SHARED)
T1: mm0 PMD read fault A[0] (a PMD entry, compound folio 8)
T2: mm1 PTE read fault A[1]: shared, so dax_insert_entry unmaps, disassociates the PMD folio (split)
    and stores the order-0 entry through its order-0 xas: lib/xarray.c writes only the canonical slot,
    the siblings keep pointing at it, so A[0] and A[1] both resolve to the pfn-9 PTE entry and
    nrpages still counts the PMD
Property: an entry fills exactly the range of its order (I14); nrpages == pages the slots cover (I20)
Result: finds (H7, hypothesis of this model). Variants show what follows in the kernel:
  -evict: munmap both, evict A: the delete clears the range but subtracts 1 page, so clear_inode's
          BUG_ON(nrpages) fires
  -waiter: T2 reads A[0] while T1's PTE fault at A[1] holds the PMD entry locked: T2 sleeps on the
          PMD-aligned key [0], the order-0 unlock wakes key [1]: T2 hangs (I12)
  -refault: then mm0 read-faults A[0] (pfn 8): zaps only A[0], disassociates folio 9 while mm1's PTE
          still maps it (I9, a model hazard marker on order 0) and stores pfn 8 for the whole range,
          so A[1] resolves to pfn 8 while mm1 maps pfn 9 (I15). See docs/findings.md.",
        expect: finds_h7,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        variants: vec![
            Variant {
                name: "pmd-pte",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 PMD read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                    }),
                    thread("mm1 PTE read fault A[1]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte);
                    }),
                ],
                expect: None,
            },
            Variant {
                name: "evict",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm0 PMD read A[0]; mm1 PTE read A[1]; munmap both; evict A",
                    |cx| {
                        h7_state(cx);
                        munmap(cx, Mm(0), FILE_A);
                        munmap(cx, Mm(1), FILE_A);
                        xfs_fs_evict_inode(cx, 0);
                    },
                )],
                expect: Some(finds_h7_evict),
            },
            Variant {
                name: "waiter",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 PMD read A[0]; mm1 PTE read A[1]", h7_state),
                    thread("mm1 PTE read fault A[0]", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(finds_h7_waiter),
            },
            Variant {
                name: "refault",
                setup: shared_ab(2, 0),
                threads: vec![thread(
                    "mm0 PMD read A[0]; mm1 PTE read A[1]; mm0 PTE read A[0]",
                    |cx| {
                        h7_state(cx);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                    },
                )],
                expect: Some(finds_h7_refault),
            },
        ],
    }
}
