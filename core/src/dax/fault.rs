//! `fs/dax.c` (v6.15, 00c010e1): the fault paths (spec §3.4–§3.6):
//! `grab_mapping_entry`, `dax_insert_entry`, `dax_fault_iter` and the PTE
//! and PMD fault entry points, which ask the filesystem for the block map
//! through its `iomap_ops`.

use crate::config::Mutant;
use crate::cx::Cx;
use crate::dax::entry_lock::Lookup;
use crate::dax::entry_lock::{
    dax_lock_entry, dax_unlock_entry, dax_wake_entry, get_next_unlocked_entry,
};
use crate::dax::folio::{dax_associate_entry, dax_disassociate_entry, dax_to_folio};
use crate::entry::*;
use crate::iomap::{Iomap, IomapOps};
use crate::mm::folio::{folio_get, folio_put, folio_ref_inc, page_folio};
use crate::mm::huge_memory::{set_huge_zero_pmd, split_huge_pmd, vmf_insert_folio_pmd};
use crate::mm::memory::{pmd_is_huge, pmd_is_table, unmap_mapping_pages, vmf_insert_page_mkwrite};
use crate::trace::What;
use crate::vm::{Fault, Vmf};
use crate::wait::WakeMode;
use crate::world::{HUGE_ZERO_PFN, ZERO_PFN};

/// `fs/dax.c` `grab_mapping_entry`: return the entry for `index` at `order`,
/// locked, creating an EMPTY placeholder if there is none.
pub fn grab_mapping_entry(cx: &Cx, file: u8, index: u64, order: u32) -> Result<(u64, u64), Fault> {
    let _f = cx.enter("grab_mapping_entry");
    let xa = cx.xa_lock(file);
    let (mut xa, found) = get_next_unlocked_entry(cx, file, xa, index, order);
    let mut found = match found {
        Lookup::Conflict => return Err(Fault::Fallback),
        l => l,
    };
    if let Lookup::Entry { base, e } = found {
        if order == 0 && dax_is_pmd_entry(e) && (dax_is_zero_entry(e) || dax_is_empty_entry(e)) {
            // PMD downgrade: keep the entry stable while xa_lock is dropped.
            dax_lock_entry(cx, &mut xa, file, base, e);
            if dax_is_zero_entry(e) && !cx.w.has(Mutant::M23) {
                drop(xa);
                unmap_mapping_pages(cx, file, base, base + PG_PMD_NR - 1);
                xa = cx.xa_lock(file);
            }
            dax_disassociate_entry(cx, file, e);
            let old = xa.store(base, PMD_ORDER, None);
            xa.owners.remove(&base);
            cx.ev(What::XaStore {
                file,
                index: base,
                old,
                new: None,
            });
            dax_wake_entry(cx, file, index, e, WakeMode::All);
            xa.nrpages -= PG_PMD_NR as i64;
            crate::access::nrpages(cx, file, xa.nrpages + PG_PMD_NR as i64, xa.nrpages);
            found = Lookup::None;
        }
    }
    if let Lookup::Entry { base, e } = found {
        dax_lock_entry(cx, &mut xa, file, base, e);
        return Ok((base, e));
    }
    let base = align_index(index, order);
    let e = DAX_EMPTY | if order > 0 { DAX_PMD } else { 0 };
    let old = xa.store(base, order, Some(e | DAX_LOCKED));
    xa.owners.insert(base, cx.tid);
    cx.ev(What::XaStore {
        file,
        index: base,
        old,
        new: Some(e | DAX_LOCKED),
    });
    xa.nrpages += 1 << order;
    crate::access::nrpages(cx, file, xa.nrpages - (1 << order), xa.nrpages);
    Ok((base, e))
}

