//! `mm/rmap.c` (v6.15): file rmap counters of PTE and PMD mappings,
//! `mapping_mapped`, and `pfn_mkclean_range`, writeback's rmap walk.

use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::mm::folio::{folio_order, page_folio};
use crate::mm::memory::{set_pmd, set_pte};
use crate::sync::Ordering;
use crate::trace::What;
use crate::world::{Pmd, Pte};

/// `include/linux/fs.h` `mapping_mapped`: whether any process maps the
/// file (`i_mmap` not empty).
pub fn mapping_mapped(cx: &Cx, file: u8) -> bool {
    let w = &cx.w;
    let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
    w.mms.iter().any(|m| m.vma_live[file as usize].get())
}

/// One rmap counter change, recorded.
fn mapcount_add(cx: &Cx, pfn: u64, which: &'static str, d: i32) -> i32 {
    let f = &cx.w.frames[pfn as usize];
    let c = match which {
        "entire_mapcount" => &f.entire_mapcount,
        "large_mapcount" => &f.large_mapcount,
        _ => &f.mapcount,
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

/// `mm/rmap.c` `folio_add_file_rmap_pte`: the page's mapcount, and the folio's
/// `_large_mapcount` when it is large.
pub(crate) fn folio_add_file_rmap_pte(cx: &Cx, pfn: u64) {
    mapcount_add(cx, pfn, "mapcount", 1);
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", 1);
        }
    }
}

/// `mm/rmap.c` `folio_remove_rmap_pte`
pub(crate) fn folio_remove_rmap_pte(cx: &Cx, pfn: u64) {
    let m = mapcount_add(cx, pfn, "mapcount", -1);
    cx.warn_on(
        m < 0,
        "mm/rmap.c __folio_remove_rmap: mapcount underflow",
        || format!("page {pfn} mapcount {m}"),
    );
    if let Some(head) = page_folio(cx, pfn) {
        if folio_order(cx, head) > 0 {
            mapcount_add(cx, head, "large_mapcount", -1);
        }
    }
}

/// `mm/rmap.c` `folio_add_file_rmap_pmd`
pub(crate) fn folio_add_file_rmap_pmd(cx: &Cx, head: u64) {
    mapcount_add(cx, head, "entire_mapcount", 1);
    mapcount_add(cx, head, "large_mapcount", 1);
}

/// `mm/rmap.c` `folio_remove_rmap_pmd`
pub(crate) fn folio_remove_rmap_pmd(cx: &Cx, head: u64) {
    let order = folio_order(cx, head);
    cx.warn_on(
        order != PMD_ORDER,
        "mm/rmap.c __folio_remove_rmap: VM_WARN_ON_FOLIO(PMD rmap of a small folio)",
        || format!("PMD rmap removal on folio {head} of order {order}"),
    );
    let e = mapcount_add(cx, head, "entire_mapcount", -1);
    mapcount_add(cx, head, "large_mapcount", -1);
    cx.warn_on(
        e < 0,
        "mm/huge_memory.c zap_huge_pmd: WARN_ON_ONCE(folio_mapcount(folio) < 0)",
        || format!("folio {head} entire_mapcount {e}"),
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
