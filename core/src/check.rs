//! The invariant checker (spec §5), run at quiescence: after every operation
//! in std mode, after every execution under loom and shuttle. Invariants that
//! hold only at one point (I7 at association, I8 at break-layout return, I9
//! at the split, I10 at entry lock/unlock, I2 at every refcount change) are
//! checked inline where the model reaches that point. The step forms of the
//! properties spec §5 states for every step run after each step that changes
//! what they read (`step_check`).

use std::collections::BTreeMap;

use crate::cx::Cx;
use crate::entry::*;
use crate::trace::file_name;
use crate::violation::{Check, Inv};
use crate::world::{FrameKind, Pmd, Pte, HUGE_ZERO_PFN, PGMAP_ID, ZERO_PFN};

/// Run every quiescent check; each violation is recorded on `cx`.
pub fn quiescent(cx: &Cx) {
    let snap = Snapshot::take(cx);
    refcount_accounting(cx, &snap);
    tails_clean(cx);
    association_matches_xarray(cx, &snap);
    fs_free_state(cx, &snap);
    entries_unlocked(cx, &snap);
    pmd_pte_exclusive(cx, &snap);
    page_tables_match_xarray(cx, &snap);
    writable_implies_dirty(cx);
    nrpages_accounting(cx, &snap);
    zero_folios_untouched(cx);
    waitqueues_empty(cx);
}

/// What the checker reads once: xarrays and page tables.
struct Snapshot {
    /// Per file: (base index, entry value).
    entries: Vec<Vec<(u64, u64)>>,
    /// Per file: (canonical index, pages the slots cover, entry value).
    ranges: Vec<Vec<(u64, u64, u64)>>,
    nrpages: Vec<i64>,
    /// Every present mapping: (mm, file, index, pfn, is_pmd).
    maps: Vec<(u8, u8, u64, u64, bool)>,
}

impl Snapshot {
    fn take(cx: &Cx) -> Snapshot {
        let w = &cx.w;
        let mut entries = Vec::new();
        let mut nrpages = Vec::new();
        let mut ranges = Vec::new();
        for f in &w.files {
            // Read directly, not through `cx`: the checker is not a kernel
            // thread and must not add steps to the schedule.
            let xa = f.xa.peek_ref();
            entries.push(xa.entries().collect());
            ranges.push(xa.ranges().collect());
            nrpages.push(xa.nrpages);
        }
        let mut maps = Vec::new();
        for mm in &w.mms {
            for (file, slots) in mm.pt.iter().enumerate() {
                for (s, slot) in slots.iter().enumerate() {
                    let base = s as u64 * PG_PMD_NR;
                    let pmd = slot.pmd.peek();
                    if let Pmd::Huge { pfn, .. } = pmd {
                        maps.push((mm.id, file as u8, base, pfn, true));
                    }
                    let ptes = slot.ptes.peek();
                    for (i, p) in ptes.iter().enumerate() {
                        if let Pte::Present { pfn, .. } = *p {
                            maps.push((mm.id, file as u8, base + i as u64, pfn, false));
                        }
                    }
                }
            }
        }
        Snapshot {
            entries,
            ranges,
            nrpages,
            maps,
        }
    }

    /// Real (not zero/empty) entries whose folio head is `head`, per file.
    fn entries_of(&self, head: u64) -> Vec<(u8, u64, u64)> {
        let mut v = Vec::new();
        for (f, es) in self.entries.iter().enumerate() {
            for &(i, e) in es {
                if !dax_is_zero_entry(e) && !dax_is_empty_entry(e) && dax_to_pfn(e) == head {
                    v.push((f as u8, i, e));
                }
            }
        }
        v
    }
}

fn dax_heads(cx: &Cx) -> Vec<u64> {
    cx.w.frames
        .iter()
        .filter(|f| f.kind == FrameKind::Dax && f.compound_head.peek().is_none())
        .map(|f| f.pfn)
        .collect()
}

