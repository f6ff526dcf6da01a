//! Sequential std-mode tests pinning the kernel behaviours issue 14 models:
//! the xarray's multi-index store (lib/xarray.c), the struct page overlays
//! (mm_types.h, mm/internal.h) and the CoW write fault (fs/xfs).

mod common;

use daxcheck_core::entry::{dax_is_pmd_entry, dax_to_pfn, PG_PMD_NR};
use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::violation::Check;
use daxcheck_core::vm::{Access, Fault, FaultSize};
use daxcheck_core::world::{Block, File, FileSetup, Mm, Pte, Setup, DAX_BASE};
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
        s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pmd)),
        Fault::NoPage
    );
    {
        let xa = s.cx.w.file(0).xa.peek();
        let (base, e) = xa.load(1).expect("the PMD entry");
        assert!(base == 0 && dax_is_pmd_entry(e) && dax_to_pfn(e) == DAX_BASE);
        assert_eq!(xa.nrpages, PG_PMD_NR as i64);
    }
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(1), File(0), 1, Access::Read, FaultSize::Pte)),
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
    // I4 from the every-step check at the xa_unlock: PMD folio 8 still says
    // it is A[0], order 1, but A[0] now resolves to page 9's order-0 entry;
    // I14 at quiescence: the range is held by an order-0 entry.
    assert_eq!(ids(&s), ["I4", "I14"], "the H7 state");
    s.op(|cx| munmap(cx, Mm(0), File(0)));
    s.op(|cx| munmap(cx, Mm(1), File(0)));
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
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pmd));
    s.op(|cx| handle_mm_fault(cx, Mm(1), File(0), 1, Access::Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pte));
    let xa = s.cx.w.file(0).xa.peek();
    assert_eq!(xa.load(1).map(|(_, e)| dax_to_pfn(e)), Some(DAX_BASE));
    drop(xa);
    let v = ids(&s);
    assert!(
        v.contains(&"I9".to_string()) && v.contains(&"I15".to_string()),
        "{v:?}"
    );
}

/// The head's `pgmap` is the first word of `struct page`, which
/// `clear_compound_head` zeroes in the split of `dax_folio_put`: it reads
/// NULL until `new_folio->pgmap = pgmap` restores it (F1's window).
#[test]
fn the_split_zeroes_the_heads_pgmap_until_it_restores_it() {
    use daxcheck_core::trace::{Val, What};
    use daxcheck_core::world::PGMAP_ID;
    use daxcheck_core::xfs::inode::xfs_setattr_size;
    let mut setup = shared_ab();
    setup.files.truncate(1);
    for b in setup.files[0].blocks.iter_mut().flatten() {
        b.shared = false;
    }
    let s = Sequential::new(Config::default(), &setup);
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pmd));
    s.op(|cx| munmap(cx, Mm(0), File(0)));
    s.op(|cx| xfs_setattr_size(cx, File(0), 0));
    let head = DAX_BASE;
    let writes: Vec<(&str, Val, Val)> =
        s.cx.w
            .rec
            .snapshot()
            .events
            .iter()
            .filter_map(|e| match e.what {
                What::Field {
                    pfn,
                    field,
                    old,
                    new,
                } if pfn == head && field.starts_with("pgmap") => Some((field, old, new)),
                _ => None,
            })
            .collect();
    let id = Val::Num(PGMAP_ID as u64);
    assert_eq!(
        writes,
        [
            ("pgmap (compound_head word)", id, Val::Num(0)),
            ("pgmap", Val::Num(0), id)
        ],
        "clear_compound_head zeroes the head's pgmap, the split restores it"
    );
    assert_eq!(s.cx.w.frames[head as usize].pgmap.peek(), Some(PGMAP_ID));
    assert!(s.violations().is_empty(), "{:#?}", s.violations());
}

