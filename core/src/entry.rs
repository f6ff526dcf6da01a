//! DAX xarray value entries (spec §1.3) and the per-mapping xarray.
//!
//! The encoding is the kernel's: `pfn << DAX_SHIFT | flags`. The xarray is a
//! map from index to value; a PMD entry is stored once at its aligned base and
//! answers every index of its range, as a multi-index entry does.

use std::collections::{BTreeMap, BTreeSet};

/// PMD_ORDER scaled down so the state space stays small (spec §8). Changing
/// this one constant scales every PMD path.
pub const PMD_ORDER: u32 = 1;
/// `PG_PMD_NR`: pages per PMD entry.
pub const PG_PMD_NR: u64 = 1 << PMD_ORDER;

pub const DAX_SHIFT: u64 = 4;
pub const DAX_LOCKED: u64 = 1 << 0;
pub const DAX_PMD: u64 = 1 << 1;
pub const DAX_ZERO_PAGE: u64 = 1 << 2;
pub const DAX_EMPTY: u64 = 1 << 3;

/// `dax_make_entry`
pub fn dax_make_entry(pfn: u64, flags: u64) -> u64 {
    (pfn << DAX_SHIFT) | flags
}
/// `dax_to_pfn`
pub fn dax_to_pfn(e: u64) -> u64 {
    e >> DAX_SHIFT
}
pub fn dax_is_locked(e: u64) -> bool {
    e & DAX_LOCKED != 0
}
pub fn dax_is_pmd_entry(e: u64) -> bool {
    e & DAX_PMD != 0
}
pub fn dax_is_pte_entry(e: u64) -> bool {
    !dax_is_pmd_entry(e)
}
pub fn dax_is_zero_entry(e: u64) -> bool {
    e & DAX_ZERO_PAGE != 0
}
pub fn dax_is_empty_entry(e: u64) -> bool {
    e & DAX_EMPTY != 0
}
/// `dax_entry_order`
pub fn dax_entry_order(e: u64) -> u32 {
    if dax_is_pmd_entry(e) {
        PMD_ORDER
    } else {
        0
    }
}
/// Pages an entry covers in the xarray (what `nrpages` counts).
pub fn dax_entry_pages(e: u64) -> u64 {
    1 << dax_entry_order(e)
}
/// Aligned first index of the entry that covers `index` at `order`.
pub fn align_index(index: u64, order: u32) -> u64 {
    index & !((1u64 << order) - 1)
}

/// The PMD entries of `es` (index, entry) that are not PMD-aligned or have
/// entries inside their range, with how many: I14's overlap half, shared by
/// the every-step checker and the quiescent one.
pub fn pmd_overlaps(es: &[(u64, u64)]) -> Vec<(u64, usize)> {
    es.iter()
        .filter(|&&(_, e)| dax_is_pmd_entry(e))
        .map(|&(i, _)| {
            let inside = es
                .iter()
                .filter(|&&(j, _)| j > i && j < i + PG_PMD_NR)
                .count();
            (i, inside)
        })
        .filter(|&(i, inside)| inside > 0 || i % PG_PMD_NR != 0)
        .collect()
}

/// The first and last index of the PMD range that holds `index`.
pub fn pmd_range(index: u64) -> (u64, u64) {
    let b = align_index(index, PMD_ORDER);
    (b, b + PG_PMD_NR - 1)
}

/// One occupied range of the xarray: the canonical slot of an entry and the
/// sibling slots that point at it (`xa_mk_sibling`), as one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// The order of the range the slots cover. An order-0 store into a
    /// multi-index entry keeps it (see `Xarray::store`), so it can differ
    /// from the order of the value held (H7).
    span: u32,
    value: u64,
}

/// The xarray of one mapping (`mapping->i_pages`), the data `xa_lock` guards,
/// with the multi-index semantics of `lib/xarray.c`: an entry of order n
/// occupies a canonical slot and the siblings of its aligned range; a lookup
/// at any index of the range resolves to the canonical slot.
#[derive(Clone, Debug, Default)]
pub struct Xarray {
    /// Keyed by the canonical (first) index of each occupied range.
    slots: BTreeMap<u64, Slot>,
    /// PAGECACHE_TAG_DIRTY, by canonical index (marks live on the
    /// canonical slot).
    pub dirty: BTreeSet<u64>,
    /// PAGECACHE_TAG_TOWRITE, by canonical index.
    pub towrite: BTreeSet<u64>,
    /// Model-only: how many times the TOWRITE mark of each canonical index
    /// has been cleared ([`Xarray::clear_towrite`]), so that a writeback can
    /// tell at its return whether an entry it tagged was ever written back
    /// (I16's per-call record). The kernel keeps no count.
    pub towrite_clears: BTreeMap<u64, u64>,
    /// `mapping->nrpages`: what the callers add and subtract, by
    /// `dax_entry_order` of the value they store or delete.
    pub nrpages: i64,
    /// Model-only: which thread set the lock bit of the entry at a canonical
    /// index (I10). The kernel keeps no owner.
    pub owners: BTreeMap<u64, u8>,
    /// Model-only: stores that changed more than an entry's lock bit
    /// (insertions, removals, new values). Equal counts before and after a
    /// call mean every entry of the mapping stayed the same across it (I22).
    pub replaced: u64,
}

