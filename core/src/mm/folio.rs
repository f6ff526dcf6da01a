//! `include/linux/mm.h`, `mm/swap.c` (v6.15): folio lookups and the folio
//! refcount (spec §3.7), every change through one recorded `ref_add`.

use crate::cx::Cx;
use crate::mm::memremap::free_zone_device_folio;
use crate::sync::Ordering;
use crate::trace::{Val, What};
use crate::violation::{Check, Inv};
use crate::world::{FrameKind, HUGE_ZERO_PFN};

/// `include/linux/mm.h` `page_folio(pfn_to_page(pfn))`: the head pfn. Reading
/// `compound_head` dereferences the struct page, so a pfn with no struct page
/// is a fatal paging fault (bug B2/B7).
pub fn page_folio(cx: &Cx, pfn: u64) -> Option<u64> {
    let Some(f) = cx.w.frame(pfn) else {
        cx.violate(
            Check::Bug("page_folio: unable to handle page fault"),
            format!("pfn {pfn} has no struct page"),
        );
        return None;
    };
    // _compound_head(): READ_ONCE(page->compound_head).
    Some(
        cx.read_once(pfn, "compound_head", &f.compound_head, Val::Head)
            .unwrap_or(pfn),
    )
}

/// `include/linux/mm.h` `folio_order`: the order bits live in `page[1]`.
pub fn folio_order(cx: &Cx, head: u64) -> u32 {
    let f = &cx.w.frames[head as usize];
    if crate::access::read(cx, head, "PG_head", &f.head, Val::Flag) {
        cx.w.frames.get(head as usize + 1).map_or(0, |p1| {
            crate::access::read(cx, head + 1, "folio order", &p1.order, |v| {
                Val::Num(v as u64)
            }) as u32
        })
    } else {
        0
    }
}

/// `include/linux/page_ref.h` `folio_ref_count`: `atomic_read` is a plain load,
/// but every kernel caller acts on the value with stores that depend on it
/// (split, delete, insert), which the LKMM orders after the load (a control
/// dependency). C11, which loom checks, has no such rule, so the model uses an
/// acquire load to stand for it.
pub fn folio_ref_count(cx: &Cx, head: u64) -> i32 {
    let r = cx.w.frames[head as usize].refcount.load(Ordering::Acquire);
    cx.ev(What::Read {
        pfn: head,
        what: "refcount",
        val: r,
    });
    r
}

/// `include/linux/mm.h` `folio_mapcount`: page-table mappings of the folio, a
/// PMD mapping counting once: one read of `_large_mapcount` for a large folio,
/// of the page's own mapcount otherwise.
pub fn folio_mapcount(cx: &Cx, head: u64) -> i32 {
    let f = &cx.w.frames[head as usize];
    let (what, c) = if folio_order(cx, head) > 0 {
        (
            "large_mapcount",
            &cx.w.frames[head as usize + 1].large_mapcount,
        )
    } else {
        ("mapcount", &f.mapcount)
    };
    // Acquire for the control-dependency reason given at folio_ref_count.
    let m = c.load(Ordering::Acquire);
    cx.ev(What::Read {
        pfn: head,
        what,
        val: m,
    });
    m
}

/// One recorded refcount change; a result below 0 is I2.
pub(crate) fn ref_add(cx: &Cx, head: u64, d: i32, o: Ordering, how: &'static str) -> i32 {
    let old = cx.w.frames[head as usize].refcount.fetch_add(d, o);
    cx.ev(What::Ref {
        pfn: head,
        old,
        new: old + d,
        how,
    });
    if old + d < 0 {
        cx.violate(
            Check::Inv(Inv::NoRefcountUnderflow),
            format!("{how}: folio {head} refcount {old} -> {}", old + d),
        );
    }
    old
}

/// `include/linux/page_ref.h` `folio_ref_inc`: a raw relaxed increment with no
/// zero check (§4 Q2).
pub fn folio_ref_inc(cx: &Cx, head: u64) {
    ref_add(cx, head, 1, Ordering::Relaxed, "folio_ref_inc");
}

