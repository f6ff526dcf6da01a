//! Sequential std-mode checks of writeback, MAP_SYNC faults, invalidation
//! and the CoW write, with the checker run after every operation. Where a
//! single thread can only show an interleaving by doing one thread's steps
//! at a time, the comment says which legal interleaving the order stands for.

mod common;

use common::{clean, events, pos, pte};

use daxcheck_core::cx::LockId;
use daxcheck_core::dax::fault::dax_iomap_pte_fault;
use daxcheck_core::dax::syncfault::dax_finish_sync_fault;
use daxcheck_core::dax::writeback::dax_writeback_mapping_range;
use daxcheck_core::entry::{dax_is_pmd_entry, dax_to_pfn};
use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::folio::{folio_order, folio_ref_count};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::mm::truncate::invalidate_inode_pages2_range;
use daxcheck_core::trace::{PtEntry, Val, What};
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::{Fault, FaultSize, Vmf};
use daxcheck_core::world::{Block, FileSetup, Pmd, Pte, Setup, SetupExt, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::xfs::file::xfs_file_dax_write;
use daxcheck_core::xfs::iomap::XFS_DAX_WRITE_IOMAP_OPS;
use daxcheck_core::{violation::Inv, Check, Config, Violation};

fn has(v: &[Violation], check: Check, needle: &str) -> bool {
    v.iter()
        .any(|x| x.check == check && x.headline().contains(needle))
}

fn a_vmf(mm: u8, index: u64, write: bool) -> Vmf {
    Vmf {
        mm,
        file: 0,
        index,
        write,
        sync: write,
    }
}

/// A `cx.note` step with exactly this text.
fn note(e: &What, text: &str) -> bool {
    matches!(e, What::Note(n) if n == text)
}

/// File A of `pages` pages (reflinked if `shared`) and `spare` FS-free
/// pmem frames.
fn file_a(pages: u64, shared: bool, spare: u64) -> Setup {
    let f = FileSetup::backed(pages);
    Setup::files(vec![if shared { f.shared() } else { f }]).spare(spare)
}

#[test]
fn writeback_write_protects_before_clearing_dirty_and_mkwrite_redirties() {
    let s = Sequential::new(Config::default(), &file_a(2, false, 0));
    let f = DAX_BASE;
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte)),
        Fault::NoPage
    );
    assert!(matches!(pte(&s, 0, 0), Pte::Present { write: true, .. }));
    assert!(s.cx.w.files[0].xa.peek().dirty.contains(&0));
    assert_eq!(
        s.op(|cx| dax_writeback_mapping_range(cx, 0, 0, u64::MAX)),
        0
    );
    {
        let xa = s.cx.w.files[0].xa.peek();
        assert!(!xa.dirty.contains(&0) && !xa.towrite.contains(&0));
    }
    assert!(
        matches!(pte(&s, 0, 0), Pte::Present { write: false, .. }),
        "writeback write-protects the PTE"
    );
    let ev = events(&s);
    assert!(
        pos(&ev, |e| matches!(
            e,
            What::Pte {
                mm: 0,
                file: 0,
                index: 0,
                old: PtEntry::Pte(Pte::Present {
                    pfn: 8,
                    write: true,
                    ..
                }),
                new: PtEntry::Pte(Pte::Present {
                    pfn: 8,
                    write: false,
                    ..
                }),
            }
        )) < pos(&ev, |e| note(e, "xas_clear_mark DIRTY A[0]")),
        "DIRTY is cleared only after the mapping is write-protected"
    );
    assert_eq!(folio_ref_count(&s.cx, f), 1, "writeback takes no reference");

    // The next store faults (pfn_mkwrite path): DIRTY again, PTE writable,
    // the same single reference.
    let before = events(&s).len();
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte)),
        Fault::NoPage
    );
    assert!(matches!(pte(&s, 0, 0), Pte::Present { write: true, .. }));
    assert!(s.cx.w.files[0].xa.peek().dirty.contains(&0));
    assert_eq!(
        folio_ref_count(&s.cx, f),
        1,
        "the mkwrite upgrade adds no reference"
    );
    let refs: Vec<_> = events(&s)[before..]
        .iter()
        .filter_map(|e| match *e {
            What::Ref { pfn, old, new, how } => Some((how, pfn, old, new)),
            _ => None,
        })
        .collect();
    assert_eq!(
        refs,
        [("folio_ref_inc", 8, 1, 2), ("folio_put", 8, 2, 1)],
        "only the fault's temporary reference moves"
    );
    // A second writeback finds it again.
    assert_eq!(
        s.op(|cx| dax_writeback_mapping_range(cx, 0, 0, u64::MAX)),
        0
    );
    assert!(matches!(pte(&s, 0, 0), Pte::Present { write: false, .. }));
    clean(&s);
}

