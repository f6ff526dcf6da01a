//! Scenarios around entry-lock holders that are not faults: writeback (S2,
//! S12), invalidation and CoW writes (S9, S11), memory failure (S8), and
//! three invalidators with a fault on one entry (S16, B11).

use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::mm::memory_failure::mf_generic_kill_procs;
use daxcheck_core::mm::truncate::invalidate_inode_pages2_range;
use daxcheck_core::vfs::vfs_fsync_range;
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{FileSetup, Setup, SetupExt, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::file::xfs_file_dax_write;
use daxcheck_core::xfs::inode::{xfs_free_file_space, xfs_setattr_size};
use daxcheck_core::{KernelState, Mutant};

use super::reflink::shared_ab;
use super::{file_a, holds, thread, DefaultExplorer, Expect, Scenario, Variant};

/// A of two pages (shared with B when `shared`), with `spare` free pmem
/// frames after it for CoW allocations.
fn file_spare(shared: bool, spare: u64) -> Setup {
    let a = FileSetup::backed(2);
    let files = if shared {
        vec![a.clone().shared(), a.shared()]
    } else {
        vec![a]
    };
    Setup::files(files).spare(spare)
}

/// The v6.15 tag's `wait_entry_unlocked_exclusive` (`xas_pause`) reloads the
/// index after the entry it waited for, so a scan that met a locked entry
/// skips it (B4; the fix is in 6.15.3 and 6.16).
pub(crate) fn finds_b4_on_v6_15(k: KernelState) -> Expect {
    match k {
        KernelState::V6_15 => Expect::Finds(
            "B4: the v6.15 tag's wait_entry_unlocked_exclusive skips the entry it waited for",
            &["I8", "I9", "WARN"],
        ),
        _ => Expect::Holds,
    }
}

/// S2: a busy scan meets an entry another thread holds locked.
pub(crate) fn s2() -> Scenario {
    Scenario {
        name: "S2",
        title: "break-layout scan vs a locked entry",
        header: "\
T1: mm0 write fault A[0] (DIRTY), then fsync: dax_writeback_one holds A[0]'s entry lock across
    pfn_mkclean_range and the flush
T2: xfs_free_file_space(A, 0..1): the busy scan and dax_delete_mapping_range meet the locked entry,
    wait for it (wait_entry_unlocked_exclusive) and must come back to the same index
T3: fsync A (a second exclusive waiter on the same entry)
Property: the locked entry is examined and deleted after its unlock (I8: no entry left, no busy page
          missed); every waiter is woken or passed the wake (I12)
Result: finds (B4, I8) on the v6.15 tag; holds on v6.15.y, v6.16 and 2026",
        expect: finds_b4_on_v6_15,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M15, Mutant::B4, Mutant::B20],
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

/// S8: memory failure vs truncate, and vs a shared-extent fault (S8b, H3).
pub(crate) fn s8() -> Scenario {
    fn finds_s8b(_: KernelState) -> Expect {
        Expect::Finds(
            "H3/B16: folio->mapping turns NULL under a memory-failure cookie",
            &["BUG", "I19", "I10", "I5", "data-race"],
        )
    }
    Scenario {
        name: "S8",
        title: "memory failure vs truncate / a shared fault",
        header: "\
T1: mm0 read fault A[0], then mf_generic_kill_procs(pfn 8): dax_lock_folio (READ_ONCE mapping, xa_lock,
    re-check, lock the entry), poison, unmap the processes, dax_unlock_folio (re-reads mapping)
T2: -truncate: xfs_setattr_size(A, 0); -shared (S8b): mm1 read fault B[0] on the extent A shares
Property: the cookie holder holds the entry lock of (mapping, index) and mapping stays set until unlock
          (I19); no NULL or freed mapping is dereferenced (B16); no hang (non-exclusive waiter, B17)
Result: -truncate holds; -shared finds (H3: the shared association sets mapping = NULL while T1 holds
        the cookie, and dax_unlock_folio dereferences it)",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M40],
        variants: vec![
            Variant {
                name: "truncate",
                setup: file_a(2),
                threads: vec![
                    thread("mm0 read fault A[0], kill pfn 8", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        mf_generic_kill_procs(cx, DAX_BASE);
                    }),
                    thread("truncate A to 0", |cx| xfs_setattr_size(cx, FILE_A, 0)),
                ],
                expect: None,
            },
            Variant {
                name: "shared",
                setup: shared_ab(2, 0),
                threads: vec![
                    thread("mm0 read fault A[0], kill pfn 8", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte);
                        mf_generic_kill_procs(cx, DAX_BASE);
                    }),
                    thread("mm1 read fault B[0] (shared extent)", |cx| {
                        handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte);
                    }),
                ],
                expect: Some(finds_s8b),
            },
        ],
    }
}

fn finds_h1(_: KernelState) -> Expect {
    Expect::Finds(
        "H1: invalidation disassociates (and splits) a folio before unmapping it",
        &["I9", "WARN"],
    )
}