/// `include/linux/mm.h` `folio_get`: the debug build's
/// `VM_BUG_ON_FOLIO(folio_ref_zero_or_close_to_overflow)`.
pub fn folio_get(cx: &Cx, head: u64) {
    let old = ref_add(cx, head, 1, Ordering::Relaxed, "folio_get");
    if old <= 0 {
        cx.violate(
            Check::Bug("folio_get: VM_BUG_ON_FOLIO(folio_ref_zero_or_close_to_overflow)"),
            format!("folio {head} refcount was {old}"),
        );
    }
}

/// `include/linux/mm.h` `folio_put_refs` / `folio_put`: a fully ordered
/// decrement; the last put of a ZONE_DEVICE folio calls
/// `free_zone_device_folio`.
pub fn folio_put_refs(cx: &Cx, head: u64, nr: i32) {
    let f = &cx.w.frames[head as usize];
    // The huge zero folio is refcounted (GUP pins it); the zero page never.
    if f.kind == FrameKind::Zero && head != HUGE_ZERO_PFN {
        cx.violate(
            Check::Bug("folio_put: zero page is never refcounted"),
            format!("put on zero folio {head}"),
        );
        return;
    }
    let old = ref_add(cx, head, -nr, Ordering::SeqCst, "folio_put");

    if old == nr && f.kind == FrameKind::Dax {
        free_zone_device_folio(cx, head);
    }
}

/// `include/linux/mm.h` `folio_put`
pub fn folio_put(cx: &Cx, head: u64) {
    folio_put_refs(cx, head, 1)
}

/// Restore the per-frame `pgmap` (split path helper): every DAX frame points
/// back to the one pgmap.
pub fn page_pgmap(cx: &Cx, pfn: u64) -> Option<u8> {
    let f = &cx.w.frames[pfn as usize];
    if f.kind == FrameKind::Dax {
        // Only the split writes a head's pgmap, and it reads it here under
        // the same xa_lock: no racing writer, so no scheduling point.
        f.pgmap.peek()
    } else {
        None
    }
}

/// `include/linux/mm.h` `pfn_folio`: `page_folio(pfn_to_page(pfn))` without any
/// lock or reference (`compound_head` is read with READ_ONCE, as above).
pub fn pfn_folio(cx: &Cx, pfn: u64) -> Option<u64> {
    page_folio(cx, pfn)
}

/// `include/linux/page-flags.h` `folio_test_anon`: bit 0 of
/// `folio->mapping`, a plain lockless read. No modelled `address_space`
/// pointer has it; the counter bits an H1 overlay leaves do
/// (`world::MAPPING_GARBAGE`). Recorded for `daxcheck why`, untracked by
/// loom (`access::read_untracked`).
pub fn folio_test_anon(cx: &Cx, head: u64, site: &'static str) -> bool {
    let fr = &cx.w.frames[head as usize];
    let m = crate::access::read_untracked(cx, head, "mapping", &fr.mapping, Val::Mapping);
    let anon = m == Some(crate::world::MAPPING_GARBAGE)
        && fr.mapping_bits.load(std::sync::atomic::Ordering::SeqCst) & 1 != 0;
    if anon {
        cx.note(format!(
            "{site}: folio_test_anon(folio {head}) is true: its mapping word holds counter bits"
        ));
    }
    anon
}

/// `mm/page-writeback.c` `folio_mark_dirty` → `folio_mapping`: a plain
/// lockless read of `folio->mapping` (NULL when a flag bit is set), then
/// `mapping->a_ops->dirty_folio` (`noop_dirty_folio` for DAX) through it.
/// The dereference of an evicted inode's mapping is reported (B16's class).
pub fn folio_mark_dirty(cx: &Cx, head: u64) {
    let fr = &cx.w.frames[head as usize];
    let m = crate::access::read_untracked(cx, head, "mapping", &fr.mapping, Val::Mapping);
    match m {
        None | Some(crate::world::MAPPING_GARBAGE) => {}
        Some(f) if cx.w.file(f).evicted.peek() => cx.violate(
            Check::Bug("use-after-free of an evicted inode's address_space"),
            format!(
                "folio_mark_dirty: folio {head}'s mapping {} was evicted and freed",
                crate::trace::file_name(f)
            ),
        ),
        Some(_) => {}
    }
}