#[test]
fn writeback_of_a_pmd_entry_write_protects_the_pmd() {
    let s = Sequential::new(Config::default(), &file_a(2, false, 0));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 1, Write, FaultSize::Pmd));
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pmd));
    assert_eq!(
        s.op(|cx| dax_writeback_mapping_range(cx, 0, 0, u64::MAX)),
        0
    );
    for mm in 0..2 {
        assert!(matches!(
            s.cx.w.mms[mm].pt[0][0].pmd.peek(),
            Pmd::Huge { write: false, .. }
        ));
    }
    assert!(s.cx.w.files[0].xa.peek().dirty.is_empty());
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 2);
    clean(&s);
}

#[test]
fn sync_write_fault_needs_dsync_then_maps_writable_after_the_fsync() {
    let ext = SetupExt {
        map_sync: vec![(0, 0)],
        meta_dirty: vec![(0, 0)],
        ..SetupExt::default()
    };
    let s = Sequential::new(
        Config::default(),
        &Setup {
            ext,
            ..file_a(2, false, 0)
        },
    );
    let f = DAX_BASE;
    let vmf = a_vmf(0, 0, true);
    // The fault proper, under MMAPLOCK shared: NEEDDSYNC, nothing mapped.
    let r = s.op(|cx| {
        let _l = cx.down_read(&cx.w.file(0).fs_lock, LockId::FsLock(0));
        dax_iomap_pte_fault(cx, &vmf, &XFS_DAX_WRITE_IOMAP_OPS)
    });
    assert_eq!(r, Fault::NeedDsync);
    let pfn = s.cx.pfnp.take().expect("the pfn comes back through pfnp");
    assert_eq!(pfn, f);
    assert_eq!(pte(&s, 0, 0), Pte::None, "no mapping before the fsync");
    assert_eq!(folio_ref_count(&s.cx, f), 0, "no reference taken");
    {
        let xa = s.cx.w.files[0].xa.peek();
        let (_, e) = xa.load(0).expect("the entry is inserted");
        assert_eq!(dax_to_pfn(e), f);
        assert!(!xa.dirty.contains(&0), "a sync fault does not tag DIRTY");
    }
    assert!(s.cx.w.files[0].meta_dirty[0].peek());
    // The FS handler, still under MMAPLOCK shared.
    let r = s.op(|cx| {
        let _l = cx.down_read(&cx.w.file(0).fs_lock, LockId::FsLock(0));
        dax_finish_sync_fault(cx, &vmf, pfn, 0)
    });
    assert_eq!(r, Fault::NoPage);
    assert!(
        !s.cx.w.files[0].meta_dirty[0].peek(),
        "the fsync forced the log"
    );
    assert!(matches!(pte(&s, 0, 0), Pte::Present { write: true, .. }));
    assert!(s.cx.w.files[0].xa.peek().dirty.contains(&0));
    assert_eq!(folio_ref_count(&s.cx, f), 1);
    clean(&s);
}