/// `fs/dax.c` `dax_insert_entry`: replace a placeholder (or, for a shared
/// extent, any entry) by the real entry and move the folio association with it.
pub(crate) fn dax_insert_entry(cx: &Cx, vmf: &Vmf, entry: u64, new: u64, shared: bool) -> u64 {
    let _f = cx.enter("dax_insert_entry");
    let file = vmf.file;
    let base = align_index(vmf.index, dax_entry_order(entry));
    let dirty = vmf.write && !vmf.sync;
    let w = &cx.w;
    let unmap_shared = shared && !w.has(Mutant::M38);
    if unmap_shared || (dax_is_zero_entry(entry) && !dax_is_zero_entry(new)) {
        unmap_mapping_pages(cx, file, base, base + dax_entry_pages(entry) - 1);
    }
    let replace = shared || dax_is_zero_entry(entry) || dax_is_empty_entry(entry);
    if replace && w.has(Mutant::M1) {
        // The association moved before the lock that serialises it.
        dax_disassociate_entry(cx, file, entry);
        dax_associate_entry(cx, file, new, vmf.index, shared);
    }
    let mut xa = cx.xa_lock(file);
    let mut entry = entry;
    if !replace && w.has(Mutant::B14) && dax_entry_order(entry) != dax_entry_order(new) {
        // Pre-1571c029a2ff: a PTE fault inside a PMD entry moves the
        // association to the PTE's page; the PMD entry stays.
        dax_disassociate_entry(cx, file, entry);
        dax_associate_entry(cx, file, new, vmf.index, shared);
    }
    if replace {
        if !w.has(Mutant::M1) {
            dax_disassociate_entry(cx, file, entry);
            dax_associate_entry(cx, file, new, vmf.index, shared);
        }
        let nbase = align_index(vmf.index, dax_entry_order(new));
        let old = dax_lock_entry(cx, &mut xa, file, nbase, new);
        cx.ev(What::XaStore {
            file,
            index: nbase,
            old,
            new: Some(new | DAX_LOCKED),
        });
        cx.warn_on(old != Some(entry | DAX_LOCKED), "fs/dax.c dax_insert_entry: WARN_ON_ONCE(old != xa_mk_value(xa_to_value(entry) | DAX_LOCKED))", || {
            format!("replaced {:?}, expected {}", old.map(crate::trace::entry_str), crate::trace::entry_str(entry | DAX_LOCKED))
        });
        entry = new;
    }
    // Marks go on the canonical slot the xas points at.
    let ebase = xa
        .slot_of(vmf.index)
        .unwrap_or(align_index(vmf.index, dax_entry_order(entry)));
    if dirty {
        xa.dirty.insert(ebase);
    }
    if vmf.write && shared {
        xa.towrite.insert(ebase);
    }
    entry
}

/// `fs/dax.c` `dax_load_hole`: map the shared zero page read-only, no
/// reference.
fn dax_load_hole(cx: &Cx, vmf: &Vmf, entry: u64) -> (u64, Fault) {
    let _f = cx.enter("dax_load_hole");
    let e = dax_insert_entry(
        cx,
        vmf,
        entry,
        dax_make_entry(ZERO_PFN, DAX_ZERO_PAGE),
        false,
    );
    (
        e,
        vmf_insert_page_mkwrite(cx, vmf.mm, vmf.file, vmf.index, ZERO_PFN, false),
    )
}

/// `fs/dax.c` `dax_pmd_load_hole`: map the huge zero folio, FALLBACK if the pmd
/// is not none.
pub(crate) fn dax_pmd_load_hole(cx: &Cx, vmf: &Vmf, entry: u64) -> (u64, Fault) {
    let _f = cx.enter("dax_pmd_load_hole");
    let e = dax_insert_entry(
        cx,
        vmf,
        entry,
        dax_make_entry(HUGE_ZERO_PFN, DAX_PMD | DAX_ZERO_PAGE),
        false,
    );
    (e, set_huge_zero_pmd(cx, vmf.mm, vmf.file, vmf.index))
}

