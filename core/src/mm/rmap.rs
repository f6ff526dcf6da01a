//! `mm/rmap.c` (v6.15): file rmap counters of PTE and PMD mappings,
//! `mapping_mapped`, and `pfn_mkclean_range`, writeback's rmap walk.

use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::mm::folio::{folio_order, page_folio};
use crate::mm::memory::{set_pmd, set_pte};
use crate::sync::Ordering;
use crate::trace::Val;
use crate::trace::What;
use crate::world::{Pmd, Pte, MAPPING_GARBAGE};
use std::sync::atomic::Ordering as AtomicOrdering;

/// `include/linux/fs.h` `mapping_mapped`: whether any process maps the
/// file (`i_mmap` not empty).
pub fn mapping_mapped(cx: &Cx, file: u8) -> bool {
    let w = &cx.w;
    let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
    w.mms.iter().any(|m| m.vma_live[file as usize].get())
}

/// One rmap counter change, recorded. The folio counters are `page[1]`'s
/// words, whatever the folio's order is now (H1 writes them after a split).
fn mapcount_add(cx: &Cx, pfn: u64, which: &'static str, d: i32) -> i32 {
    let frames = &cx.w.frames;
    let c = match which {
        "entire_mapcount" => &frames[pfn as usize + 1].entire_mapcount,
        // M59 drops this arm: the change lands on the head's own mapcount.
        "large_mapcount" if !cx.w.has(crate::config::Mutant::M59) => {
            &frames[pfn as usize + 1].large_mapcount
        }
        _ => &frames[pfn as usize].mapcount,
    };
    let old = c.fetch_add(d, Ordering::Relaxed);
    cx.ev(What::Mapcount {
        pfn,
        which,
        old,
        new: old + d,
    });
    old + d
}

/// `include/linux/rmap.h` `folio_add_large_mapcount` /
/// `folio_sub_large_mapcount` with CONFIG_MM_ID: besides `_large_mapcount`,
/// `page[1]`'s `_mm_ids` (its `private` word) name up to two processes and
/// `_mm_id_mapcount` (its `index` word) counts each one's mappings, from -1.
/// Kept as model-only state while `page[1]` is a tail (module doc of
/// `world::MmIds`). Returns the slot the process uses, if any.
fn mm_id_mapcount_add(cx: &Cx, head: u64, mm: u8, d: i32) -> Option<usize> {
    let p1 = &cx.w.frames[head as usize + 1];
    let mut ids = p1.mm_ids();
    let me = mm + 1;
    let slot = match ids.id.iter().position(|&i| i == me) {
        Some(s) => s,
        None if d > 0 => {
            let s = ids.id.iter().position(|&i| i == 0)?;
            ids.id[s] = me;
            s
        }
        // VM_WARN_ON_ONCE(true) (DEBUG_VM): no slot names this process.
        None => return None,
    };
    ids.mapcount[slot] += d;
    if ids.mapcount[slot] < 0 {
        ids.mapcount[slot] = -1;
        ids.id[slot] = 0;
    }
    Some(slot)
}

/// `mm/rmap.c` `folio_add_file_rmap_pte`: the page's mapcount, and the folio's
/// `_large_mapcount` when it is large.
pub(crate) fn folio_add_file_rmap_pte(cx: &Cx, mm: u8, pfn: u64) {
    mapcount_add(cx, pfn, "mapcount", 1);
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", 1);
            mm_id_mapcount_add(cx, head, mm, 1);
        }
    }
}

/// `mm/rmap.c` `folio_remove_rmap_pte`
pub(crate) fn folio_remove_rmap_pte(cx: &Cx, mm: u8, pfn: u64) {
    let m = mapcount_add(cx, pfn, "mapcount", -1);
    cx.warn_on(
        m < 0,
        "mm/rmap.c __folio_remove_rmap: mapcount underflow",
        || format!("page {pfn} mapcount {m}"),
    );
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", -1);
            mm_id_mapcount_add(cx, head, mm, -1);
        }
    }
}

/// `mm/rmap.c` `folio_add_file_rmap_pmd`
pub(crate) fn folio_add_file_rmap_pmd(cx: &Cx, mm: u8, head: u64) {
    mapcount_add(cx, head, "entire_mapcount", 1);
    mapcount_add(cx, head, "large_mapcount", 1);
    mm_id_mapcount_add(cx, head, mm, 1);
}

/// `mm/rmap.c` `folio_remove_rmap_pmd`. On a folio that was already split
/// (H1) the folio counters are still written at `page[1]`'s offsets, which are
/// now the words of an independent page: `_entire_mapcount` is the low half
/// of its `mapping`, `_mm_id_mapcount` its `index` (`page1_overlay_damage`).
pub(crate) fn folio_remove_rmap_pmd(cx: &Cx, mm: u8, head: u64) {
    let order = folio_order(cx, head);
    cx.warn_on(
        order != PMD_ORDER,
        "mm/rmap.c __folio_remove_rmap: VM_WARN_ON_FOLIO(PMD rmap of a small folio)",
        || format!("PMD rmap removal on folio {head} of order {order}"),
    );
    let e = mapcount_add(cx, head, "entire_mapcount", -1);
    mapcount_add(cx, head, "large_mapcount", -1);
    if order == 0 {
        page1_overlay_damage(cx, mm, head);
    } else {
        mm_id_mapcount_add(cx, head, mm, -1);
    }
    // M58 turns the test around: it then fires while another process still
    // maps the folio by PMD.
    let negative = if cx.w.has(crate::config::Mutant::M58) {
        e > 0
    } else {
        e < 0
    };
    cx.warn_on(
        negative,
        "mm/huge_memory.c zap_huge_pmd: WARN_ON_ONCE(folio_mapcount(folio) < 0)",
        || format!("folio {head} entire_mapcount {e}"),
    );
}