#[test]
fn sync_write_fault_through_the_fs_handler_fsyncs_before_mapping() {
    let ext = SetupExt {
        map_sync: vec![(0, 0)],
        meta_dirty: vec![(0, 0), (0, 1)],
        ..SetupExt::default()
    };
    let s = Sequential::new(
        Config::default(),
        &Setup {
            ext,
            ..file_a(2, false, 0)
        },
    );
    // mm1 is not MAP_SYNC: its write fault maps at once.
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 1, Write, FaultSize::Pte)),
        Fault::NoPage
    );
    assert!(!events(&s)
        .iter()
        .any(|e| matches!(e, What::Note(n) if n.contains("NEEDDSYNC"))));
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte)),
        Fault::NoPage
    );
    let ev = events(&s);
    let needdsync = pos(
        &ev,
        |e| matches!(e, What::Note(n) if n.contains("NEEDDSYNC: pfn 8")),
    );
    let log = pos(
        &ev,
        |e| matches!(e, What::Note(n) if n.contains("log forced")),
    );
    let mapped = pos(&ev, |e| {
        matches!(
            e,
            What::Pte {
                mm: 0,
                file: 0,
                index: 0,
                old: PtEntry::Pte(Pte::None),
                new: PtEntry::Pte(Pte::Present {
                    pfn: 8,
                    write: true,
                    ..
                }),
            }
        )
    });
    assert!(
        needdsync < log && log < mapped,
        "NEEDDSYNC, fsync, then the writable PTE"
    );
    // vfs_fsync_range covers the faulting page only: mm1's dirty A[1] is
    // neither written back nor write-protected, but the log force made all
    // of A's metadata durable.
    assert!(matches!(pte(&s, 1, 1), Pte::Present { write: true, .. }));
    assert!(s.cx.w.files[0].xa.peek().dirty.contains(&1));
    assert!(!s.cx.w.files[0].meta_dirty[1].peek());
    clean(&s);
}

#[test]
fn sync_fault_maps_the_pfn_it_was_handed_even_after_the_entry_changed() {
    // H4, shown by hand, under XFS's always_cow (where the review expects it
    // to be reachable: a write fault on a shared extent CoWs, so without
    // always_cow the later write(2) finds a private block and overwrites it
    // in place). T1 (mm0, MAP_SYNC) holds MMAPLOCK shared from the NEEDDSYNC
    // fault to dax_finish_sync_fault; the CoW write (IOLOCK only) and mm1's
    // read fault (MMAPLOCK shared) need nothing T1 holds, so running them in
    // between is a legal interleaving.
    let ext = SetupExt {
        map_sync: vec![(0, 0)],
        meta_dirty: vec![(0, 0)],
        always_cow: true,
        ..SetupExt::default()
    };
    let s = Sequential::new(
        Config::default(),
        &Setup {
            ext,
            ..file_a(2, true, 2)
        },
    );
    let vmf = a_vmf(0, 0, true);
    let r = s.op(|cx| {
        let _l = cx.down_read(&cx.w.file(0).fs_lock, LockId::FsLock(0));
        dax_iomap_pte_fault(cx, &vmf, &XFS_DAX_WRITE_IOMAP_OPS)
    });
    assert_eq!(r, Fault::NeedDsync);
    let pfn = s.cx.pfnp.take().expect("pfnp");
    // The fault's own CoW: the first spare block, A[0] remapped to it at
    // iomap_end.
    assert_eq!(pfn, DAX_BASE + 2, "the CoW fork's block");
    assert_eq!(s.op(|cx| xfs_file_dax_write(cx, FILE_A, 0)), 0);
    let new = DAX_BASE + 3;
    assert_eq!(
        s.cx.w.files[0].blocks[0].get(),
        Some(Block {
            pfn: new,
            shared: false
        })
    );
    assert!(
        s.cx.w.files[0].xa.peek().load(0).is_none(),
        "the clean sync entry was invalidated"
    );
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte));
    assert_eq!(
        s.op(|cx| {
            let _l = cx.down_read(&cx.w.file(0).fs_lock, LockId::FsLock(0));
            dax_finish_sync_fault(cx, &vmf, pfn, 0)
        }),
        Fault::NoPage
    );
    let v = s.violations();
    for x in &v {
        eprintln!("reported: {}", x.headline());
    }
    assert!(
        has(&v, Check::Inv(Inv::SyncFaultDurability), "H4: dax_insert_pfn_mkwrite maps pfn 10 writable at A[0] but the entry it re-found is pfn 11"),
        "H4 is a finding: {v:#?}"
    );
    assert!(matches!(
        pte(&s, 0, 0),
        Pte::Present {
            pfn: 10,
            write: true,
            ..
        }
    ));
    assert!(has(
        &v,
        Check::Inv(Inv::PageTablesMatchXarray),
        "mm0 maps A[0] -> pfn 10"
    ));
}