/// S9: a CoW write(2) invalidates a PMD-mapped shared extent (H1).
pub(crate) fn s9() -> Scenario {
    Scenario {
        name: "S9",
        title: "invalidation vs a mapped PMD (H1)",
        header: "\
Setup: A and B share pfn 8-9; two spare frames for the CoW copy
T1: mm0 PMD read fault A[0]
T2: write(2) to A[0] (CoW over the shared extent): __dax_clear_dirty_range, then
    invalidate_inode_pages2_range, which deletes entries first and unmaps at the end
Property: split only when idle (I9); page tables match the xarray (I15)
Result: finds (H1): the folio is disassociated and split while T1's PMD maps it",
        expect: finds_h1,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[],
        variants: vec![Variant {
            name: "pmd",
            setup: file_spare(true, 2),
            threads: vec![
                thread("mm0 PMD read fault A[0]", |cx| {
                    handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd);
                }),
                thread("CoW write A[0]", |cx| {
                    xfs_file_dax_write(cx, FILE_A, 0);
                }),
            ],
            expect: None,
        }],
    }
}

fn finds_h4(_: KernelState) -> Expect {
    Expect::Finds(
        "H4: dax_insert_pfn_mkwrite maps the pfn of an entry that was replaced",
        &["I17"],
    )
}

fn s11_threads() -> Vec<daxcheck_core::exec::ThreadSpec> {
    vec![
        thread("mm0 MAP_SYNC write fault A[0]", |cx| {
            handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
        }),
        thread("CoW write A[0]", |cx| {
            xfs_file_dax_write(cx, FILE_A, 0);
        }),
        thread("mm1 read fault A[0]", |cx| {
            handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte);
        }),
    ]
}

/// S11: a MAP_SYNC write fault vs a CoW write that replaces its entry (H4).
pub(crate) fn s11() -> Scenario {
    let mut setup = file_spare(true, 2);
    setup.ext = SetupExt {
        map_sync: vec![(0, 0)],
        meta_dirty: vec![(0, 0)],
        free_blocks: None,
        always_cow: false,
    };
    Scenario {
        name: "S11",
        title: "sync fault vs a CoW write (H4)",
        header: "\
Setup: mm0 maps A with MAP_SYNC; A[0]'s block metadata is not yet durable; A shares with B
    (-always-cow: XFS's always_cow knob on)
T1: mm0 write fault A[0]: a CoW fault (the CoW fork's block, remapped at iomap_end), NEEDDSYNC (entry
    inserted, nothing mapped), fsync, dax_insert_pfn_mkwrite with the pfn from the first half
T2: write(2) to A[0] (CoW): invalidates the clean sync entry, remaps A[0] to a new block
T3: mm1 read fault A[0] (creates the new entry)
Property: a writable PTE only after fsync and only while the re-found entry's pfn is the one mapped
          (I17); page tables match the xarray (I15)
Result: finds (H4)",
        expect: finds_h4,
        explorers: &[DefaultExplorer::Pct],
        catches: &[],
        variants: vec![
            Variant {
                name: "cow",
                setup: setup.clone(),
                threads: s11_threads(),
                expect: None,
            },
            Variant {
                // XFS's always_cow debug knob: the write(2) CoWs A[0] again
                // after T1's fault made it private (review D3).
                name: "always-cow",
                setup: Setup {
                    ext: SetupExt {
                        always_cow: true,
                        ..setup.ext.clone()
                    },
                    ..setup
                },
                threads: s11_threads(),
                expect: None,
            },
        ],
    }
}

/// S12: mkwrite vs writeback (I16).
pub(crate) fn s12() -> Scenario {
    Scenario {
        name: "S12",
        title: "mkwrite vs writeback",
        header: "\
fsync-fsync: T1: mm0 write fault A[0], then fsync; T2: fsync A
mkwrite:     T1: mm0 write fault A[0], fsync, write again (the pfn_mkwrite upgrade); T2: fsync A
sync:        A[0]'s metadata not yet durable, mm0 maps A with MAP_SYNC. T1: mm0 write fault A[0]
             (NEEDDSYNC: entry inserted, fsync, dax_insert_pfn_mkwrite); T2: fsync A
Property: when an fsync returns, every writable PTE of its range has DIRTY set (I16); the upgrade takes
          no new reference (I1); writeback holds the entry lock across write-protect and flush; a
          MAP_SYNC PTE becomes writable only after its fsync (I17)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M21, Mutant::M18],
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
            Variant {
                name: "mkwrite",
                setup: file_a(1),
                threads: vec![
                    thread("mm0 write A[0], fsync, write again", |cx| {
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
                        vfs_fsync_range(cx, FILE_A, 0, 1);
                        handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte);
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

/// S16: three invalidators and a fault on one entry, with no FS lock to
/// serialise the invalidators (B11).
pub(crate) fn s16() -> Scenario {
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
        header: "\
T1: mm0 read fault on the hole A[0] (holds the entry lock while it inserts the zero entry)
T2, T3, T4: invalidate_inode_pages2_range(A, 0, 0), no FS lock between them (virtiofs-like)
Property: when the first invalidator deletes the entry, every other waiter is woken (WAKE_ALL): all
          threads finish (I12); page tables match the xarray afterwards (I15)
Result: holds",
        expect: holds,
        explorers: &[DefaultExplorer::Loom, DefaultExplorer::Pct],
        catches: &[Mutant::M3, Mutant::B11],
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
