//! `fs/dax.c` (v6.15, 00c010e1): invalidation (spec §3.9):
//! `__dax_invalidate_entry` and its two callers' entry points, and
//! `__dax_clear_dirty_range`, which a CoW write runs first so that dirty
//! entries can be invalidated too.

use crate::config::Mutant;
use crate::cx::Cx;
use crate::dax::entry_lock::Lookup;
use crate::dax::entry_lock::{
    get_next_unlocked_entry, put_unlocked_entry, wait_entry_unlocked_exclusive,
};
use crate::dax::folio::dax_disassociate_entry;
use crate::entry::*;
use crate::trace::{file_name, What};
use crate::wait::WakeMode;

/// `fs/dax.c` `__dax_invalidate_entry`: remove the entry at `index` once it is
/// unlocked; unless `trunc`, keep it if it is DIRTY or TOWRITE. Wakes every
/// waiter (WAKE_ALL, since the B11 fix). Returns 1 if an entry was removed.
pub fn __dax_invalidate_entry(cx: &Cx, file: u8, index: u64, trunc: bool) -> i32 {
    let _f = cx.enter("__dax_invalidate_entry");
    let xa = cx.xa_lock(file);
    let (mut xa, l) = get_next_unlocked_entry(cx, file, xa, index, 0);
    let mut ret = 0;
    if let Lookup::Entry { base, e } = l {
        let dirty = xa.dirty.contains(&base) || xa.towrite.contains(&base);
        if !trunc && dirty {
            cx.note(format!(
                "{}[{base}] is DIRTY/TOWRITE: kept",
                file_name(file)
            ));
        } else {
            dax_disassociate_entry(cx, file, e);
            let old = xa.store(base, dax_entry_order(e), None);
            cx.ev(What::XaStore {
                file,
                index: base,
                old,
                new: None,
            });
            xa.nrpages -= dax_entry_pages(e) as i64;
            crate::access::nrpages(cx, file, xa.nrpages + dax_entry_pages(e) as i64, xa.nrpages);
            ret = 1;
        }
    }
    // M3 / B11 (pre-2021): wake only the next waiter; one that finds NULL
    // passes nothing on, and the rest sleep forever.
    let mode = if cx.w.cfg.any(&[Mutant::M3, Mutant::B11]) {
        WakeMode::Next
    } else {
        WakeMode::All
    };
    put_unlocked_entry(cx, file, index, l, mode);
    drop(xa);
    ret
}

/// `fs/dax.c` `dax_invalidate_mapping_entry_sync`: invalidate the entry at
/// `index` if it is clean. Returns 1 if it was removed.
pub fn dax_invalidate_mapping_entry_sync(cx: &Cx, file: u8, index: u64) -> i32 {
    let _f = cx.enter("dax_invalidate_mapping_entry_sync");
    __dax_invalidate_entry(cx, file, index, false)
}

/// `fs/dax.c` `__dax_clear_dirty_range`: wait for each entry in `[start, end]`
/// to be unlocked and clear its DIRTY and TOWRITE marks, passing the wake on.
pub fn __dax_clear_dirty_range(cx: &Cx, file: u8, start: u64, end: u64) {
    let _f = cx.enter("__dax_clear_dirty_range");
    let mut xa = cx.xa_lock(file);
    let mut cursor = start;
    while let Some((base, e)) = xa.find_from(cursor, end) {
        let (g, xas, got) = wait_entry_unlocked_exclusive(cx, file, xa, base, e);
        xa = g;
        let Some((b, e2)) = got else {
            cursor = xas + 1;
            continue;
        };
        let d = xa.dirty.remove(&b);
        let t = xa.clear_towrite(b);
        if d || t {
            cx.note(format!(
                "xas_clear_mark DIRTY/TOWRITE {}[{b}]",
                file_name(file)
            ));
        }
        put_unlocked_entry(
            cx,
            file,
            b,
            Lookup::Entry { base: b, e: e2 },
            WakeMode::Next,
        );
        cursor = xa.range_end(b);
    }
}