/// I1: at quiescence, refcount == number of PTE/PMD mappings + the
/// references of outstanding GUP gets and pins (`World::pins`), and the
/// folio's mapcount == its number of PTE/PMD mappings.
fn refcount_accounting(cx: &Cx, s: &Snapshot) {
    let mut mappings: BTreeMap<u64, i32> = BTreeMap::new();
    for &(_, _, _, pfn, _) in &s.maps {
        if let Some(fr) = cx.w.frame(pfn) {
            if fr.kind == FrameKind::Dax {
                let head = fr.compound_head.peek().unwrap_or(pfn);
                *mappings.entry(head).or_default() += 1;
            }
        }
    }
    let pins = cx.w.pins.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for head in dax_heads(cx) {
        let r = cx.w.peek_ref_count(head);
        let m = mappings.get(&head).copied().unwrap_or(0);
        let p: i32 = pins.iter().filter(|p| p.head == head).map(|p| p.refs).sum();
        if r != m + p {
            cx.violate_at_quiescence(
                Check::Inv(Inv::RefcountAccounting),
                format!(
                    "folio {head} refcount {r} but {m} page-table mappings and {p} GUP references"
                ),
            );
        }
        let mc = cx.w.peek_mapcount(head);
        // The rmap counters count the same mappings the page tables hold
        // (each PTE and each PMD once); dax_busy_page reads them. Asked only
        // when the refcount agrees with the page tables, so a folio gets one
        // I1 report.
        if r == m + p && mc != m {
            cx.violate_at_quiescence(
                Check::Inv(Inv::RefcountAccounting),
                format!("folio {head} mapcount {mc} but {m} page-table mappings"),
            );
        } else if mc > r {
            cx.violate_at_quiescence(
                Check::Inv(Inv::RefcountAccounting),
                format!("folio {head} mapcount {mc} exceeds refcount {r}"),
            );
        }
    }
}

/// I3: tail pages carry no references.
fn tails_clean(cx: &Cx) {
    for f in &cx.w.frames {
        if f.kind == FrameKind::Dax && f.compound_head.peek().is_some() {
            let r = f.refcount.peek();
            if r != 0 {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::TailsHoldNoRefs),
                    format!("tail page {} has refcount {r}", f.pfn),
                );
            }
        }
    }
}

/// I4: a folio's association agrees with the xarray entries naming it.
fn association_matches_xarray(cx: &Cx, s: &Snapshot) {
    for head in dax_heads(cx) {
        let fr = &cx.w.frames[head as usize];
        let owners = s.entries_of(head);
        let (mapping, cell, order) = (fr.mapping.peek(), fr.index_share.peek(), order_of(cx, head));
        if mapping == Some(crate::world::MAPPING_GARBAGE) {
            cx.violate_at_quiescence(
                Check::Inv(Inv::AssociationMatchesXarray),
                format!(
                    "folio {head} mapping is garbage ({:#x}, page[1] counter bits), index {cell:#x}, entries naming it: {}",
                    fr.mapping_bits.load(std::sync::atomic::Ordering::SeqCst),
                    fmt_owners(&owners)
                ),
            );
        } else if let Some(m) = mapping {
            // The folio's index must resolve to the entry (a multi-index
            // range answers every index in it).
            let resolves = |f: u8, i: u64| {
                s.ranges[f as usize]
                    .iter()
                    .any(|&(b, pages, _)| b == i && b <= cell && cell < b + pages)
            };
            let ok = owners
                .iter()
                .any(|&(f, i, e)| f == m && resolves(f, i) && dax_entry_order(e) == order);
            if !ok || owners.len() != 1 {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::AssociationMatchesXarray),
                    format!(
                        "folio {head} says {}[{cell}] order {order}, entries naming it: {}",
                        file_name(m),
                        fmt_owners(&owners)
                    ),
                );
            }
        } else if cell != 0 && !cx.w.stale_index_cell(head) {
            if cell as usize != owners.len() {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::AssociationMatchesXarray),
                    format!(
                        "folio {head} share {cell}, entries naming it: {}",
                        fmt_owners(&owners)
                    ),
                );
            }
        } else if !owners.is_empty() {
            cx.violate_at_quiescence(
                Check::Inv(Inv::AssociationMatchesXarray),
                format!(
                    "folio {head} unassociated but named by {}",
                    fmt_owners(&owners)
                ),
            );
        }
    }
}

