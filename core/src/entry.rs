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

/// The first and last index of the PMD range that holds `index`.
pub fn pmd_range(index: u64) -> (u64, u64) {
    let b = align_index(index, PMD_ORDER);
    (b, b + PG_PMD_NR - 1)
}

/// The xarray of one mapping (`mapping->i_pages`), the data `xa_lock` guards.
#[derive(Clone, Debug, Default)]
pub struct Xarray {
    slots: BTreeMap<u64, u64>,
    /// PAGECACHE_TAG_DIRTY, by entry base index.
    pub dirty: BTreeSet<u64>,
    /// PAGECACHE_TAG_TOWRITE, by entry base index.
    pub towrite: BTreeSet<u64>,
    /// `mapping->nrpages`.
    pub nrpages: i64,
    /// Model-only: which thread set the lock bit of the entry at a base index
    /// (I10). The kernel keeps no owner.
    pub owners: BTreeMap<u64, u8>,
}

impl Xarray {
    /// `xas_load` at `index`: the entry covering it and its base index.
    pub fn load(&self, index: u64) -> Option<(u64, u64)> {
        let base = align_index(index, PMD_ORDER);
        if let Some(&e) = self.slots.get(&base) {
            if dax_is_pmd_entry(e) {
                return Some((base, e));
            }
        }
        self.slots.get(&index).map(|&e| (index, e))
    }

    /// `xas_find_conflict`: any entry overlapping `[index, index + 2^order)`.
    pub fn find_conflict(&self, index: u64, order: u32) -> Option<(u64, u64)> {
        if order == 0 {
            return self.load(index);
        }
        let base = align_index(index, order);
        self.slots
            .range(base..base + (1 << order))
            .next()
            .map(|(&i, &e)| (i, e))
    }

    /// The first entry at or after `index` up to `last` (`xas_find`).
    pub fn find_from(&self, index: u64, last: u64) -> Option<(u64, u64)> {
        if index > last {
            return None;
        }
        if let Some(hit) = self.load(index) {
            return Some(hit);
        }
        self.slots.range(index..=last).next().map(|(&i, &e)| (i, e))
    }

    /// `xas_store` at the base index of an entry of `order`; a PMD store
    /// replaces the whole range.
    pub fn store(&mut self, base: u64, order: u32, v: Option<u64>) -> Option<u64> {
        if order == 0 {
            // An order-0 store inside a multi-index PMD entry replaces the
            // whole entry.
            let pbase = align_index(base, PMD_ORDER);
            if pbase != base {
                if let Some(&e) = self.slots.get(&pbase) {
                    if dax_is_pmd_entry(e) {
                        self.slots.remove(&pbase);
                        self.dirty.remove(&pbase);
                        self.towrite.remove(&pbase);
                        if let Some(v) = v {
                            self.slots.insert(base, v);
                        }
                        return Some(e);
                    }
                }
            }
        }
        let old = self.slots.get(&base).copied();
        if order > 0 {
            let keys: Vec<u64> = self
                .slots
                .range(base..base + (1 << order))
                .map(|(&k, _)| k)
                .collect();
            for k in keys {
                self.slots.remove(&k);
            }
        }
        match v {
            Some(e) => {
                self.slots.insert(base, e);
            }
            None => {
                self.slots.remove(&base);
                self.dirty.remove(&base);
                self.towrite.remove(&base);
            }
        }
        old
    }

    pub fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.slots.iter().map(|(&i, &e)| (i, e))
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

    #[test]
    fn encoding_matches_the_kernel_bits() {
        let e = dax_make_entry(5, DAX_PMD | DAX_LOCKED);
        assert_eq!(e, (5 << 4) | 0b11);
        assert!(dax_is_locked(e) && dax_is_pmd_entry(e) && !dax_is_zero_entry(e));
        assert_eq!(dax_entry_order(e), PMD_ORDER);
    }
}
