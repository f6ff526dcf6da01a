//! `mm/page_alloc.c` (v6.15): making a compound page.

use crate::cx::Cx;
use crate::sync::Ordering;
use crate::trace::{Val, What};

/// `mm/page_alloc.c` `prep_compound_page`: head bit, tails' head pointers
/// (clobbering their pgmap storage), and the order and `_nr_pages` in `page[1]`.
pub(crate) fn prep_compound_page(cx: &Cx, head: u64, order: u32) {
    let _f = cx.enter("prep_compound_page");
    let w = &cx.w;
    cx.field(
        head,
        "PG_head",
        &w.frames[head as usize].head,
        true,
        Val::Flag,
    );
    for p in head + 1..head + (1 << order) {
        let fr = &w.frames[p as usize];
        cx.write_once(p, "compound_head", &fr.compound_head, Some(head), Val::Head);
        cx.write_once(p, "pgmap", &fr.pgmap, None, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        });
    }
    let p1 = &w.frames[head as usize + 1];
    cx.field(head + 1, "folio order", &p1.order, order as u8, |v| {
        Val::Num(v as u64)
    });
    cx.field(head + 1, "_nr_pages", &p1.memcg, 1 << order, Val::Num);
    // prep_compound_head: the folio counters in page[1] start afresh
    // (`_large_mapcount`/`_entire_mapcount` = -1, `_pincount` = 0 in the
    // kernel; 0 here), whatever a pin or mapping of the old folio left.
    // `_mm_ids`/`_mm_id_mapcount` too (model-only while page[1] is a tail).
    *p1.mm_ids() = crate::world::MmIds::default();
    // The counters overwrite whatever an H1 overlay left in page[1]'s
    // `mapping` word; a tail's word is not shown as a mapping.
    if p1.mapping.peek() == Some(crate::world::MAPPING_GARBAGE) {
        crate::dax::folio::set_mapping(cx, head + 1, None);
    }
    for (which, c) in [
        ("large_mapcount", &p1.large_mapcount),
        ("entire_mapcount", &p1.entire_mapcount),
        ("_pincount", &p1.pincount),
    ] {
        let old = c.peek();
        if old != 0 {
            c.fetch_add(-old, Ordering::Relaxed);
            cx.ev(What::Mapcount {
                pfn: head,
                which,
                old,
                new: 0,
            });
        }
    }
}
