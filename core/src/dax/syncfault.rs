//! `fs/dax.c` (v6.15, 00c010e1): synchronous (MAP_SYNC) write faults (spec
//! §3.6): after `dax_fault_iter` returned NEEDDSYNC with the entry inserted
//! but nothing mapped, the FS handler, still holding its fault lock shared,
//! fsyncs and then maps the pfn writable with `dax_insert_pfn_mkwrite`.
//!
//! I17 is checked where the writable mapping is made: the re-found entry
//! must name the pfn being mapped (H4: the kernel never compares them) and
//! the block's metadata must be durable.

use crate::cx::Cx;
use crate::dax::entry_lock::Lookup;
use crate::dax::entry_lock::{
    dax_lock_entry, dax_unlock_entry, get_next_unlocked_entry, put_unlocked_entry,
};
use crate::entry::*;
use crate::mm::folio::{folio_put, folio_ref_inc, page_folio};
use crate::mm::huge_memory::vmf_insert_folio_pmd;
use crate::mm::memory::vmf_insert_page_mkwrite;
use crate::trace::file_name;
use crate::vfs::vfs_fsync_range;
use crate::violation::{Check, Inv};
use crate::vm::{Fault, Vmf};
use crate::wait::WakeMode;
use crate::world::File;

/// `fs/dax.c` `dax_finish_sync_fault`: fsync the faulting range, then insert
/// the pfn writable. `order` is 0 or PMD_ORDER.
pub fn dax_finish_sync_fault(cx: &Cx, vmf: &Vmf, pfn: u64, order: u32) -> Fault {
    let _f = cx.enter("dax_finish_sync_fault");
    let start = align_index(vmf.index, order);
    let end = start + (1 << order) - 1;
    if vfs_fsync_range(cx, File(vmf.file), start, end) != 0 {
        return Fault::SigBus;
    }
    dax_insert_pfn_mkwrite(cx, vmf, pfn, order)
}

/// `fs/dax.c` `dax_insert_pfn_mkwrite`: re-find the entry (waiting while it is
/// locked), tag it DIRTY, lock it, and map `pfn` (the one passed in, not the
/// entry's) writable with the usual temporary reference.
pub fn dax_insert_pfn_mkwrite(cx: &Cx, vmf: &Vmf, pfn: u64, order: u32) -> Fault {
    let _f = cx.enter("dax_insert_pfn_mkwrite");
    let file = vmf.file;
    let index = align_index(vmf.index, order);
    let xa = cx.xa_lock(file);
    let (mut xa, l) = get_next_unlocked_entry(cx, file, xa, index, order);
    let (base, e) = match l {
        Lookup::Entry { base, e } if !(order == 0 && dax_is_pmd_entry(e)) => (base, e),
        // Raced with someone splitting or removing the entry: retry.
        _ => {
            put_unlocked_entry(cx, file, index, l, WakeMode::Next);
            drop(xa);
            crate::mm::fault_post::fault_raced(cx);
            cx.note("dax_insert_pfn_mkwrite: no entry of this order: NOPAGE");
            return Fault::NoPage;
        }
    };
    xa.dirty.insert(base);
    cx.note(format!("xas_set_mark DIRTY {}[{base}]", file_name(file)));
    dax_lock_entry(cx, &mut xa, file, base, e);
    drop(xa);
    check_sync_insert(cx, file, base, e, pfn, order);

    // pfn_folio(pfn): the folio of the pfn handed back by the fault.
    let Some(folio) = page_folio(cx, pfn) else {
        dax_unlock_entry(cx, file, base, e);
        return Fault::SigBus;
    };
    folio_ref_inc(cx, folio);
    let ret = if order == 0 {
        // The kernel maps `&folio->page`, the folio's head page: the same
        // page as `pfn` unless the folio grew around it (only in H4's race).
        vmf_insert_page_mkwrite(cx, vmf.mm, file, vmf.index, folio, true)
    } else if order == PMD_ORDER {
        vmf_insert_folio_pmd(cx, vmf.mm, file, vmf.index, folio, true)
    } else {
        Fault::Fallback
    };
    folio_put(cx, folio);
    dax_unlock_entry(cx, file, base, e);
    ret
}

/// I17 at the point a sync fault makes its mapping writable (model check,
/// shadows only): the entry it re-found names the pfn it is about to map,
/// and the metadata of those blocks is durable (the fsync happened and
/// nothing re-dirtied it).
fn check_sync_insert(cx: &Cx, file: u8, base: u64, e: u64, pfn: u64, order: u32) {
    let epfn = dax_to_pfn(e);
    if dax_is_zero_entry(e) || dax_is_empty_entry(e) || epfn != pfn {
        cx.violate(
            Check::Inv(Inv::SyncFaultDurability),
            format!(
                "H4: dax_insert_pfn_mkwrite maps pfn {pfn} writable at {}[{base}] but the entry it re-found is {}",
                file_name(file),
                crate::trace::entry_str(e)
            ),
        );
        return;
    }
    let ino = cx.w.file(file);
    for i in base..base + (1 << order) {
        if ino.meta_dirty.get(i as usize).is_some_and(|c| c.peek()) {
            cx.violate(
                Check::Inv(Inv::SyncFaultDurability),
                format!(
                    "sync fault maps {}[{i}] writable while its block metadata is not durable",
                    file_name(file)
                ),
            );
        }
    }
}
