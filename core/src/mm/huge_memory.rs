//! `mm/huge_memory.c` (v6.15): PMD mappings: `vmf_insert_folio_pmd`, the
//! huge zero PMD, `zap_huge_pmd` and the PMD split.

use crate::config::Mutant;
use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::mm::folio::{folio_get, folio_mark_dirty, folio_order, folio_put, folio_test_anon};
use crate::mm::memory::{set_pmd, slot};
use crate::mm::rmap::{folio_add_file_rmap_pmd, folio_remove_rmap_pmd};
use crate::violation::Check;
use crate::vm::Fault;
use crate::world::{Pmd, HUGE_ZERO_PFN};

/// `mm/huge_memory.c` `vmf_insert_folio_pmd` (v6.15 form, and the 6.16
/// `insert_pmd` form).
pub fn vmf_insert_folio_pmd(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    head: u64,
    write: bool,
) -> Fault {
    let _f = cx.enter("vmf_insert_folio_pmd");
    let order = folio_order(cx, head);
    if cx.warn_on(
        order != PMD_ORDER,
        "mm/huge_memory.c vmf_insert_folio_pmd: WARN_ON_ONCE(folio_order(folio) != PMD_ORDER)",
        || format!("folio {head} has order {order}"),
    ) {
        return Fault::SigBus;
    }
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    let old = *pmd;
    let new = match old {
        Pmd::None => {
            folio_get(cx, head);
            folio_add_file_rmap_pmd(cx, mm, head);
            // v6.15 built the PMD through the pfn path: special (B5).
            let special = cx.w.cfg.kernel.special_dax_pmds() || cx.w.has(Mutant::B5);
            if special && !cx.w.cfg.kernel.special_dax_pmds() {
                // The rule since 6.16: a refcounted folio is never mapped by
                // a special PMD (vm_normal_page_pmd would skip it).
                cx.violate(
                    Check::Bug(
                        "mm/huge_memory.c insert_pmd: refcounted folio behind a special PMD",
                    ),
                    format!("PMD for folio {head} built special"),
                );
            }
            Pmd::Huge {
                pfn: head,
                write,
                special,
            }
        }
        Pmd::Huge {
            pfn,
            write: ow,
            special,
        } if write && !cx.w.has(Mutant::M56) => {
            if pfn != head {
                cx.warn_on(
                    pfn != HUGE_ZERO_PFN,
                    "mm/huge_memory.c insert_pfn_pmd: WARN_ON_ONCE(!is_huge_zero_pmd)",
                    || format!("PMD maps pfn {pfn}, insert of folio {head}"),
                );
                return Fault::NoPage; // -EEXIST
            }
            Pmd::Huge {
                pfn,
                write: ow || write,
                special,
            }
        }
        _ => return Fault::NoPage, // -EEXIST
    };
    set_pmd(cx, mm, file, base, &mut pmd, new);
    Fault::NoPage
}

/// Install the huge zero folio PMD (`dax_pmd_load_hole`'s set_pmd_at):
/// FALLBACK if the pmd is not none.
pub fn set_huge_zero_pmd(cx: &Cx, mm: u8, file: u8, index: u64) -> Fault {
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    if *pmd != Pmd::None {
        return Fault::Fallback;
    }
    let new = Pmd::Huge {
        pfn: HUGE_ZERO_PFN,
        write: false,
        special: false,
    };
    set_pmd(cx, mm, file, base, &mut pmd, new);
    Fault::NoPage
}

/// `mm/huge_memory.c` `zap_huge_pmd` for a DAX VMA, under the PMD lock: clear,
/// drop the rmap now and the reference at the TLB flush.
pub(crate) fn zap_huge_pmd(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd) {
    let _f = cx.enter("zap_huge_pmd");
    let old = *pmd;
    let Pmd::Huge { pfn, .. } = old else { return };
    set_pmd(cx, mm, file, base, pmd, Pmd::None);
    if cx.w.has(Mutant::M6) {
        // `vma_is_special_huge()` still says yes for DAX: no rmap, no put.
        return;
    }
    if pfn == HUGE_ZERO_PFN {
        return;
    }
    folio_remove_rmap_pmd(cx, mm, pfn);
    // `if (folio_test_anon(folio))` picks the mm counter to adjust.
    folio_test_anon(cx, pfn, "zap_huge_pmd");
    cx.gather.borrow_mut().push(pfn);
}

/// `mm/huge_memory.c` `__split_huge_pmd_locked` for a file VMA: a DAX PMD
/// "split" is a zap with an immediate `folio_put`.
pub(crate) fn __split_huge_pmd_locked(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd) {
    let _f = cx.enter("__split_huge_pmd_locked");
    let old = *pmd;
    let Pmd::Huge { pfn, write, .. } = old else {
        return;
    };
    set_pmd(cx, mm, file, base, pmd, Pmd::None);
    if cx.w.has(Mutant::M41) {
        // `vma_is_special_huge()` without the `!vma_is_dax()` guard: no rmap, no put.
        return;
    }
    if pfn == HUGE_ZERO_PFN {
        return;
    }
    // `if (!folio_test_dirty(folio) && pmd_dirty(old_pmd))` (a writable
    // PMD stands for a dirty one; the folio's dirty flag is not modelled).
    if write {
        folio_mark_dirty(cx, pfn);
    }
    folio_remove_rmap_pmd(cx, mm, pfn);
    folio_put(cx, pfn);
}

/// `include/linux/huge_mm.h` `split_huge_pmd(vma, pmd, address)`.
pub fn split_huge_pmd(cx: &Cx, mm: u8, file: u8, index: u64) {
    let base = align_index(index, PMD_ORDER);
    let s = slot(cx, mm, file, base);
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (base / PG_PMD_NR) as u8));
    if matches!(*pmd, Pmd::Huge { .. }) {
        __split_huge_pmd_locked(cx, mm, file, base, &mut pmd);
    }
}
