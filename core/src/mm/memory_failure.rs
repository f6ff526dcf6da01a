//! `mm/memory-failure.c` (v6.15): the two kill paths for FS-DAX pages (spec
//! §3.11). Left out: `hwpoison_filter`, the pgmap type switch, `mf_mutex`
//! (scenarios run one memory failure at a time), and the signals themselves:
//! "kill" is the unmap of `unmap_and_kill`, over the locked entry's range
//! rather than over the largest mapping size of the collected tasks.

use crate::cx::Cx;
use crate::dax::lock_folio::{
    check_mf_lock, dax_lock_folio, dax_lock_mapping_entry, dax_unlock_folio,
    dax_unlock_mapping_entry, deref_mapping, locked_through, read_index,
};
use crate::entry::*;
use crate::mm::folio::pfn_folio;
use crate::mm::memory::unmap_mapping_pages;
use crate::trace::Val;
use crate::violation::{Check, Inv};

/// `mm/memory-failure.c` `EBUSY`; functions return the negated value, as the
/// kernel does.
pub const EBUSY: i32 = 16;

/// `include/linux/page-flags.h` `SetPageHWPoison`
fn set_page_hwpoison(cx: &Cx, pfn: u64) {
    let fr = &cx.w.frames[pfn as usize];
    cx.field(pfn, "PG_hwpoison", &fr.hwpoison, true, Val::Flag);
}

/// `mm/memory-failure.c` `unmap_and_kill`: unmap the poisoned range from every
/// process mapping it, over the locked entry's range (then SIGBUS, not
/// modelled).
fn unmap_and_kill(cx: &Cx, file: u8, index: u64, cookie: u64) {
    let _f = cx.enter("unmap_and_kill");
    let base = align_index(index, dax_entry_order(cookie));
    unmap_mapping_pages(cx, file, base, base + dax_entry_pages(cookie) - 1);
}

/// `mm/memory-failure.c` `mf_generic_kill_procs` for an FS_DAX page the
/// filesystem did not claim: lock the folio's entry, poison, unmap it
/// everywhere, unlock. Returns 0 or -EBUSY.
pub fn mf_generic_kill_procs(cx: &Cx, pfn: u64) -> i32 {
    let _f = cx.enter("mf_generic_kill_procs");
    let Some(folio) = pfn_folio(cx, pfn) else {
        return -EBUSY;
    };
    let cookie = dax_lock_folio(cx, folio);
    if cookie == 0 {
        cx.note(format!("folio {folio} has no single owner: -EBUSY"));
        return -EBUSY;
    }
    let fr = &cx.w.frames[folio as usize];
    let locked = locked_through(cx, cookie);
    match locked {
        Some(l) => check_mf_lock(cx, folio, l, "mf_generic_kill_procs after dax_lock_folio"),
        None => cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "T{} has cookie for folio {folio} but owns no such entry lock",
                cx.tid
            ),
        ),
    }
    set_page_hwpoison(cx, folio);
    // collect_procs() returns nothing for a NULL mapping; otherwise
    // unmap_and_kill(folio->mapping, folio->index) unmaps.
    let m = fr.mapping.get();
    if m.is_some() {
        if let Some(m) = deref_mapping(cx, folio, m, "mf_generic_kill_procs: unmap_and_kill") {
            if let Some(l) = locked {
                check_mf_lock(cx, folio, l, "mf_generic_kill_procs before unmap_and_kill");
            }
            let index = read_index(cx, folio, "mf_generic_kill_procs");
            unmap_and_kill(cx, m, index, cookie);
        }
    }
    dax_unlock_folio(cx, folio, cookie);
    0
}

/// `mm/memory-failure.c` `mf_dax_kill_procs`: the FS holder path (XFS
/// `notify_failure` after its rmap lookup): per index, lock the entry, poison
/// its page, unmap, unlock.
pub fn mf_dax_kill_procs(cx: &Cx, file: u8, index: u64, count: u64) -> i32 {
    let _f = cx.enter("mf_dax_kill_procs");
    for i in index..index.saturating_add(count) {
        let (cookie, page) = dax_lock_mapping_entry(cx, file, i);
        if cookie == 0 {
            return -EBUSY;
        }
        if let Some(p) = page {
            set_page_hwpoison(cx, p);
            unmap_and_kill(cx, file, i, cookie);
        }
        dax_unlock_mapping_entry(cx, file, i, cookie);
    }
    0
}
