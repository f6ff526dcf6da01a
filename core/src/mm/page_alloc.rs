//! `mm/page_alloc.c` (v6.15): making a compound page.

use crate::cx::Cx;
use crate::trace::Val;

/// `mm/page_alloc.c` `prep_compound_page`: head bit, tails' head pointers
/// (clobbering their pgmap storage), and the order and `_nr_pages` in page[1].
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
        cx.field(p, "pgmap", &fr.pgmap, None, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        });
    }
    let p1 = &w.frames[head as usize + 1];
    cx.field(head + 1, "folio order", &p1.order, order as u8, |v| {
        Val::Num(v as u64)
    });
    cx.field(head + 1, "_nr_pages", &p1.memcg, 1 << order, Val::Num);
}
