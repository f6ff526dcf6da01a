//! `fs/dax.c` (v6.15, 00c010e1): folio association and split (spec §3.3):
//! `dax_associate_entry`, `dax_folio_put` with its split back to order-0
//! pages, `dax_disassociate_entry` and `dax_busy_page`.

use crate::access;
use crate::config::{KernelState, Mutant};
use crate::cx::Cx;
use crate::dax::entry_lock::assert_xa_held;
use crate::entry::*;
use crate::mm::folio::{folio_mapcount, folio_order, folio_ref_count, page_folio, page_pgmap};
use crate::mm::page_alloc::prep_compound_page;
use crate::trace::{file_name, mapping_name, Val};
use crate::violation::{Check, Inv};

/// `fs/dax.c` `dax_to_folio`: `page_folio(pfn_to_page(dax_to_pfn(e)))`.
pub(crate) fn dax_to_folio(cx: &Cx, e: u64) -> Option<u64> {
    page_folio(cx, dax_to_pfn(e))
}

/// Whether the zero/empty guard comes after the translation (the baseline,
/// B2) or before it (the 2026 fix).
fn guard_after_translate(cx: &Cx) -> bool {
    cx.w.cfg.kernel != KernelState::Y2026 || cx.w.cfg.any(&[Mutant::M17, Mutant::B2])
}

/// `folio->mapping = m`: a plain store; lockless `READ_ONCE` readers see it
/// through the marked mirror, written first.
pub(crate) fn set_mapping(cx: &Cx, f: u64, m: Option<u8>) {
    let fr = &cx.w.frames[f as usize];
    if fr.mapping_once.peek() != m {
        cx.write_once(
            f,
            "mapping (READ_ONCE view)",
            &fr.mapping_once,
            m,
            Val::Mapping,
        );
    }
    cx.field(f, "mapping", &fr.mapping, m, Val::Mapping);
}

/// `fs/dax.c` `dax_folio_is_shared`: mapping NULL and the union cell, read as
/// `share`, non-zero.
pub fn dax_folio_is_shared(cx: &Cx, f: u64) -> bool {
    let fr = &cx.w.frames[f as usize];
    access::read(cx, f, "mapping", &fr.mapping, Val::Mapping).is_none()
        && access::read(cx, f, "share", &fr.index_share, Val::Num) != 0
}

/// `fs/dax.c` `dax_folio_make_shared`: mapping := NULL, then the cell becomes
/// share = 1.
fn dax_folio_make_shared(cx: &Cx, f: u64) {
    let fr = &cx.w.frames[f as usize];
    set_mapping(cx, f, None);
    cx.field(f, "share", &fr.index_share, 1, Val::Num);
    fr.stale_index
        .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
}

/// `fs/dax.c` `dax_folio_init`: make the folio compound for a PMD entry.
fn dax_folio_init(cx: &Cx, e: u64) {
    let _f = cx.enter("dax_folio_init");
    let Some(f) = dax_to_folio(cx, e) else { return };
    let order = dax_entry_order(e);
    let cur = folio_order(cx, f);
    cx.warn_on(
        cur != 0,
        "fs/dax.c dax_folio_init: WARN_ON_ONCE(folio_order(folio))",
        || format!("folio {f} already has order {cur}"),
    );
    if order > 0 {
        prep_compound_page(cx, f, order);
        let r = folio_ref_count(cx, f);
        cx.warn_on(
            r != 0,
            "fs/dax.c dax_folio_init: WARN_ON_ONCE(folio_ref_count(folio))",
            || format!("folio {f} refcount {r}"),
        );
    }
}

