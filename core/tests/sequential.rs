//! Sequential std-mode checks of single operations: each shows the effect on
//! refcount, mapcount, association and entries, with the checker run after
//! every operation.

mod common;

use common::clean;

use daxcheck_core::entry::{dax_to_pfn, PG_PMD_NR};
use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::folio::{folio_mapcount, folio_order, folio_ref_count};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::vm::Access::{Read, Write};
use daxcheck_core::vm::{Fault, FaultSize};
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::world::{Setup, DAX_BASE, HUGE_ZERO_PFN};
use daxcheck_core::xfs::inode::{xfs_free_file_space, xfs_setattr_size};
use daxcheck_core::{violation::Inv, Config, Mutant};

#[test]
fn pte_fault_takes_one_reference_per_mapping() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    let f = DAX_BASE;
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte)),
        Fault::NoPage
    );
    assert_eq!(folio_ref_count(&s.cx, f), 1);
    assert_eq!(folio_mapcount(&s.cx, f), 1);
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 0, Read, FaultSize::Pte)),
        Fault::NoPage
    );
    assert_eq!(
        folio_ref_count(&s.cx, f),
        2,
        "a second process's mapping holds its own reference"
    );
    let fr = &s.cx.w.frames[f as usize];
    assert_eq!(fr.mapping.get(), Some(0));
    assert_eq!(fr.index_share.get(), 0);
    clean(&s);
}

#[test]
fn pmd_fault_makes_a_compound_folio_and_truncate_splits_it() {
    let s = Sequential::new(Config::default(), &Setup::file(PG_PMD_NR));
    let f = DAX_BASE;
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 1, Write, FaultSize::Pmd)),
        Fault::NoPage
    );
    assert_eq!(folio_order(&s.cx, f), 1);
    assert_eq!(folio_ref_count(&s.cx, f), 1);
    assert_eq!(
        s.cx.w.frames[f as usize + 1]
            .entire_mapcount
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    {
        let xa = s.cx.w.files[0].xa.peek();
        let (base, e) = xa.load(1).expect("PMD entry");
        assert_eq!((base, dax_to_pfn(e)), (0, f));
        assert!(xa.dirty.contains(&0), "a write fault marks the entry dirty");
    }
    s.op(|cx| xfs_setattr_size(cx, FILE_A, 0));
    assert_eq!(folio_ref_count(&s.cx, f), 0);
    assert_eq!(
        folio_order(&s.cx, f),
        0,
        "the last dax_folio_put splits the folio"
    );
    assert!(s.cx.w.files[0].xa.peek().is_empty());
    clean(&s);
}

#[test]
fn pte_fault_inside_a_pmd_entry_refcounts_the_pmd_folio() {
    let s = Sequential::new(Config::default(), &Setup::file(PG_PMD_NR));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd));
    // Process 1 maps page 1 with a PTE: the entry stays the PMD entry (B14)
    // and the reference lands on the PMD folio's head.
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_A, 1, Read, FaultSize::Pte)),
        Fault::NoPage
    );
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 2);
    assert_eq!(
        folio_mapcount(&s.cx, DAX_BASE),
        2,
        "a PMD mapping counts once, a PTE once"
    );
    assert_eq!(s.cx.w.frames[DAX_BASE as usize].mapping.get(), Some(0));
    clean(&s);
}

#[test]
fn munmap_drops_the_reference_at_the_tlb_flush() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Write, FaultSize::Pte));
    s.op(|cx| munmap(cx, Mm(0), FILE_A));
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 0);
    assert_eq!(folio_mapcount(&s.cx, DAX_BASE), 0);
    // Still associated: refcount 0 is MM-idle, not FS-free.
    assert_eq!(s.cx.w.frames[DAX_BASE as usize].mapping.get(), Some(0));
    s.op(|cx| xfs_free_file_space(cx, FILE_A, 0, 1));
    assert_eq!(s.cx.w.frames[DAX_BASE as usize].mapping.get(), None);
    clean(&s);
}

#[test]
fn read_of_a_hole_maps_the_zero_page_without_a_reference() {
    let mut setup = Setup::file(2);
    setup.files[0].blocks[1] = None;
    let s = Sequential::new(Config::default(), &setup);
    // Every refcount as before the fault: 0, but the huge zero folio's own
    // reference.
    let refcounts = || {
        s.cx.w
            .frames
            .iter()
            .map(|f| f.refcount.load(std::sync::atomic::Ordering::Relaxed))
            .collect::<Vec<_>>()
    };
    let before = refcounts();
    assert!(before
        .iter()
        .enumerate()
        .all(|(pfn, &r)| r == i32::from(pfn as u64 == HUGE_ZERO_PFN)));
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 1, Read, FaultSize::Pte)),
        Fault::NoPage
    );
    assert_eq!(refcounts(), before);
    s.op(|cx| xfs_setattr_size(cx, FILE_A, 0));
    clean(&s);
}

#[test]
fn fault_beyond_eof_is_sigbus() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    s.op(|cx| xfs_setattr_size(cx, FILE_A, 0));
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte)),
        Fault::SigBus
    );
    clean(&s);
}

#[test]
fn m6_leaks_the_pmd_reference_and_truncate_splits_a_referenced_folio() {
    let cfg = Config {
        mutant: Some(Mutant::M6),
        ..Config::default()
    };
    let s = Sequential::new(cfg, &Setup::file(PG_PMD_NR));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd));
    s.op(|cx| munmap(cx, Mm(0), FILE_A));
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 1, "M6 skips the put");
    let v = s.violations();
    assert!(
        v.iter()
            .any(|v| v.check == daxcheck_core::Check::Inv(Inv::RefcountAccounting)),
        "{v:#?}"
    );
}
