//! Sequential std-mode tests pinning the kernel behaviours issue 14 models:
//! the xarray's multi-index store (lib/xarray.c), the struct page overlays
//! (mm_types.h, mm/internal.h) and the CoW write fault (fs/xfs).

use daxcheck_core::entry::{dax_is_pmd_entry, dax_to_pfn, PG_PMD_NR};
use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::violation::Check;
use daxcheck_core::vm::{Fault, FaultSize};
use daxcheck_core::world::{Block, FileSetup, Setup, DAX_BASE};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::Config;

/// Files A and B of one PMD range, sharing A's blocks (a reflink).
fn shared_ab() -> Setup {
    let blocks: Vec<_> = (0..PG_PMD_NR)
        .map(|i| {
            Some(Block {
                pfn: DAX_BASE + i,
                shared: true,
            })
        })
        .collect();
    let file = FileSetup {
        pages: PG_PMD_NR,
        size: PG_PMD_NR,
        blocks,
    };
    Setup {
        files: vec![file.clone(), file],
        mms: 2,
        dax_frames: PG_PMD_NR,
        ext: Default::default(),
    }
}

fn ids(s: &Sequential) -> Vec<String> {
    s.violations().iter().map(|v| v.check.id()).collect()
}

/// H7: a shared-extent PTE fault at A[1] inside A's PMD entry stores the
/// order-0 entry into the canonical slot; every index of the range resolves
/// to it and nrpages still counts the PMD. The later delete subtracts one
/// page, so eviction meets clear_inode's BUG_ON(nrpages).
#[test]
fn order0_store_into_a_pmd_entry_keeps_the_range_and_nrpages() {
    let s = Sequential::new(Config::default(), &shared_ab());
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, 0, 0, 0, false, FaultSize::Pmd)),
        Fault::NoPage
    );
    {
        let xa = s.cx.w.file(0).xa.peek();
        let (base, e) = xa.load(1).expect("the PMD entry");
        assert!(base == 0 && dax_is_pmd_entry(e) && dax_to_pfn(e) == DAX_BASE);
        assert_eq!(xa.nrpages, PG_PMD_NR as i64);
    }
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, 1, 0, 1, false, FaultSize::Pte)),
        Fault::NoPage
    );
    {
        let xa = s.cx.w.file(0).xa.peek();
        for i in 0..PG_PMD_NR {
            let (base, e) = xa.load(i).expect("an entry");
            assert_eq!(base, 0, "index {i} resolves to the canonical slot");
            assert!(!dax_is_pmd_entry(e), "index {i}: the order-0 entry");
            assert_eq!(dax_to_pfn(e), DAX_BASE + 1, "index {i}: page 1's pfn");
        }
        assert_eq!(
            xa.ranges().collect::<Vec<_>>().len(),
            1,
            "one entry, the PMD range's slots"
        );
        assert_eq!(xa.nrpages, PG_PMD_NR as i64, "nrpages unchanged");
    }
    assert_eq!(ids(&s), ["I14"], "the range is held by an order-0 entry");
    s.op(|cx| munmap(cx, 0, 0));
    s.op(|cx| munmap(cx, 1, 0));
    s.op(|cx| xfs_fs_evict_inode(cx, 0));
    let v = s.violations();
    assert!(
        v.iter().any(|v| v.check
            == Check::Bug("fs/inode.c clear_inode: BUG_ON(inode->i_data.nrpages)")),
        "{v:#?}"
    );
    assert_eq!(s.cx.w.file(0).xa.peek().nrpages, PG_PMD_NR as i64 - 1);
}

/// H7 refault: a shared fault at A[0] then replaces the value for the whole
/// range, so A[1] resolves to page 0's pfn while mm1 still maps page 1.
#[test]
fn refault_at_the_other_index_replaces_the_whole_range() {
    let s = Sequential::new(Config::default(), &shared_ab());
    s.op(|cx| handle_mm_fault(cx, 0, 0, 0, false, FaultSize::Pmd));
    s.op(|cx| handle_mm_fault(cx, 1, 0, 1, false, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, 0, 0, 0, false, FaultSize::Pte));
    let xa = s.cx.w.file(0).xa.peek();
    assert_eq!(xa.load(1).map(|(_, e)| dax_to_pfn(e)), Some(DAX_BASE));
    drop(xa);
    let v = ids(&s);
    assert!(
        v.contains(&"I9".to_string()) && v.contains(&"I15".to_string()),
        "{v:?}"
    );
}
