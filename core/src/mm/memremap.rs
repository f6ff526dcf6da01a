//! `mm/memremap.c` (v6.15): `free_zone_device_folio` for
//! MEMORY_DEVICE_FS_DAX, and the wake it sends to break-layout.

use crate::config::Mutant;
use crate::cx::Cx;
use crate::dax::folio::dax_split_folio;
use crate::mm::folio::{folio_order, folio_test_anon};
use crate::violation::Check;
use crate::wait::{WaitKey, WakeMode};

/// `mm/memremap.c` `free_zone_device_folio` for MEMORY_DEVICE_FS_DAX: no
/// callback, no refcount reset, `mapping` kept; uncharge the memcg and wake
/// break-layout.
pub fn free_zone_device_folio(cx: &Cx, head: u64) {
    let _f = cx.enter("free_zone_device_folio");
    let w = &cx.w;
    let f = &w.frames[head as usize];
    // A plain read of the first word, which the split's
    // clear_compound_head zeroes in the head until it restores pgmap (F1).
    // It is no scheduling point of its own: the explorers do not run a
    // split between the final decrement and this read (docs/simplifications.md).
    let pgmap = f.pgmap.peek();
    if cx.warn_on(
        pgmap.is_none(),
        "mm/memremap.c free_zone_device_folio: WARN_ON_ONCE(!pgmap)",
        || format!("folio {head} has no pgmap"),
    ) {
        return;
    }
    if w.has(Mutant::B8) {
        // v8: `WARN_ON_ONCE(!pgmap->ops)` and return, before the wake. The
        // B8 world is a virtio-fs/dcssblk pgmap, which has no ops.
        cx.warn_on(
            true,
            "mm/memremap.c free_zone_device_folio (v8): WARN_ON_ONCE(!pgmap->ops)",
            || format!("folio {head}: pgmap without ops, wake skipped"),
        );
        return;
    }
    // mem_cgroup_uncharge reads folio->memcg_data: a former page[1] that
    // kept `_nr_pages` there hands a bogus memcg to the uncharge (B3).
    let memcg = f.memcg.get();
    if memcg != 0 {
        cx.violate(
            Check::Bug("mem_cgroup_uncharge: bogus memcg_data"),
            format!("folio {head} memcg_data = {memcg} (stale _nr_pages)"),
        );
    }
    // `if (folio_test_anon(folio))`: a plain read of `mapping`, which a
    // split running in F1's window sets to NULL (a value-changing race,
    // harmless: neither value is anonymous; recorded for `daxcheck why`).
    // When true the kernel clears PG_anon_exclusive, a flag the model does
    // not keep.
    folio_test_anon(cx, head, "free_zone_device_folio");
    if w.has(Mutant::M9) {
        let order = folio_order(cx, head);
        if order > 0 {
            dax_split_folio(cx, head, order);
        }
    }
    if w.has(Mutant::M29) {
        return;
    }
    // M12: the wake names `&folio->_refcount`, not `&folio->page`.
    let key = if w.has(Mutant::M12) {
        WaitKey::VarRefcount { pfn: head }
    } else {
        WaitKey::Var { pfn: head }
    };
    wake_up_var(cx, key);
}

/// `kernel/sched/wait_bit.c` `wake_up_var(&folio->page)`.
pub fn wake_up_var(cx: &Cx, key: WaitKey) {
    cx.w.var_wq.wake_up(cx, key, WakeMode::Next);
}
