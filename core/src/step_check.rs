//! The every-step checks: the properties spec §5 states for every step, not
//! only at quiescence, run right after each recorded step that changes a
//! field they read, so that a mistake whose window closes before the next
//! quiescent point is still seen. Each check is the step-level form of its
//! invariant, which tolerates the transient states the kernel really passes
//! through (a reference taken before the mapping is installed and dropped
//! after it is removed; an xarray section that is consistent only once its
//! `xa_lock` is released):
//!
//! - I1 at every refcount, mapcount or pincount change of a folio:
//!   `refcount >= mapcount + Pins` (the `temp` and `deferred` terms of I1 are
//!   never negative).
//! - I3 at every refcount change and whenever a page becomes a tail: a tail
//!   page carries no reference.
//! - I11 at every store to `mapping`, `index` or `share`: the storing thread
//!   holds an `xa_lock`, and the `xa_lock` of the mapping it associates the
//!   folio with.
//! - I4 (owner side), I14 and I20 for one mapping at every release of its
//!   `xa_lock`, when its xarray is consistent again.
//!
//! The checks read shadow copies only (`peek`), never facade cells, so they
//! add no scheduling point, no loom branch and no recorded step: they run on
//! every backend. They assume, as the quiescent checker does, that no other
//! OS thread changes the world meanwhile (true under loom, shuttle and the
//! sequential std driver).

use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::trace::{file_name, Val, What};
use crate::violation::{Check, Inv};
use crate::world::FrameKind;

/// What a step changed that an every-step check reads.
pub(crate) enum Touch {
    /// A refcount change of this pfn.
    Ref(u64),
    /// A mapcount or pincount change of this pfn.
    Counts(u64),
    /// A store to an association field of this pfn.
    Assoc {
        pfn: u64,
        field: &'static str,
        old: Val,
        new: Val,
    },
    /// The pfn became (or stopped being) a tail page.
    Tail(u64),
    /// `xa_unlock` of this file.
    XaUnlock(u8),
}

/// Which every-step checks a recorded step calls for.
pub(crate) fn touched(w: &What) -> Option<Touch> {
    match *w {
        What::Ref { pfn, .. } => Some(Touch::Ref(pfn)),
        What::Mapcount { pfn, .. } => Some(Touch::Counts(pfn)),
        What::Field {
            pfn,
            field: field @ ("mapping" | "index" | "share"),
            old,
            new,
        } => Some(Touch::Assoc {
            pfn,
            field,
            old,
            new,
        }),
        What::Field {
            pfn,
            field: "compound_head",
            ..
        } => Some(Touch::Tail(pfn)),
        What::Release(LockId::XaLock(f), _) => Some(Touch::XaUnlock(f)),
        _ => None,
    }
}

/// Run the checks a step calls for; violations are recorded on `cx`.
pub(crate) fn step(cx: &Cx, t: Touch) {
    match t {
        Touch::Ref(pfn) => {
            tail_unreferenced(cx, pfn);
            refs_cover_mappings(cx, pfn);
        }
        Touch::Counts(pfn) => refs_cover_mappings(cx, pfn),
        Touch::Tail(pfn) => tail_unreferenced(cx, pfn),
        Touch::Assoc {
            pfn,
            field,
            old,
            new,
        } => association_under_xa_lock(cx, pfn, field, old, new),
        Touch::XaUnlock(f) => {
            owners_named_by_xarray(cx, f);
            xarray_consistent(cx, f);
        }
    }
}

fn dax_frame(cx: &Cx, pfn: u64) -> Option<&crate::world::Frame> {
    cx.w.frame(pfn).filter(|f| f.kind == FrameKind::Dax)
}

/// I1, step form: every mapping and every GUP reference of a folio holds a
/// reference, taken before the mapping or pin exists and dropped after it
/// is gone.
fn refs_cover_mappings(cx: &Cx, pfn: u64) {
    let Some(fr) = dax_frame(cx, pfn) else {
        return;
    };
    let head = fr.compound_head.peek().unwrap_or(pfn);
    let r = cx.w.peek_ref_count(head);
    let m = cx.w.peek_mapcount(head);
    let p: i32 =
        cx.w.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|p| p.head == head)
            .map(|p| p.refs)
            .sum();
    if r < m + p {
        cx.violate(
            Check::Inv(Inv::RefcountAccounting),
            format!("folio {head} refcount {r} below mapcount {m} + {p} GUP references"),
        );
    }
}

/// I3, step form: a tail page never holds a reference.
fn tail_unreferenced(cx: &Cx, pfn: u64) {
    let Some(fr) = dax_frame(cx, pfn) else {
        return;
    };
    let r = fr.refcount.peek();
    if fr.compound_head.peek().is_some() && r != 0 {
        cx.violate(
            Check::Inv(Inv::TailsHoldNoRefs),
            format!("tail page {pfn} has refcount {r}"),
        );
    }
}

/// I11, step form: association state changes under an `xa_lock`, and a
/// folio is associated with a mapping only under that mapping's `xa_lock`.
/// (Making a folio shared clears `mapping` under the other file's lock: that
/// is the kernel's own synchronisation of `folio->share`, spec §4 Q1.)
fn association_under_xa_lock(cx: &Cx, pfn: u64, field: &str, old: Val, new: Val) {
    if dax_frame(cx, pfn).is_none() {
        return;
    }
    let held = cx.held_locks();
    let any = held.iter().any(|l| matches!(l, LockId::XaLock(_)));
    let need = match (field, new) {
        ("mapping", Val::Mapping(Some(m))) => Some(m),
        _ => None,
    };
    let bad = match need {
        Some(m) => !held.contains(&LockId::XaLock(m)),
        None => !any,
    };
    if bad {
        cx.violate(
            Check::Inv(Inv::AssociationUnderLocks),
            format!(
                "page {pfn} {field} {old} -> {new} without {}",
                need.map_or("any xa_lock".to_string(), |m| format!(
                    "xa_lock({})",
                    file_name(m)
                ))
            ),
        );
    }
}

