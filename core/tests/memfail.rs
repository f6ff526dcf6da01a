//! Sequential std-mode checks of the memory-failure lockers, the two kill
//! paths and inode eviction, with the checker run after every operation.
//! The racy orders of S8/S8b are driven by hand in one thread, calling the
//! steps inside one outer scope so that the checker runs only at its end.

mod common;

use common::clean;

use daxcheck_core::dax::lock_folio::{dax_lock_folio, dax_unlock_folio};
use daxcheck_core::entry::{dax_is_locked, dax_to_pfn, PG_PMD_NR};
use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::folio::{folio_mapcount, folio_order, folio_ref_count, pfn_folio};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::mm::memory_failure::{mf_dax_kill_procs, mf_generic_kill_procs, EBUSY};
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::{Fault, FaultSize};
use daxcheck_core::world::{FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::evict::{destroy_inode, xfs_fs_evict_inode};
use daxcheck_core::xfs::inode::xfs_free_file_space;
use daxcheck_core::{violation::Inv, Check, Config, KernelState, Violation};

fn has(v: &[Violation], f: impl Fn(&Violation) -> bool) -> bool {
    v.iter().any(f)
}

fn entry_at(s: &Sequential, file: usize, index: u64) -> Option<u64> {
    s.cx.w.files[file].xa.peek().load(index).map(|(_, e)| e)
}

/// Files A and B reflinked: both map the same pfns, IOMAP_F_SHARED.
fn reflinked(pages: u64) -> Setup {
    let f = FileSetup::backed(pages).shared();
    Setup::files(vec![f.clone(), f])
}

#[test]
fn mf_generic_kill_procs_unmaps_a_mapped_folio_and_unlocks_its_entry() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    let f = DAX_BASE;
    for mm in 0..2 {
        assert_eq!(
            s.op(|cx| handle_mm_fault(cx, Mm(mm), FILE_A, 0, Read, FaultSize::Pte)),
            Fault::NoPage
        );
    }
    assert_eq!(folio_ref_count(&s.cx, f), 2);
    assert_eq!(s.op(|cx| mf_generic_kill_procs(cx, f)), 0);
    assert_eq!(
        folio_ref_count(&s.cx, f),
        0,
        "every process's mapping is gone"
    );
    assert_eq!(folio_mapcount(&s.cx, f), 0);
    assert!(s.cx.w.frames[f as usize].hwpoison.peek());
    let e = entry_at(&s, 0, 0).expect("memory failure keeps the entry");
    assert!(!dax_is_locked(e), "the entry lock is released");
    assert_eq!(dax_to_pfn(e), f);
    assert_eq!(
        s.cx.w.frames[f as usize].mapping.peek(),
        Some(0),
        "still owned by A: only the FS frees the block"
    );
    clean(&s);
}

#[test]
fn mf_generic_kill_procs_on_a_tail_page_unmaps_the_whole_pmd() {
    let s = Sequential::new(Config::default(), &Setup::file(PG_PMD_NR));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd));
    assert_eq!(folio_order(&s.cx, DAX_BASE), 1);
    assert_eq!(s.op(|cx| mf_generic_kill_procs(cx, DAX_BASE + 1)), 0);
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 0);
    assert!(
        s.cx.w.frames[DAX_BASE as usize].hwpoison.peek(),
        "the head is poisoned"
    );
    assert!(!dax_is_locked(entry_at(&s, 0, 1).expect("PMD entry")));
    clean(&s);
}

#[test]
fn dax_lock_folio_on_a_reflinked_folio_returns_zero_and_kill_is_ebusy() {
    let s = Sequential::new(Config::default(), &reflinked(1));
    let f = DAX_BASE;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte));
    let fr = &s.cx.w.frames[f as usize];
    assert_eq!(fr.mapping.peek(), None, "the second owner made it shared");
    assert_eq!(fr.index_share.peek(), 2);
    assert_eq!(s.op(|cx| dax_lock_folio(cx, f)), 0);
    assert_eq!(s.op(|cx| mf_generic_kill_procs(cx, f)), -EBUSY);
    assert!(!fr.hwpoison.peek(), "-EBUSY before SetPageHWPoison");
    assert_eq!(folio_ref_count(&s.cx, f), 2, "nothing unmapped");
    clean(&s);
}

#[test]
fn mf_dax_kill_procs_unmaps_one_file_of_a_reflinked_block() {
    let mut setup = reflinked(2);
    setup.files[0].blocks[1] = None;
    let s = Sequential::new(Config::default(), &setup);
    let f = DAX_BASE;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte));
    // A's index 1 is a hole: no entry, nothing to lock (cookie ~0).
    assert_eq!(s.op(|cx| mf_dax_kill_procs(cx, 0, 0, 2)), 0);
    assert!(s.cx.w.frames[f as usize].hwpoison.peek());
    assert_eq!(
        folio_ref_count(&s.cx, f),
        1,
        "A's mapping is gone, B's (the FS reports B separately) stays"
    );
    assert!(!dax_is_locked(entry_at(&s, 0, 0).expect("A's entry")));
    clean(&s);
}