#[test]
fn invalidate_drops_clean_entries_and_keeps_dirty_ones() {
    let s = Sequential::new(Config::default(), &file_a(2, false, 0));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 1, Write, FaultSize::Pte));
    s.op(|cx| munmap(cx, Mm(0), FILE_A));
    assert_eq!(
        s.op(|cx| invalidate_inode_pages2_range(cx, 0, 0, 1)),
        -16,
        "-EBUSY: the dirty entry stays"
    );
    let xa = s.cx.w.files[0].xa.peek();
    assert!(xa.load(0).is_none(), "the clean entry is gone");
    assert_eq!(xa.load(1).map(|(_, e)| dax_to_pfn(e)), Some(DAX_BASE + 1));
    assert_eq!(xa.nrpages, 1);
    let fr = &s.cx.w.frames;
    assert_eq!(fr[DAX_BASE as usize].mapping.get(), None, "disassociated");
    assert_eq!(fr[DAX_BASE as usize + 1].mapping.get(), Some(0), "kept");
    clean(&s);
}

#[test]
fn invalidate_of_a_mapped_clean_entry_disassociates_before_the_unmap() {
    // The order-0 form of H1: the folio loses its association while a PTE
    // still maps it and holds a reference; the unmap comes afterwards.
    let s = Sequential::new(Config::default(), &file_a(2, false, 0));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    assert_eq!(s.op(|cx| invalidate_inode_pages2_range(cx, 0, 0, 1)), 0);
    let v = s.violations();
    assert!(
        has(
            &v,
            Check::Inv(Inv::SplitOnlyWhenIdle),
            "folio 8 disassociated at refcount 1, mapcount 1"
        ),
        "{v:#?}"
    );
    assert_eq!(pte(&s, 0, 0), Pte::None);
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 0);
}

#[test]
fn cow_write_over_a_pmd_mapped_shared_extent_splits_before_unmapping() {
    // H1 (S9 in one thread): the PMD folio of a reflinked extent, mapped
    // read-only by mm0 and associated with A alone, is invalidated by a CoW
    // write(2) that holds the IOLOCK but not the MMAPLOCK.
    let s = Sequential::new(Config::default(), &file_a(2, true, 2));
    let f = DAX_BASE;
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd)),
        Fault::NoPage
    );
    assert_eq!(folio_order(&s.cx, f), 1);
    assert_eq!(s.cx.w.frames[f as usize].mapping.get(), Some(0));
    clean(&s);

    assert_eq!(s.op(|cx| xfs_file_dax_write(cx, FILE_A, 0)), 0);
    let ev = events(&s);
    let deleted = pos(&ev, |e| {
        matches!(e, What::XaStore { file: 0, index: 0, old: Some(old), new: None }
            if dax_to_pfn(*old) == 8 && dax_is_pmd_entry(*old))
    });
    let disassociated = pos(&ev, |e| {
        matches!(
            e,
            What::Field {
                pfn: 8,
                field: "mapping",
                old: Val::Mapping(Some(0)),
                new: Val::Mapping(None)
            }
        )
    });
    let unmapped = pos(&ev, |e| {
        matches!(
            e,
            What::Pte {
                mm: 0,
                file: 0,
                old: PtEntry::Pmd(Pmd::Huge { pfn: 8, .. }),
                new: PtEntry::Pmd(Pmd::None),
                ..
            }
        )
    });
    assert!(
        disassociated < deleted && deleted < unmapped,
        "H1 order: disassociate, delete the entry, and only then unmap"
    );
    let v = s.violations();
    for x in &v {
        eprintln!("reported: {}", x.headline());
    }
    // Whatever the checker reports is the finding; these three must be in it.
    assert!(
        has(
            &v,
            Check::Inv(Inv::SplitOnlyWhenIdle),
            "folio 8 disassociated at refcount 1, mapcount 1"
        ),
        "{v:#?}"
    );
    assert!(v.iter().any(|x| matches!(x.check,
        Check::Warn(w) if w.contains("dax_folio_put: WARN_ON_ONCE(folio_ref_count"))));
    assert!(v.iter().any(|x| matches!(x.check,
        Check::Warn(w) if w.contains("PMD rmap of a small folio"))));
    // The write itself completed: A[0] now lives on the CoW block.
    assert_eq!(
        s.cx.w.files[0].blocks[0].get(),
        Some(Block {
            pfn: DAX_BASE + 2,
            shared: false
        })
    );
    assert_eq!(folio_ref_count(&s.cx, f), 0);
}