/// I4, owner side, at `xa_unlock(file)`: a folio that says it belongs to
/// `file` at an index is named there by an entry of its order, and an entry
/// of `file` names a folio that is associated (with `file`, or shared).
fn owners_named_by_xarray(cx: &Cx, file: u8) {
    let w = &cx.w;
    let xa = w.files[file as usize].xa.peek_ref();
    for (i, e) in xa.entries() {
        if dax_is_zero_entry(e) || dax_is_empty_entry(e) {
            continue;
        }
        let pfn = dax_to_pfn(e);
        let Some(fr) = dax_frame(cx, pfn) else {
            continue;
        };
        let ok = match fr.mapping.peek() {
            Some(m) => m == file,
            None => fr.index_share.peek() != 0,
        };
        if !ok {
            cx.violate(
                Check::Inv(Inv::AssociationMatchesXarray),
                format!(
                    "{}[{i}] names folio {pfn}, associated with {} (share/index {})",
                    file_name(file),
                    fr.mapping
                        .peek()
                        .map_or("no mapping".to_string(), |m| file_name(m).to_string()),
                    fr.index_share.peek()
                ),
            );
        }
    }
    for fr in &w.frames {
        if fr.kind != FrameKind::Dax
            || fr.compound_head.peek().is_some()
            || fr.mapping.peek() != Some(file)
        {
            continue;
        }
        let cell = fr.index_share.peek();
        let order = if fr.head.peek() {
            w.frames
                .get(fr.pfn as usize + 1)
                .map_or(0, |p| p.order.peek() as u32)
        } else {
            0
        };
        let named = xa.entries().any(|(i, e)| {
            i == cell
                && !dax_is_zero_entry(e)
                && !dax_is_empty_entry(e)
                && dax_to_pfn(e) == fr.pfn
                && dax_entry_order(e) == order
        });
        if !named {
            cx.violate(
                Check::Inv(Inv::AssociationMatchesXarray),
                format!(
                    "folio {} says {}[{cell}] order {order} but no such entry names it",
                    fr.pfn,
                    file_name(file)
                ),
            );
        }
    }
}

/// I14 and I20 for one file at `xa_unlock`: PMD and PTE entries never
/// overlap, and `nrpages` counts the pages the entries cover.
fn xarray_consistent(cx: &Cx, file: u8) {
    let xa = cx.w.files[file as usize].xa.peek_ref();
    let es: Vec<(u64, u64)> = xa.entries().collect();
    for (i, inside) in pmd_overlaps(&es) {
        cx.violate(
            Check::Inv(Inv::PmdPteExclusive),
            format!(
                "PMD entry {}[{i}] overlaps {inside} PTE entries",
                file_name(file)
            ),
        );
    }
    // The pages the stored ranges cover (an order-0 store into a PMD range
    // keeps the range: lib/xarray.c), as the quiescent I20 counts them.
    let sum: i64 = xa.ranges().map(|(_, pages, _)| pages as i64).sum();
    if xa.nrpages != sum {
        cx.violate(
            Check::Inv(Inv::NrpagesAccounting),
            format!(
                "{} nrpages {} but entries cover {sum}",
                file_name(file),
                xa.nrpages
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::Sequential;
    use crate::mm::folio::ref_add;
    use crate::sync::Ordering;
    use crate::world::{Block, FileSetup, Setup, DAX_BASE};
    use crate::{Check, Config, Inv};

    fn one_file() -> Setup {
        Setup {
            files: vec![FileSetup {
                pages: 2,
                size: 2,
                blocks: vec![
                    Some(Block {
                        pfn: DAX_BASE,
                        shared: false,
                    }),
                    None,
                ],
            }],
            mms: 1,
            dax_frames: 2,
            ext: Default::default(),
        }
    }

    /// A mapcount briefly above the refcount, restored before the operation
    /// ends: the quiescent checker cannot see it, the every-step I1 does.
    #[test]
    fn a_window_closed_before_quiescence_is_seen() {
        let s = Sequential::new(Config::default(), &one_file());
        s.op(|cx| {
            let _f = cx.enter("a_window_closed_before_quiescence_is_seen");
            crate::mm::rmap::folio_add_file_rmap_pte(cx, 0, DAX_BASE);
            crate::mm::rmap::folio_remove_rmap_pte(cx, 0, DAX_BASE);
        });
        let v = s.violations();
        assert!(
            v.iter()
                .any(|v| v.check == Check::Inv(Inv::RefcountAccounting)
                    && v.detail.contains("below mapcount 1")),
            "{v:#?}"
        );
    }

    /// The kernel's order (reference first, mapping after; mapping removed
    /// first, reference after) passes.
    #[test]
    fn reference_before_mapping_is_clean() {
        let s = Sequential::new(Config::default(), &one_file());
        s.op(|cx| {
            let _f = cx.enter("reference_before_mapping_is_clean");
            ref_add(cx, DAX_BASE, 1, Ordering::Relaxed, "folio_get");
            crate::mm::rmap::folio_add_file_rmap_pte(cx, 0, DAX_BASE);
            crate::mm::rmap::folio_remove_rmap_pte(cx, 0, DAX_BASE);
            ref_add(cx, DAX_BASE, -1, Ordering::Relaxed, "folio_put");
        });
        assert!(s.violations().is_empty(), "{:#?}", s.violations());
    }
}