#[test]
fn eviction_after_munmap_leaves_no_entries_and_the_folio_fs_free() {
    let s = Sequential::new(Config::default(), &Setup::file(PG_PMD_NR));
    let f = DAX_BASE;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pmd));
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte));
    for mm in 0..2 {
        s.op(|cx| munmap(cx, Mm(mm), FILE_A));
    }
    s.op(|cx| xfs_fs_evict_inode(cx, 0));
    assert!(s.cx.w.files[0].xa.peek().is_empty());
    assert_eq!(s.cx.w.files[0].xa.peek().nrpages, 0);
    let fr = &s.cx.w.frames[f as usize];
    assert_eq!(folio_ref_count(&s.cx, f), 0);
    assert_eq!(folio_mapcount(&s.cx, f), 0);
    assert_eq!(fr.mapping.peek(), None);
    assert_eq!(fr.index_share.peek(), 0, "not shared, no stale index");
    assert_eq!(folio_order(&s.cx, f), 0, "the last dax_folio_put split it");
    assert!(s.cx.w.files[0].evicted.peek());
    // A memory failure after eviction finds no owner.
    assert_eq!(s.op(|cx| mf_generic_kill_procs(cx, f)), -EBUSY);
    clean(&s);
}

/// S8b in one thread (H3): the cookie is held through A when a shared fault
/// in B makes the folio shared, so `dax_unlock_folio` re-reads a NULL
/// mapping and dereferences it.
#[test]
fn b16_unlock_after_a_reflink_fault_dereferences_null() {
    let s = Sequential::new(Config::default(), &reflinked(1));
    let f = DAX_BASE;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    s.op(|cx| {
        let _racy = cx.enter("S8b in racy order");
        let cookie = dax_lock_folio(cx, f);
        assert_ne!(cookie, 0, "A still owns the folio alone");
        assert_eq!(
            handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte),
            Fault::NoPage
        );
        dax_unlock_folio(cx, f, cookie);
    });
    let v = s.violations();
    assert!(
        has(&v, |v| v.check
            == Check::Bug("NULL pointer dereference of folio->mapping")),
        "{v:#?}"
    );
    assert!(
        has(&v, |v| v.check == Check::Inv(Inv::EntryLockExclusion)),
        "the oopsed task leaves A's entry locked: {v:#?}"
    );
}

/// B16 with a freed inode: the free (`destroy_inode`) is run before the
/// unlock, the order eviction must never allow.
#[test]
fn b16_unlock_after_inode_free_is_a_use_after_free() {
    let s = Sequential::new(Config::default(), &Setup::file(1));
    let f = DAX_BASE;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    s.op(|cx| munmap(cx, Mm(0), FILE_A));
    s.op(|cx| {
        let _racy = cx.enter("S8 in racy order");
        let cookie = dax_lock_folio(cx, f);
        assert_ne!(cookie, 0);
        destroy_inode(cx, 0);
        dax_unlock_folio(cx, f, cookie);
    });
    let v = s.violations();
    assert!(
        has(&v, |v| v.check
            == Check::Bug(
                "use-after-free of an evicted inode's address_space"
            )),
        "{v:#?}"
    );
}

/// The folio pointer `mf_generic_kill_procs` computes before locking goes
/// stale: the block is freed from A and becomes a tail of B's PMD folio, so
/// `READ_ONCE(folio->mapping)` returns TAIL_MAPPING.
#[test]
fn stale_pfn_folio_that_became_a_tail_reads_tail_mapping() {
    let cfg = Config {
        kernel: KernelState::Y2026,
        ..Config::default()
    };
    let s = Sequential::new(cfg, &reflinked(PG_PMD_NR));
    let p = DAX_BASE + 1;
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 1, Read, FaultSize::Pte));
    s.op(|cx| {
        let _racy = cx.enter("stale pfn_folio in racy order");
        let folio = pfn_folio(cx, p).expect("a DAX page");
        assert_eq!(folio, p, "order 0 when looked up");
        munmap(cx, Mm(0), FILE_A);
        xfs_free_file_space(cx, FILE_A, 0, PG_PMD_NR - 1);
        assert_eq!(
            handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pmd),
            Fault::NoPage
        );
        assert_eq!(dax_lock_folio(cx, folio), 0);
    });
    let v = s.violations();
    assert!(
        has(&v, |v| v.check
            == Check::Bug(
                "fs/dax.c dax_lock_folio: dax_mapping() dereferences TAIL_MAPPING"
            )),
        "{v:#?}"
    );
}