/// `fs/dax.c` `dax_fault_iter`: insert the entry, take the temporary reference,
/// map, drop the temporary reference.
pub(crate) fn dax_fault_iter(
    cx: &Cx,
    vmf: &Vmf,
    entry: u64,
    map: Iomap,
    pmd: bool,
) -> (u64, Fault) {
    let _f = cx.enter("dax_fault_iter");
    let Some(pfn) = map.pfn else {
        if !vmf.write {
            return if pmd {
                dax_pmd_load_hole(cx, vmf, entry)
            } else {
                dax_load_hole(cx, vmf, entry)
            };
        }
        cx.note("write fault on a hole: no allocation modelled");
        return (entry, if pmd { Fault::Fallback } else { Fault::SigBus });
    };
    if pmd && !map.full {
        return (entry, Fault::Fallback);
    }
    let new = dax_make_entry(pfn, if pmd { DAX_PMD } else { 0 });
    // dax_fault_is_synchronous: IOMAP_WRITE && VM_SYNC && IOMAP_F_DIRTY.
    let vmf = &Vmf {
        sync: vmf.sync && vmf.write && map.dirty,
        ..*vmf
    };
    let entry = dax_insert_entry(cx, vmf, entry, new, map.shared);
    if let (true, Some(src)) = (vmf.write && map.shared, map.srcmap) {
        // dax_iomap_copy_around: the data outside the write comes from the
        // old block (the model moves no data).
        cx.note(format!("copy around: pfn {src} -> pfn {pfn}"));
    }
    let Some(folio) = dax_to_folio(cx, entry) else {
        return (entry, Fault::SigBus);
    };
    if vmf.sync {
        // dax_fault_synchronous_pfnp: hand the pfn back, map nothing and
        // take no reference; the FS fsyncs, then dax_finish_sync_fault.
        cx.pfnp.set(Some(pfn));
        cx.note(format!("NEEDDSYNC: pfn {pfn} returned to the FS"));
        return (entry, Fault::NeedDsync);
    }
    // The temporary reference: a raw increment, the refcount may be 0 (§4 Q2).
    if cx.w.has(Mutant::M2) {
        folio_get(cx, folio);
    } else {
        folio_ref_inc(cx, folio);
    }
    let ret = if pmd {
        match page_folio(cx, pfn) {
            Some(head) => vmf_insert_folio_pmd(cx, vmf.mm, vmf.file, vmf.index, head, vmf.write),
            None => Fault::SigBus,
        }
    } else {
        vmf_insert_page_mkwrite(cx, vmf.mm, vmf.file, vmf.index, pfn, vmf.write)
    };
    if !cx.w.has(Mutant::M27) {
        folio_put(cx, folio);
    }
    (entry, ret)
}

/// `include/linux/fs.h` `i_size_read`, in pages.
pub(crate) fn i_size(cx: &Cx, file: u8) -> u64 {
    cx.w.file(file).i_size.get()
}

/// `fs/dax.c` `dax_iomap_pte_fault`
pub fn dax_iomap_pte_fault(cx: &Cx, vmf: &Vmf, ops: &IomapOps) -> Fault {
    let _f = cx.enter("dax_iomap_pte_fault");
    if vmf.index >= i_size(cx, vmf.file) {
        cx.note("fault beyond i_size: SIGBUS");
        return Fault::SigBus;
    }
    let (_, entry) = match grab_mapping_entry(cx, vmf.file, vmf.index, 0) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let (entry, ret) = if pmd_is_huge(cx, vmf.mm, vmf.file, vmf.index) {
        (entry, Fault::NoPage)
    } else {
        let map = (ops.iomap_begin)(cx, vmf.file, vmf.index, 1, vmf.write);
        let r = dax_fault_iter(cx, vmf, entry, map, false);
        // iomap_iter: ->iomap_end before the entry is unlocked.
        if let Some(end) = ops.iomap_end {
            end(cx, vmf.file, vmf.index, &map);
        }
        r
    };
    dax_unlock_entry(cx, vmf.file, vmf.index, entry);
    ret
}

/// `fs/dax.c` `dax_iomap_pmd_fault`
pub fn dax_iomap_pmd_fault(cx: &Cx, vmf: &Vmf, ops: &IomapOps) -> Fault {
    let _f = cx.enter("dax_iomap_pmd_fault");
    let base = align_index(vmf.index, PMD_ORDER);
    let size = i_size(cx, vmf.file);
    if base >= size {
        cx.note("PMD fault beyond i_size: SIGBUS");
        return Fault::SigBus;
    }
    let mut ret = Fault::Fallback;
    if base + PG_PMD_NR <= size {
        match grab_mapping_entry(cx, vmf.file, base, PMD_ORDER) {
            Ok((_, entry)) => {
                let mut entry = entry;
                if pmd_is_table(cx, vmf.mm, vmf.file, base) {
                    ret = Fault::NoPage;
                } else {
                    let map = (ops.iomap_begin)(cx, vmf.file, base, PG_PMD_NR, vmf.write);
                    if map.full {
                        let pvmf = Vmf {
                            index: base,
                            ..*vmf
                        };
                        (entry, ret) = dax_fault_iter(cx, &pvmf, entry, map, true);
                        if let Some(end) = ops.iomap_end {
                            end(cx, vmf.file, base, &map);
                        }
                    }
                }
                dax_unlock_entry(cx, vmf.file, base, entry);
            }
            Err(Fault::Fallback) => {}
            Err(f) => return f,
        }
    }
    if ret == Fault::Fallback {
        split_huge_pmd(cx, vmf.mm, vmf.file, base);
        cx.note("THP_FAULT_FALLBACK");
    }
    ret
}
