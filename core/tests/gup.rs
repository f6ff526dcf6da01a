//! Sequential std-mode checks of GUP and reflink sharing: each shows the
//! effect on refcount, `_pincount` and association, with the checker run
//! after every operation.

mod common;

use common::clean;

use daxcheck_core::exec::Sequential;
use daxcheck_core::mm::folio::folio_ref_count;
use daxcheck_core::mm::gup::{
    __get_user_pages, gup_fast, unpin_user_page, GupFlags, GUP_PIN_COUNTING_BIAS,
};
use daxcheck_core::mm::memory::handle_mm_fault;
use daxcheck_core::vm::Access::Read;
use daxcheck_core::vm::{Fault, FaultSize};
use daxcheck_core::world::{FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A, FILE_B};
use daxcheck_core::xfs::inode::xfs_setattr_size;
use daxcheck_core::Config;

const PIN: GupFlags = GupFlags {
    write: false,
    pin: true,
    longterm: false,
    huge: false,
    fast_only: false,
};

#[test]
fn pin_of_a_pmd_tail_page_counts_on_the_head_and_unpin_returns_it() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    assert_eq!(
        s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pmd)),
        Fault::NoPage
    );
    let head = DAX_BASE;
    assert_eq!(folio_ref_count(&s.cx, head), 1);
    let p = s
        .op(|cx| __get_user_pages(cx, Mm(0), FILE_A, 1, PIN))
        .expect("pin of the tail page");
    assert_eq!(p.page, head + 1);
    assert_eq!(
        folio_ref_count(&s.cx, head),
        2,
        "a PIN of a large folio adds 1 ..."
    );
    assert_eq!(
        s.cx.w.frames[head as usize + 1].pincount.peek(),
        1,
        "... and 1 to _pincount"
    );
    assert_eq!(
        s.cx.w.frames[head as usize + 1].refcount.peek(),
        0,
        "the tail holds nothing (I3)"
    );
    s.op(|cx| unpin_user_page(cx, p));
    assert_eq!(folio_ref_count(&s.cx, head), 1);
    assert_eq!(s.cx.w.frames[head as usize + 1].pincount.peek(), 0);
    clean(&s);
}

#[test]
fn pin_of_a_small_folio_adds_the_bias() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    let p = s
        .op(|cx| __get_user_pages(cx, Mm(0), FILE_A, 0, PIN))
        .expect("slow path");
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 1 + GUP_PIN_COUNTING_BIAS);
    s.op(|cx| unpin_user_page(cx, p));
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 1);
    let g = s
        .op(|cx| gup_fast(cx, Mm(0), FILE_A, 0, GupFlags { pin: false, ..PIN }))
        .expect("fast GET");
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 2, "a GET adds 1");
    s.op(|cx| unpin_user_page(cx, g));
    clean(&s);
}

#[test]
fn foll_longterm_on_fsdax_fails() {
    let s = Sequential::new(Config::default(), &Setup::file(2));
    let r = s.op(|cx| {
        __get_user_pages(
            cx,
            Mm(0),
            FILE_A,
            0,
            GupFlags {
                longterm: true,
                ..PIN
            },
        )
    });
    assert!(r.is_err(), "FOLL_LONGTERM must be refused (I18)");
    assert_eq!(folio_ref_count(&s.cx, DAX_BASE), 0);
    clean(&s);
}

#[test]
fn truncate_after_unpin_frees_the_block() {
    // (With the pin held a truncate would wait for it: S4 explores that.)
    let s = Sequential::new(Config::default(), &Setup::file(2));
    let p = s
        .op(|cx| __get_user_pages(cx, Mm(0), FILE_A, 0, PIN))
        .expect("pin");
    s.op(|cx| unpin_user_page(cx, p));
    s.op(|cx| xfs_setattr_size(cx, FILE_A, 0));
    assert_eq!(s.cx.w.frames[DAX_BASE as usize].mapping.peek(), None);
    clean(&s);
}

#[test]
fn a_shared_association_from_two_files_gives_share_2() {
    let s = Sequential::new(
        Config::default(),
        &Setup::files(vec![FileSetup::backed(2).shared(); 2]),
    );
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    let f = &s.cx.w.frames[DAX_BASE as usize];
    assert_eq!(
        f.mapping.peek(),
        Some(0),
        "the first owner associates as mapping = A, index = 0"
    );
    s.op(|cx| handle_mm_fault(cx, Mm(1), FILE_B, 0, Read, FaultSize::Pte));
    assert_eq!(
        f.mapping.peek(),
        None,
        "the second owner makes it shared ..."
    );
    assert_eq!(
        f.index_share.peek(),
        2,
        "... and share counts both associations"
    );
    clean(&s);
}

/// mm/gup.c `try_grab_folio_fast`: a FOLL_LONGTERM pin takes its reference
/// first and checks `folio_is_longterm_pinnable()` after; an fsdax folio is
/// not, so the reference is put again and the slow path refuses the pin.
/// The transient reference is what a cross-file busy scan can see (F3,
/// S7/longterm-punch). In the PTE path the walk also re-reads the PMD word.
#[test]
fn gup_fast_longterm_takes_and_puts_a_transient_reference() {
    use daxcheck_core::trace::What;
    let s = Sequential::new(Config::default(), &Setup::file(2));
    s.op(|cx| handle_mm_fault(cx, Mm(0), FILE_A, 0, Read, FaultSize::Pte));
    let head = DAX_BASE;
    assert_eq!(folio_ref_count(&s.cx, head), 1);
    let longterm = GupFlags {
        longterm: true,
        ..PIN
    };
    assert_eq!(
        s.op(|cx| gup_fast(cx, Mm(0), FILE_A, 0, longterm)),
        Err("-EOPNOTSUPP"),
        "GUP-fast bails, the slow path refuses"
    );
    assert_eq!(folio_ref_count(&s.cx, head), 1, "the reference went back");
    let events = s.cx.w.rec.snapshot().events;
    let refs: Vec<(i32, i32)> = events
        .iter()
        .filter_map(|e| match e.what {
            What::Ref { pfn, old, new, .. } if pfn == head && e.func == "gup_fast" => {
                Some((old, new))
            }
            _ => None,
        })
        .collect();
    assert_eq!(refs, [(1, 2), (2, 1)], "taken, then put");
    // An ordinary GUP-fast pin re-reads the PMD word and the PTE after its
    // grab (gup_fast_pte_range), before it keeps the reference.
    let fast = GupFlags {
        fast_only: true,
        ..PIN
    };
    let p = s
        .op(|cx| gup_fast(cx, Mm(0), FILE_A, 0, fast))
        .expect("GUP-fast pin");
    let rechecks: Vec<&str> =
        s.cx.w
            .rec
            .snapshot()
            .events
            .iter()
            .filter_map(|e| match e.what {
                What::ReadField { field, .. } if field.ends_with("(recheck)") => Some(field),
                _ => None,
            })
            .collect();
    assert_eq!(rechecks, ["pmd (recheck)", "pte (recheck)"]);
    s.op(|cx| unpin_user_page(cx, p));
    clean(&s);
}