/// The folio counters are `page[1]`'s words, and `prep_compound_page`
/// (`prep_compound_head`) resets them. H2's sequence: a pin of the PMD
/// folio, a shared refault that splits and re-preps it under the pin, then
/// the unpin: `_pincount` ends at -1.
#[test]
fn page1_counters_live_in_page1_and_the_reprep_resets_them() {
    use daxcheck_core::mm::gup::{__get_user_pages, unpin_user_page, GupFlags};
    let s = Sequential::new(Config::default(), &shared_ab());
    let (head, page1) = (DAX_BASE as usize, DAX_BASE as usize + 1);
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pmd));
    let w = &s.cx.w;
    assert_eq!(
        w.frames[page1].entire_mapcount.peek(),
        1,
        "_entire_mapcount in page[1]"
    );
    assert_eq!(
        w.frames[page1].large_mapcount.peek(),
        1,
        "_large_mapcount in page[1]"
    );
    assert_eq!(
        w.frames[head].entire_mapcount.peek(),
        0,
        "nothing on the head"
    );
    let pin = GupFlags {
        write: false,
        pin: true,
        longterm: false,
        huge: true,
        fast_only: false,
    };
    let p = s
        .op(|cx| __get_user_pages(cx, Mm(0), File(0), 1, pin))
        .expect("the pin");
    assert_eq!(w.frames[page1].pincount.peek(), 1, "_pincount in page[1]");
    // The shared refault from mm1: unmap, last share (split), associate
    // again (prep_compound_page resets page[1]'s counters under the pin).
    s.op(|cx| handle_mm_fault(cx, Mm(1), File(0), 0, Access::Read, FaultSize::Pmd));
    assert_eq!(
        w.frames[page1].pincount.peek(),
        0,
        "prep_compound_head zeroed _pincount under the pin"
    );
    assert_eq!(
        w.frames[page1].entire_mapcount.peek(),
        1,
        "mm1's PMD mapping only"
    );
    s.op(|cx| unpin_user_page(cx, p));
    assert_eq!(
        w.frames[page1].pincount.peek(),
        -1,
        "the unpin leaves _pincount at -1 (H2)"
    );
    let v = ids(&s);
    assert!(
        v.contains(&"I9".to_string()),
        "the split under the pin: {v:?}"
    );
}

/// H1's second half. A PMD-mapped folio is split by the invalidation of a
/// CoW write(2) while still mapped; the PMD unmap that follows removes a
/// PMD rmap from what is now order-0 page 8, and the folio counters it
/// writes are page 9's words: `_entire_mapcount` the low half of page 9's
/// `mapping`, `_mm_id_mapcount` of mm0's slot the low half of its `index`.
/// Page 9 is an independent page by then (the split zeroed both words), so
/// it ends up with `mapping` = `index` = 0xffffffff. Readers then see it:
/// memory failure dereferences the garbage `mapping`, and a shared fault
/// takes it for an owner and counts a share that no entry holds.
#[test]
fn h1_pmd_rmap_after_the_split_writes_the_next_pages_mapping_and_index() {
    use daxcheck_core::mm::memory_failure::mf_generic_kill_procs;
    use daxcheck_core::world::MAPPING_GARBAGE;
    use daxcheck_core::xfs::file::xfs_file_dax_write;
    use std::sync::atomic::Ordering;
    let setup = Setup::files(vec![
        FileSetup::backed(2).shared(),
        FileSetup::backed(2).shared(),
    ])
    .spare(2);
    let s = Sequential::new(Config::default(), &setup);
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 0, Access::Read, FaultSize::Pmd));
    let p9 = &s.cx.w.frames[DAX_BASE as usize + 1];
    assert_eq!(p9.mapping.peek(), None, "page[1] of a PMD-mapped folio");
    s.op(|cx| xfs_file_dax_write(cx, File(0), 0));
    assert_eq!(p9.mapping.peek(), Some(MAPPING_GARBAGE));
    assert_eq!(p9.mapping_bits.load(Ordering::SeqCst), 0xffff_ffff);
    assert_eq!(
        p9.index_share.peek(),
        0xffff_ffff,
        "_mm_id_mapcount[0] = -1"
    );
    let v = ids(&s);
    assert!(
        v.contains(&"I9".to_string()),
        "the split under the PMD: {v:?}"
    );
    // A lockless reader: memory failure on pfn 9 reads the garbage mapping
    // and dereferences it in dax_mapping().
    s.op(|cx| mf_generic_kill_procs(cx, DAX_BASE + 1));
    assert!(
        s.violations().iter().any(|v| v.check
            == Check::Bug("dereference of a garbage folio->mapping (page[1] counter bits, H1)")
            && v.detail.contains("0xffffffff")),
        "{:#?}",
        s.violations()
    );
    // A fault of the still-shared A[1]: the garbage reads as an owner, so
    // dax_associate_entry makes the folio "shared" (share 1) and adds this
    // association: share 2 for one entry.
    s.op(|cx| handle_mm_fault(cx, Mm(1), File(0), 1, Access::Read, FaultSize::Pte));
    assert_eq!(p9.mapping.peek(), None);
    assert_eq!(p9.index_share.peek(), 2, "share 2, one entry");
    assert!(
        s.violations()
            .iter()
            .any(|v| v.check.id() == "I4" && v.detail.contains("folio 9 share 2")),
        "{:#?}",
        s.violations()
    );
}

/// A and B share pfn 8-9, with two spare frames (pfn 10, 11) for the CoW
/// fork.
fn shared_ab_spare() -> Setup {
    Setup {
        dax_frames: PG_PMD_NR + 2,
        ..shared_ab()
    }
}