impl Xarray {
    /// The canonical index of the range holding `index`, if any
    /// (`xas_descend` following a sibling to its canonical offset).
    pub fn slot_of(&self, index: u64) -> Option<u64> {
        let (&base, s) = self.slots.range(..=index).next_back()?;
        (index < base + (1u64 << s.span)).then_some(base)
    }

    /// The first index after the range whose canonical index is `base`
    /// (where `xas_find` resumes: siblings are skipped).
    pub fn range_end(&self, base: u64) -> u64 {
        base + self.slots.get(&base).map_or(1, |s| 1u64 << s.span)
    }

    /// `xas_load` at `index`: the entry covering it and its canonical index.
    pub fn load(&self, index: u64) -> Option<(u64, u64)> {
        let base = self.slot_of(index)?;
        Some((base, self.slots[&base].value))
    }

    /// `xas_find_conflict`: any entry overlapping `[index, index + 2^order)`.
    pub fn find_conflict(&self, index: u64, order: u32) -> Option<(u64, u64)> {
        if order == 0 {
            return self.load(index);
        }
        let base = align_index(index, order);
        if let Some(hit) = self.load(base) {
            return Some(hit);
        }
        self.slots
            .range(base..base + (1 << order))
            .next()
            .map(|(&i, s)| (i, s.value))
    }

    /// The first entry at or after `index` up to `last` (`xas_find`).
    pub fn find_from(&self, index: u64, last: u64) -> Option<(u64, u64)> {
        if index > last {
            return None;
        }
        if let Some(hit) = self.load(index) {
            return Some(hit);
        }
        self.slots
            .range(index..=last)
            .next()
            .map(|(&i, s)| (i, s.value))
    }

    fn remove_range(&mut self, base: u64) {
        self.slots.remove(&base);
        self.dirty.remove(&base);
        self.clear_towrite(base);
    }

    /// `xas_clear_mark(PAGECACHE_TAG_TOWRITE)` at a canonical index;
    /// returns whether the mark was set.
    pub fn clear_towrite(&mut self, base: u64) -> bool {
        let was = self.towrite.remove(&base);
        if was {
            *self.towrite_clears.entry(base).or_default() += 1;
        }
        was
    }

    /// `xas_store` through an xas of `order` at `index`; returns the entry
    /// replaced (`first`).
    ///
    /// - Order 0 at an index inside a multi-index entry: `xas_create` stops
    ///   at the node holding the entry and `xas_descend` moves the xas to
    ///   the canonical slot; with `xa_sibs = 0` only that slot is written.
    ///   A value keeps the whole range (the siblings still point at it) and
    ///   its marks; NULL clears the canonical slot and every sibling after
    ///   it, so the whole range goes.
    /// - Order n > 0: the aligned range is replaced by one entry (the
    ///   siblings are written too); NULL empties the range.
    pub fn store(&mut self, index: u64, order: u32, v: Option<u64>) -> Option<u64> {
        if order == 0 {
            if let Some(base) = self.slot_of(index) {
                let old = self.slots[&base].value;
                if v.is_none_or(|e| e & !DAX_LOCKED != old & !DAX_LOCKED) {
                    self.replaced += 1;
                }
                match v {
                    Some(e) => {
                        self.slots.get_mut(&base).expect("slot_of").value = e;
                    }
                    None => self.remove_range(base),
                }
                return Some(old);
            }
            if let Some(e) = v {
                self.replaced += 1;
                self.slots.insert(index, Slot { span: 0, value: e });
            }
            return None;
        }
        let base = align_index(index, order);
        let old = self.load(base).map(|(_, e)| e);
        let inside: Vec<u64> = self
            .slots
            .range(base..base + (1 << order))
            .map(|(&k, _)| k)
            .collect();
        let same = inside == [base]
            && self.slots[&base].span == order
            && v.zip(old)
                .is_some_and(|(e, o)| e & !DAX_LOCKED == o & !DAX_LOCKED);
        if !same && (v.is_some() || !inside.is_empty()) {
            self.replaced += 1;
        }
        match v {
            Some(e) => {
                // Marks of the replaced slots stay where they were named
                // (xas_squash_marks folds them onto the canonical slot; every
                // caller here replaces an entry stored at `base`).
                for k in inside {
                    self.slots.remove(&k);
                }
                self.slots.insert(
                    base,
                    Slot {
                        span: order,
                        value: e,
                    },
                );
            }
            None => {
                for k in inside {
                    self.remove_range(k);
                }
            }
        }
        old
    }