fn fmt_owners(o: &[(u8, u64, u64)]) -> String {
    if o.is_empty() {
        return "none".into();
    }
    o.iter()
        .map(|&(f, i, e)| format!("{}[{i}] order {}", file_name(f), dax_entry_order(e)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// I6: a folio no entry names is FS-free: idle, unassociated, order 0 with a
/// clean `page[1]`, pgmap restored.
fn fs_free_state(cx: &Cx, s: &Snapshot) {
    for head in dax_heads(cx) {
        if !s.entries_of(head).is_empty() {
            continue;
        }
        let fr = &cx.w.frames[head as usize];
        let problems = [
            (cx.w.peek_ref_count(head) != 0, "refcount != 0"),
            (cx.w.peek_mapcount(head) != 0, "mapcount != 0"),
            (fr.mapping.peek().is_some(), "mapping set"),
            (
                fr.index_share.peek() != 0 && !cx.w.stale_index_cell(head),
                "index/share cell not 0",
            ),
            (fr.head.peek(), "still a compound head"),
            (
                fr.order.peek() != 0 || fr.memcg.peek() != 0,
                "stale order/_nr_pages (memcg_data)",
            ),
            (fr.pgmap.peek() != Some(PGMAP_ID), "pgmap not restored"),
        ];
        for (bad, what) in problems {
            if bad {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::FsFreeState),
                    format!("folio {head} has no entry but {what}"),
                );
            }
        }
    }
}

/// I10/I12: no entry is left locked once every thread has finished.
fn entries_unlocked(cx: &Cx, s: &Snapshot) {
    for (f, es) in s.entries.iter().enumerate() {
        for &(i, e) in es {
            if dax_is_locked(e) {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::EntryLockExclusion),
                    format!(
                        "entry {}[{i}] left locked at quiescence",
                        file_name(f as u8)
                    ),
                );
            }
        }
    }
}

/// I14: one PMD entry or PTE entries in a PMD range, never both; and an
/// entry occupies exactly the range of its own order (a PTE entry held in
/// the canonical slot of a multi-index range answers every index of it: H7).
fn pmd_pte_exclusive(cx: &Cx, s: &Snapshot) {
    for (f, rs) in s.ranges.iter().enumerate() {
        for &(i, pages, e) in rs {
            if pages != dax_entry_pages(e) {
                cx.violate_at_quiescence(
                    Check::Inv(Inv::PmdPteExclusive),
                    format!(
                        "{} entry {}[{i}] fills the {pages}-page range [{i}..{}] (an order-0 store kept the multi-index slots)",
                        if dax_is_pmd_entry(e) { "PMD" } else { "PTE" },
                        file_name(f as u8),
                        i + pages - 1
                    ),
                );
            }
        }
    }
    for (f, es) in s.entries.iter().enumerate() {
        for (i, inside) in pmd_overlaps(es) {
            cx.violate_at_quiescence(
                Check::Inv(Inv::PmdPteExclusive),
                format!(
                    "PMD entry {}[{i}] overlaps {inside} PTE entries",
                    file_name(f as u8)
                ),
            );
        }
    }
}

/// I15: every present PTE/PMD maps what the xarray says.
fn page_tables_match_xarray(cx: &Cx, s: &Snapshot) {
    for &(mm, f, index, pfn, is_pmd) in &s.maps {
        // The entry the index resolves to (a multi-index range answers
        // every index in it).
        let entry = s.ranges[f as usize]
            .iter()
            .find(|&&(i, pages, _)| i <= index && index < i + pages)
            .map(|&(i, _, e)| (i, e));
        let ok = match entry {
            None => false,
            Some((_, e)) if dax_is_zero_entry(e) => {
                pfn == if dax_is_pmd_entry(e) {
                    HUGE_ZERO_PFN
                } else {
                    ZERO_PFN
                } && is_pmd == dax_is_pmd_entry(e)
            }
            Some((_, e)) if dax_is_empty_entry(e) => false,
            Some((i, e)) => {
                if is_pmd {
                    dax_is_pmd_entry(e) && dax_to_pfn(e) == pfn
                } else if dax_is_pmd_entry(e) {
                    dax_to_pfn(e) + (index - i) == pfn
                } else {
                    // A PTE entry names the one page it was stored for.
                    dax_to_pfn(e) == pfn
                }
            }
        };
        if !ok {
            cx.violate_at_quiescence(
                Check::Inv(Inv::PageTablesMatchXarray),
                format!(
                    "mm{mm} maps {}[{index}] -> pfn {pfn}{} but the xarray has {}",
                    file_name(f),
                    if is_pmd { " (PMD)" } else { "" },
                    entry.map_or("no entry".to_string(), |(i, e)| format!(
                        "{} at {i}",
                        crate::trace::entry_str(e)
                    ))
                ),
            );
        }
    }
}