/// `fs/dax.c` `dax_associate_entry`
pub(crate) fn dax_associate_entry(cx: &Cx, file: u8, e: u64, index: u64, shared: bool) {
    let _f = cx.enter("dax_associate_entry");
    assert_xa_held(cx, file, "dax_associate_entry");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    if dax_is_zero_entry(e) || dax_is_empty_entry(e) {
        return;
    }
    let index = align_index(index, dax_entry_order(e));
    let Some(f) = dax_to_folio(cx, e) else { return };
    let fr = &cx.w.frames[f as usize];
    let owned = || access::read(cx, f, "mapping", &fr.mapping, Val::Mapping).is_some();
    if shared && (owned() || dax_folio_is_shared(cx, f)) {
        if owned() {
            dax_folio_make_shared(cx, f);
        }
        let share = access::read(cx, f, "share", &fr.index_share, Val::Num);
        cx.warn_on(
            share == 0,
            "fs/dax.c dax_associate_entry: WARN_ON_ONCE(!folio->share)",
            || format!("folio {f}"),
        );
        let fo = folio_order(cx, f);
        cx.warn_on(dax_entry_order(e) != fo, "fs/dax.c dax_associate_entry: WARN_ON_ONCE(dax_entry_order(entry) != folio_order(folio))", || {
            format!("entry order {} folio {f} order {fo}", dax_entry_order(e))
        });
        cx.field(f, "share", &fr.index_share, share + 1, Val::Num);
    } else {
        let owner = access::read(cx, f, "mapping", &fr.mapping, Val::Mapping);
        cx.warn_on(
            owner.is_some(),
            "fs/dax.c dax_associate_entry: WARN_ON_ONCE(folio->mapping)",
            || format!("folio {f} still owned by {}", mapping_name(owner)),
        );
        // I7: a fresh association reuses the block; it must be idle.
        let (r, o) = (cx.w.peek_ref_count(f), folio_order(cx, f));
        if r != 0 || o != 0 {
            // dax_folio_init WARNs on the refcount only for a PMD entry.
            let marker = if dax_entry_order(e) == 0 {
                " (order-0 entry: a model hazard marker, no kernel WARN)"
            } else {
                ""
            };
            cx.violate(
                Check::Inv(Inv::NoBlockReuseWhileReferenced),
                format!(
                    "folio {f} associated with {}[{index}] at refcount {r}, order {o}{marker}",
                    file_name(file)
                ),
            );
        }
        dax_folio_init(cx, e);
        let Some(f) = dax_to_folio(cx, e) else { return };
        let fr = &cx.w.frames[f as usize];
        set_mapping(cx, f, Some(file));
        cx.field(f, "index", &fr.index_share, index, Val::Num);
        fr.stale_index
            .store(index, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `fs/dax.c` `dax_folio_put`: drop one association; the last one clears
/// `mapping` and splits a compound folio back into order-0 pages. Returns the
/// shares left.
pub(crate) fn dax_folio_put(cx: &Cx, f: u64) -> u64 {
    let _f = cx.enter("dax_folio_put");
    let w = &cx.w;
    let fr = &w.frames[f as usize];
    if fr.kind != crate::world::FrameKind::Dax {
        cx.violate(
            Check::Bug("fs/dax.c dax_folio_put on a folio that is not FS_DAX"),
            format!("dax_folio_put on pfn {f} (zero page, huge zero folio or RAM)"),
        );
    }
    let left = if dax_folio_is_shared(cx, f) {
        let s = access::read(cx, f, "share", &fr.index_share, Val::Num) - 1;
        cx.field(f, "share", &fr.index_share, s, Val::Num);
        s
    } else {
        0
    };
    if left != 0 {
        return left;
    }
    // I9: the clear-and-split assumes the folio is MM-idle.
    let (r, m) = (cx.w.peek_ref_count(f), cx.w.peek_mapcount(f));
    if r != 0 || m != 0 {
        // The kernel's WARN is in the split, which an order-0 folio skips.
        let small = !fr.head.peek();
        let marker = if small {
            " (order 0: a model hazard marker, no kernel WARN)"
        } else {
            ""
        };
        cx.violate(
            Check::Inv(Inv::SplitOnlyWhenIdle),
            format!("folio {f} disassociated at refcount {r}, mapcount {m}{marker}"),
        );
    }
    set_mapping(cx, f, None);
    let order = folio_order(cx, f);
    let reset_2026 = w.cfg.kernel == KernelState::Y2026;
    if reset_2026 {
        // dax_folio_reset_order(): clears share for every order.
        cx.field(f, "share", &fr.index_share, 0, Val::Num);
    }
    if order == 0 {
        // v6.15: the union cell keeps the old index (H5).
        return 0;
    }
    if w.cfg.any(&[Mutant::M7, Mutant::M9]) {
        // M7: no split at all; M9: the split waits for refcount 0.
        return 0;
    }
    dax_split_folio(cx, f, order);
    0
}

/// `fs/dax.c` `dax_folio_put`'s split (no function of its own in the
/// kernel): `folio_reset_order`, then every page back to an order-0 folio
/// with its pgmap restored.
pub(crate) fn dax_split_folio(cx: &Cx, f: u64, order: u32) {
    let w = &cx.w;
    if !w.cfg.any(&[Mutant::M8, Mutant::B3]) {
        // folio_reset_order()
        let p1 = &w.frames[f as usize + 1];
        cx.field(f + 1, "folio order", &p1.order, 0, |v| Val::Num(v as u64));
        cx.field(f + 1, "_nr_pages", &p1.memcg, 0, Val::Num);
    }
    for p in f..f + (1 << order) {
        // Read from the head on every iteration, as the kernel does.
        let pgmap = page_pgmap(cx, f);
        let pf = &w.frames[p as usize];
        if p == f {
            cx.field(p, "PG_head", &pf.head, false, Val::Flag);
            // ZONE_DEVICE pages keep `pgmap` in the first word, which is
            // `compound_head`: clear_compound_head() on the head writes 0
            // there, so the head's pgmap is NULL until it is restored below.
            cx.write_once(p, "pgmap (compound_head word)", &pf.pgmap, None, |v| {
                Val::Num(v.unwrap_or(0) as u64)
            });
        } else {
            cx.write_once(p, "compound_head", &pf.compound_head, None, Val::Head);
        }
        set_mapping(cx, p, None);
        cx.write_once(p, "pgmap", &pf.pgmap, pgmap, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        });
        cx.field(p, "share", &pf.index_share, 0, Val::Num);
        let r = folio_ref_count(cx, p);
        cx.warn_on(
            r != 0,
            "fs/dax.c dax_folio_put: WARN_ON_ONCE(folio_ref_count(page_folio(page)))",
            || format!("page {p} refcount {r} at split"),
        );
    }
}

/// `fs/dax.c` `dax_disassociate_entry`
pub(crate) fn dax_disassociate_entry(cx: &Cx, file: u8, e: u64) {
    let _f = cx.enter("dax_disassociate_entry");
    assert_xa_held(cx, file, "dax_disassociate_entry");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    let guarded = !cx.w.cfg.any(&[Mutant::M16, Mutant::B1]);
    if guarded && (dax_is_zero_entry(e) || dax_is_empty_entry(e)) {
        return;
    }
    if let Some(f) = dax_to_folio(cx, e) {
        dax_folio_put(cx, f);
    }
}

/// `fs/dax.c` `dax_busy_page`: the head page of a folio whose references exceed
/// its mappings, or None.
pub(crate) fn dax_busy_page(cx: &Cx, e: u64) -> Option<u64> {
    let _f = cx.enter("dax_busy_page");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    if dax_is_zero_entry(e) || dax_is_empty_entry(e) {
        return None;
    }
    let f = dax_to_folio(cx, e)?;
    let r = folio_ref_count(cx, f);
    let m = if cx.w.has(Mutant::M43) {
        head_page_mapcount(cx, f)
    } else {
        folio_mapcount(cx, f)
    };
    let busy = if cx.w.cfg.any(&[Mutant::M10, Mutant::B21]) {
        r > 1
    } else if cx.w.has(Mutant::M14) {
        r != 0
    } else if cx.w.has(Mutant::M42) {
        false
    } else {
        r - m != 0
    };
    cx.note(format!(
        "folio {f} refcount {r} mapcount {m}: {}",
        if busy { "busy" } else { "idle" }
    ));
    busy.then_some(f)
}

/// M43's read: the head page's own `_mapcount`, which counts PTE mappings of
/// that page only (a PMD mapping is in `_entire_mapcount`/`_large_mapcount`).
fn head_page_mapcount(cx: &Cx, f: u64) -> i32 {
    let m = cx.w.frames[f as usize]
        .mapcount
        .load(crate::sync::Ordering::Acquire);
    cx.ev(crate::trace::What::Read {
        pfn: f,
        what: "mapcount",
        val: m,
    });
    m
}