/// An `address_space` pointer as a machine word, for the arithmetic an
/// overlay does on it (any aligned kernel address serves).
fn mapping_word(m: Option<u8>, bits: u64) -> u64 {
    match m {
        None => 0,
        Some(MAPPING_GARBAGE) => bits,
        Some(f) => 0xffff_8880_0100_0000 + 0x1000 * f as u64,
    }
}

/// H1's second half: `__folio_remove_rmap(RMAP_LEVEL_PMD)` on a head that
/// `dax_folio_put` already split writes `page[1]`'s words, and `page[1]` is now
/// an order-0 folio of its own. `atomic_add_negative(-1, &_entire_mapcount)`
/// takes one from the low half of its `mapping` (the split left 0 there:
/// the word becomes 0xffffffff, a non-NULL "mapping" with the anon bit set),
/// and `folio_sub_large_mapcount` finds this process in `_mm_ids` (the
/// `private` word, which the split leaves) and takes one from its
/// `_mm_id_mapcount` half of `index` (the split's `share = 0` left 0 there:
/// -1, so the slot is freed and the word reads 0xffffffff). `_large_mapcount`
/// and `_nr_pages_mapped` land in `lru.prev`, which no DAX path reads.
fn page1_overlay_damage(cx: &Cx, mm: u8, head: u64) {
    let p = head + 1;
    let fr = &cx.w.frames[p as usize];
    let old = fr.mapping.get();
    let bits = mapping_word(old, fr.mapping_bits.load(AtomicOrdering::SeqCst));
    let low = (bits as u32).wrapping_sub(1);
    let new_bits = (bits & !0xffff_ffff) | low as u64;
    let new = (new_bits != 0).then_some(MAPPING_GARBAGE);
    fr.mapping_bits.store(new_bits, AtomicOrdering::SeqCst);
    // The word is read locklessly too (READ_ONCE in dax_lock_folio): the
    // marked mirror first, as every store to `mapping` does.
    fr.mapping_once.store_raw(new);
    fr.mapping.set(new);
    cx.ev(What::Field {
        pfn: p,
        field: "mapping (_entire_mapcount of the split folio)",
        old: Val::Mapping(old),
        new: Val::Word(new_bits),
    });
    let slot = {
        let ids = fr.mm_ids();
        ids.id.iter().position(|&i| i == mm + 1)
    };
    let Some(slot) = slot else {
        return; // VM_WARN_ON_ONCE(true) (DEBUG_VM)
    };
    let word = fr.index_share.get();
    let shift = 32 * slot as u32;
    let mut half = (word >> shift) as u32 as i32 - 1;
    {
        let mut ids = fr.mm_ids();
        if half < 0 {
            half = -1;
            ids.id[slot] = 0;
        }
        ids.mapcount[slot] = half;
    }
    let new_word = (word & !(0xffff_ffffu64 << shift)) | ((half as u32 as u64) << shift);
    cx.field(
        p,
        "index (_mm_id_mapcount of the split folio)",
        &fr.index_share,
        new_word,
        Val::Num,
    );
}

/// `mm/rmap.c` `pfn_mkclean_range` → `page_vma_mkclean_one`: in one process's
/// VMA of the file, write-protect (and clean) every PTE or PMD that maps a pfn
/// in `[pfn, pfn + nr)` at `[pgoff, pgoff + nr)`, each under its page-table
/// lock. Returns how many mappings were cleaned.
pub fn pfn_mkclean_range(cx: &Cx, mm: u8, file: u8, pfn: u64, nr: u64, pgoff: u64) -> usize {
    let _f = cx.enter("pfn_mkclean_range");
    let w = &cx.w;
    let slots = &w.mms[mm as usize].pt[file as usize];
    let hits = |p: u64| p >= pfn && p < pfn + nr;
    let mut cleaned = 0;
    let mut base = align_index(pgoff, PMD_ORDER);
    // page_vma_mapped_walk: one PMD slot at a time.
    while base < pgoff + nr {
        let Some(s) = slots.get((base / PG_PMD_NR) as usize) else {
            break;
        };
        let sl = (base / PG_PMD_NR) as u8;
        let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
        match *pmd {
            Pmd::Huge {
                pfn: p,
                write: true,
                special,
            } if hits(p) => {
                // pmdp_invalidate, pmd_wrprotect, pmd_mkclean, set_pmd_at.
                let new = Pmd::Huge {
                    pfn: p,
                    write: false,
                    special,
                };
                set_pmd(cx, mm, file, base, &mut pmd, new);
                cleaned += 1;
            }
            Pmd::Table => {
                drop(pmd);
                let mut ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, sl));
                for i in 0..PG_PMD_NR {
                    let index = base + i;
                    if index < pgoff || index >= pgoff + nr {
                        continue;
                    }
                    if let Pte::Present {
                        pfn: p,
                        write: true,
                        special,
                    } = ptes[i as usize]
                    {
                        if hits(p) {
                            // ptep_clear_flush, pte_wrprotect, pte_mkclean.
                            let new = Pte::Present {
                                pfn: p,
                                write: false,
                                special,
                            };
                            set_pte(cx, mm, file, index, &mut ptes, new);
                            cleaned += 1;
                        }
                    }
                }
            }
            _ => {}
        }
        base += PG_PMD_NR;
    }
    cleaned
}