    /// Every entry: (canonical index, value).
    pub fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.slots.iter().map(|(&i, s)| (i, s.value))
    }

    /// Every entry with the pages its range covers in the xarray:
    /// (canonical index, pages, value).
    pub fn ranges(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.slots
            .iter()
            .map(|(&i, s)| (i, 1u64 << s.span, s.value))
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmd_entry_answers_every_index_of_its_range() {
        let mut xa = Xarray::default();
        let e = dax_make_entry(8, DAX_PMD);
        xa.store(2, PMD_ORDER, Some(e));
        assert_eq!(xa.load(3), Some((2, e)));
        assert_eq!(xa.load(1), None);
        assert_eq!(xa.find_conflict(3, PMD_ORDER), Some((2, e)));
    }

    #[test]
    fn pte_entry_conflicts_with_pmd_lookup() {
        let mut xa = Xarray::default();
        let e = dax_make_entry(9, 0);
        xa.store(1, 0, Some(e));
        assert_eq!(xa.find_conflict(0, PMD_ORDER), Some((1, e)));
        assert_eq!(xa.load(0), None);
    }

    /// lib/xarray.c: an order-0 store at an index covered by a PMD entry
    /// writes only the canonical slot; the range keeps resolving to it.
    #[test]
    fn order0_store_into_a_pmd_entry_keeps_the_range() {
        let mut xa = Xarray::default();
        let pmd = dax_make_entry(8, DAX_PMD);
        xa.store(0, PMD_ORDER, Some(pmd));
        xa.nrpages += 1 << dax_entry_order(pmd);
        xa.dirty.insert(0);
        let pte = dax_make_entry(9, 0);
        let old = xa.store(1, 0, Some(pte));
        assert_eq!(
            old,
            Some(pmd),
            "xas_store returns the PMD entry it replaced"
        );
        for i in 0..PG_PMD_NR {
            assert_eq!(
                xa.load(i),
                Some((0, pte)),
                "index {i} resolves to the new entry"
            );
        }
        assert_eq!(xa.slot_of(1), Some(0), "the canonical slot is the PMD base");
        assert_eq!(xa.ranges().collect::<Vec<_>>(), vec![(0, PG_PMD_NR, pte)]);
        assert!(xa.dirty.contains(&0), "marks stay on the canonical slot");
        assert_eq!(
            xa.nrpages, PG_PMD_NR as i64,
            "nrpages is untouched by the store"
        );
        // A PMD-order lookup meets the order-0 value: a conflict (fallback).
        assert_eq!(xa.find_conflict(0, PMD_ORDER), Some((0, pte)));
        // The delete through an order-0 xas clears every sibling, but the
        // caller subtracts by the value's order: one page of PG_PMD_NR.
        let gone = xa.store(0, 0, None);
        assert_eq!(gone, Some(pte));
        xa.nrpages -= 1 << dax_entry_order(pte);
        assert!(xa.is_empty() && xa.load(1).is_none());
        assert_eq!(
            xa.nrpages,
            PG_PMD_NR as i64 - 1,
            "nrpages leaks PG_PMD_NR - 1"
        );
    }

    #[test]
    fn pmd_store_replaces_the_range() {
        let mut xa = Xarray::default();
        xa.store(1, 0, Some(dax_make_entry(9, 0)));
        let e = dax_make_entry(8, DAX_PMD | DAX_EMPTY);
        assert_eq!(xa.store(0, PMD_ORDER, Some(e)), None);
        assert_eq!(xa.ranges().collect::<Vec<_>>(), vec![(0, PG_PMD_NR, e)]);
        assert_eq!(xa.range_end(0), PG_PMD_NR);
        xa.store(0, PMD_ORDER, None);
        assert!(xa.is_empty());
    }

    #[test]
    fn encoding_matches_the_kernel_bits() {
        let e = dax_make_entry(5, DAX_PMD | DAX_LOCKED);
        assert_eq!(e, (5 << 4) | 0b11);
        assert!(dax_is_locked(e) && dax_is_pmd_entry(e) && !dax_is_zero_entry(e));
        assert_eq!(dax_entry_order(e), PMD_ORDER);
    }
}