/// I16: a writable PTE/PMD of a DAX folio belongs to an entry tagged DIRTY
/// (so writeback will find it). A mapping with no entry is I15's business.
fn writable_implies_dirty(cx: &Cx) {
    let w = &cx.w;
    for mm in &w.mms {
        for (file, slots) in mm.pt.iter().enumerate() {
            let xa = w.files[file].xa.peek_ref();
            for (s, slot) in slots.iter().enumerate() {
                let base = s as u64 * PG_PMD_NR;
                let mut writable = Vec::new();
                if let Pmd::Huge {
                    pfn, write: true, ..
                } = slot.pmd.peek()
                {
                    writable.push((base, pfn, true));
                }
                for (i, p) in slot.ptes.peek().iter().enumerate() {
                    if let Pte::Present {
                        pfn, write: true, ..
                    } = *p
                    {
                        writable.push((base + i as u64, pfn, false));
                    }
                }
                for (index, pfn, is_pmd) in writable {
                    let Some((ebase, _)) = xa.load(index) else {
                        continue;
                    };
                    if !xa.dirty.contains(&ebase) {
                        cx.violate_at_quiescence(
                            Check::Inv(Inv::DirtyTracking),
                            format!(
                                "mm{} maps {}[{index}] -> pfn {pfn}{} writable but entry [{ebase}] is not DIRTY",
                                mm.id,
                                file_name(file as u8),
                                if is_pmd { " (PMD)" } else { "" }
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// I20: nrpages equals the pages the xarray's slots cover (a multi-index
/// entry counts its whole range, whatever the order of the value in it).
fn nrpages_accounting(cx: &Cx, s: &Snapshot) {
    for (f, rs) in s.ranges.iter().enumerate() {
        let sum: i64 = rs.iter().map(|&(_, pages, _)| pages as i64).sum();
        if s.nrpages[f] != sum {
            cx.violate_at_quiescence(
                Check::Inv(Inv::NrpagesAccounting),
                format!(
                    "{} nrpages {} but entries cover {sum}",
                    file_name(f as u8),
                    s.nrpages[f]
                ),
            );
        }
    }
}

/// B1: the zero page and the huge zero folio never change.
fn zero_folios_untouched(cx: &Cx) {
    let w = &cx.w;
    let z = &w.frames[ZERO_PFN as usize];
    let h = &w.frames[HUGE_ZERO_PFN as usize];
    let t = &w.frames[HUGE_ZERO_PFN as usize + 1];
    let intact = z.mapping.peek().is_none()
        && !z.head.peek()
        && h.head.peek()
        && t.compound_head.peek() == Some(HUGE_ZERO_PFN)
        && t.order.peek() == PMD_ORDER as u8
        && h.mapping.peek().is_none();
    if !intact {
        cx.violate_at_quiescence(
            Check::Bug("zero page / huge zero folio modified"),
            "a DAX folio operation changed a zero folio",
        );
    }
}

/// I12/I13: at quiescence nobody may still be queued on a waitqueue.
fn waitqueues_empty(cx: &Cx) {
    for wt in [&cx.w.entry_wq, &cx.w.var_wq] {
        for waiter in wt.queued() {
            let inv = if wt.name == "var" {
                Inv::BreakLayoutLiveness
            } else {
                Inv::NoLostEntryWakeup
            };
            cx.violate_at_quiescence(
                Check::Inv(inv),
                format!(
                    "T{} still queued on {} {} after every thread finished",
                    waiter.tid, wt.name, waiter.key
                ),
            );
        }
    }
}

/// `folio_order` from the checker's side (no tracked access).
fn order_of(cx: &Cx, head: u64) -> u32 {
    let w = &cx.w;
    if w.frames[head as usize].head.peek() {
        w.frames
            .get(head as usize + 1)
            .map_or(0, |p| p.order.peek() as u32)
    } else {
        0
    }
}