fn folio_state(s: &Sequential, pfn: u64) -> (Option<u8>, u64) {
    let f = &s.cx.w.frames[pfn as usize];
    (f.mapping.peek(), f.index_share.peek())
}

/// §3: a write fault on a reflinked extent goes through the CoW fork
/// (`xfs_direct_write_iomap_begin` → `xfs_reflink_allocate_cow`, the CoW
/// block's iomap with IOMAP_F_SHARED, the old block as srcmap): the shared
/// branch of `dax_insert_entry` unmaps A[0], disassociates the old shared
/// folio (share 2 -> 1), associates the fresh block (first owner, since its
/// page carries no stale index) and maps it writable; `xfs_dax_write_iomap_end`
/// → `xfs_reflink_end_cow` then moves the CoW fork's block into A's data fork.
#[test]
fn a_write_fault_on_a_shared_extent_goes_through_the_cow_fork() {
    let s = Sequential::new(Config::default(), &shared_ab_spare());
    let (a, b) = (File(0), File(1));
    s.op(|cx| handle_mm_fault(cx, Mm(1), b, 0, Access::Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(0), a, 0, Access::Read, FaultSize::Pte));
    assert_eq!(
        folio_state(&s, DAX_BASE),
        (None, 2),
        "folio 8 shared by A and B"
    );
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), a, 0, Access::Write, FaultSize::Pte)),
        Fault::NoPage
    );
    let cow = DAX_BASE + PG_PMD_NR;
    // The old block: one owner less, still B's.
    assert_eq!(folio_state(&s, DAX_BASE), (None, 1), "share 2 -> 1");
    assert_eq!(
        s.cx.w.file(1).blocks[0].get(),
        Some(Block {
            pfn: DAX_BASE,
            shared: true
        })
    );
    // The CoW block: a first-owner association with A[0], mapped writable.
    assert_eq!(folio_state(&s, cow), (Some(0), 0));
    assert!(matches!(
        common::pte(&s, 0, 0),
        Pte::Present {
            pfn,
            write: true,
            ..
        } if pfn == cow
    ));
    {
        let xa = s.cx.w.file(0).xa.peek();
        let (base, e) = xa.load(0).expect("A[0]'s entry");
        assert_eq!((base, dax_to_pfn(e)), (0, cow));
        assert!(xa.dirty.contains(&0) && xa.towrite.contains(&0));
    }
    // xfs_reflink_end_cow: the data fork now names the CoW block, unshared,
    // with its extent record not yet durable; the CoW fork is empty.
    let ino = s.cx.w.file(0);
    assert_eq!(
        ino.blocks[0].get(),
        Some(Block {
            pfn: cow,
            shared: false
        })
    );
    assert!(ino.meta_dirty[0].peek());
    assert_eq!(ino.cow_fork[0].peek(), None);
    assert_eq!(ids(&s), Vec::<String>::new(), "no check broken");
    // A second write fault finds a private block: no CoW, no new block.
    s.op(|cx| munmap(cx, Mm(0), a));
    s.op(|cx| handle_mm_fault(cx, Mm(0), a, 0, Access::Write, FaultSize::Pte));
    assert_eq!(s.cx.w.free_blocks.peek().len(), 1, "pfn 11 still free");
    assert_eq!(ids(&s), Vec::<String>::new());
}

/// XFS `always_cow`: a write fault on an unshared written block CoWs too,
/// and `xfs_reflink_end_cow` frees the old block (checked FS-free and idle
/// at the free).
#[test]
fn always_cow_write_fault_remaps_and_frees_the_old_block() {
    let mut setup = Setup::file(PG_PMD_NR);
    setup.dax_frames = PG_PMD_NR + 1;
    setup.ext.always_cow = true;
    let s = Sequential::new(Config::default(), &setup);
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 1, Access::Read, FaultSize::Pte));
    s.op(|cx| handle_mm_fault(cx, Mm(0), File(0), 1, Access::Write, FaultSize::Pte));
    let cow = DAX_BASE + PG_PMD_NR;
    assert_eq!(
        s.cx.w.file(0).blocks[1].get(),
        Some(Block {
            pfn: cow,
            shared: false
        })
    );
    // The old folio was disassociated by dax_insert_entry's shared branch
    // before end_cow freed its block; order 0 keeps the stale index 1 (H5's
    // cell) on the kernels before 2026.
    assert_eq!(folio_state(&s, DAX_BASE + 1), (None, 1));
    assert_eq!(folio_state(&s, cow), (Some(0), 1));
    assert_eq!(ids(&s), Vec::<String>::new(), "no check broken");
}
