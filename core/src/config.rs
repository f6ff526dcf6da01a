//! Run-time choices: which kernel state is modelled and which single mutant
//! (deliberate mistake) is switched on. One build runs them all.

use std::fmt;

/// The historical kernel state the model follows (spec §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelState {
    /// The merged series (fs/dax.c at 00c010e1), the default.
    #[default]
    V6_15,
    /// Hildenbrand's June 2025 change: refcounted PMDs are no longer special (B5 fix).
    V6_16,
    /// `dax_folio_reset_order()` (clears `share` for every order) and the B2 guard order.
    Y2026,
}

impl KernelState {
    pub const ALL: [KernelState; 3] = [KernelState::V6_15, KernelState::V6_16, KernelState::Y2026];

    pub fn name(self) -> &'static str {
        match self {
            KernelState::V6_15 => "v6.15",
            KernelState::V6_16 => "v6.16",
            KernelState::Y2026 => "2026",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown kernel state `{s}` (known: {})", known.join(", "))
            })
    }
}

/// A deliberate mistake in the model, used to show that a scenario can fail.
/// `M<n>` follow spec §7 (M24 and up are ours); `B<n>` revert the fix of a
/// historical bug of spec §6. Each is a single change a kernel developer
/// could plausibly make; one build runs them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutant {
    M1,
    M2,
    M3,
    M4,
    M6,
    M7,
    M8,
    M9,
    M10,
    M12,
    M13,
    M14,
    M15,
    M16,
    M17,
    M18,
    M20,
    M21,
    M23,
    M24,
    M25,
    M26,
    M27,
    M28,
    M29,
    M30,
    M33,
    M35,
    M38,
    M39,
    M40,
    M41,
    M42,
    B1,
    B2,
    B3,
    B4,
    B5,
    B8,
    B11,
    B12,
    B14,
    B19,
    B20,
    B21,
}

impl Mutant {
    pub const ALL: [Mutant; 45] = [
        Mutant::M1,
        Mutant::M2,
        Mutant::M3,
        Mutant::M4,
        Mutant::M6,
        Mutant::M7,
        Mutant::M8,
        Mutant::M9,
        Mutant::M10,
        Mutant::M12,
        Mutant::M13,
        Mutant::M14,
        Mutant::M15,
        Mutant::M16,
        Mutant::M17,
        Mutant::M18,
        Mutant::M20,
        Mutant::M21,
        Mutant::M23,
        Mutant::M24,
        Mutant::M25,
        Mutant::M26,
        Mutant::M27,
        Mutant::M28,
        Mutant::M29,
        Mutant::M30,
        Mutant::M33,
        Mutant::M35,
        Mutant::M38,
        Mutant::M39,
        Mutant::M40,
        Mutant::M41,
        Mutant::M42,
        Mutant::B1,
        Mutant::B2,
        Mutant::B3,
        Mutant::B4,
        Mutant::B5,
        Mutant::B8,
        Mutant::B11,
        Mutant::B12,
        Mutant::B14,
        Mutant::B19,
        Mutant::B20,
        Mutant::B21,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mutant::M1 => "M1",
            Mutant::M2 => "M2",
            Mutant::M3 => "M3",
            Mutant::M4 => "M4",
            Mutant::M6 => "M6",
            Mutant::M7 => "M7",
            Mutant::M8 => "M8",
            Mutant::M9 => "M9",
            Mutant::M10 => "M10",
            Mutant::M12 => "M12",
            Mutant::M13 => "M13",
            Mutant::M14 => "M14",
            Mutant::M15 => "M15",
            Mutant::M16 => "M16",
            Mutant::M17 => "M17",
            Mutant::M18 => "M18",
            Mutant::M20 => "M20",
            Mutant::M21 => "M21",
            Mutant::M23 => "M23",
            Mutant::M24 => "M24",
            Mutant::M25 => "M25",
            Mutant::M26 => "M26",
            Mutant::M27 => "M27",
            Mutant::M28 => "M28",
            Mutant::M29 => "M29",
            Mutant::M30 => "M30",
            Mutant::M33 => "M33",
            Mutant::M35 => "M35",
            Mutant::M38 => "M38",
            Mutant::M39 => "M39",
            Mutant::M40 => "M40",
            Mutant::M41 => "M41",
            Mutant::M42 => "M42",
            Mutant::B1 => "B1",
            Mutant::B2 => "B2",
            Mutant::B3 => "B3",
            Mutant::B4 => "B4",
            Mutant::B5 => "B5",
            Mutant::B8 => "B8",
            Mutant::B11 => "B11",
            Mutant::B12 => "B12",
            Mutant::B14 => "B14",
            Mutant::B19 => "B19",
            Mutant::B20 => "B20",
            Mutant::B21 => "B21",
        }
    }

    /// One line: what the mutant changes, in kernel terms.
    pub fn describe(self) -> &'static str {
        match self {
            Mutant::M1 => "dax_insert_entry moves the folio (dis)association before taking xa_lock",
            Mutant::M2 => "dax_fault_iter takes the temporary reference with folio_get (asserts refcount > 0) instead of folio_ref_inc",
            Mutant::M3 => "__dax_invalidate_entry and dax_delete_mapping_range wake WAKE_NEXT instead of WAKE_ALL",
            Mutant::M4 => "the entry waitqueue key uses the raw index, not the PMD-aligned one",
            Mutant::M6 => "zap_huge_pmd treats DAX VMAs as special-huge: no rmap removal, no refcount put",
            Mutant::M7 => "dax_folio_put clears mapping but does not split the compound folio",
            Mutant::M8 => "the split in dax_folio_put skips folio_reset_order (page[1] keeps order and _nr_pages)",
            Mutant::M9 => "the split happens in free_zone_device_folio at refcount 0 instead of at disassociation",
            Mutant::M10 => "old idle rule: busy iff refcount > 1, dax_page_is_idle iff refcount == 1",
            Mutant::M12 => "free_zone_device_folio wakes &folio->_refcount instead of &folio->page",
            Mutant::M13 => "the XFS two-inode remap lock treats a NULL busy page as busy",
            Mutant::M14 => "dax_busy_page tests refcount != 0 (ignores mapcount) and the busy scan does not unmap first",
            Mutant::M15 => "wait_entry_unlocked_exclusive uses xas_pause instead of xas_reset",
            Mutant::M16 => "dax_disassociate_entry has no zero/empty-entry guard",
            Mutant::M17 => "the zero/empty guard comes after dax_to_folio, and pfn 0 has no struct page (altmap)",
            Mutant::M18 => "the mkwrite upgrade in insert_page_into_pte_locked takes a new folio_get",
            Mutant::M20 => "GUP-fast does not re-check the PTE/PMD after folio_try_get",
            Mutant::M21 => "dax_writeback_one clears DIRTY before write-protecting and flushing",
            Mutant::M23 => "grab_mapping_entry's PMD downgrade skips unmap_mapping_pages for a zero PMD entry",
            Mutant::M24 => "dax_unlock_entry wakes the next waiter before storing the unlocked value",
            Mutant::M25 => "get_next_unlocked_entry queues itself only after dropping xa_lock",
            Mutant::M26 => "the busy scan does not put_unlocked_entry (a consumed wake is not passed on)",
            Mutant::M27 => "dax_fault_iter never drops its temporary reference",
            Mutant::M28 => "zap_pte_range does not remove the rmap (mapcount stays)",
            Mutant::M29 => "free_zone_device_folio does not wake_up_var",
            Mutant::M30 => "wait_page_idle tests the condition before queueing itself",
            Mutant::M33 => "dax_delete_mapping_range does not decrement nrpages",
            Mutant::M35 => "truncate frees the blocks before breaking the layout",
            Mutant::M38 => "dax_insert_entry skips unmap_mapping_pages for a shared-extent refault",
            Mutant::M39 => "GUP accepts FOLL_LONGTERM on an fsdax VMA (check_vma_flags misses vma_is_fsdax)",
            Mutant::M40 => "dax_lock_folio does not re-check folio->mapping after taking xa_lock",
            Mutant::M41 => "__split_huge_pmd_locked treats DAX VMAs as special-huge (no !vma_is_dax guard): no rmap removal, no folio_put",
            Mutant::M42 => "dax_busy_page drops the folio_ref_count test: no folio is ever busy",
            Mutant::B1 => "(pre-98c183a4fccf) dax_disassociate_entry without the zero/empty guard",
            Mutant::B2 => "(pre-May 2026) guard after dax_to_folio, on a device whose vmemmap lacks pfn 0 (virtio-pmem altmap)",
            Mutant::B3 => "(pre-Apr 2025) the split does not reset page[1]'s order and _nr_pages",
            Mutant::B4 => "(6.15-rc7) wait_entry_unlocked_exclusive uses xas_pause",
            Mutant::B5 => "(6.15) vmf_insert_folio_pmd marks refcounted DAX PMDs special",
            Mutant::B8 => "(v8) free_zone_device_folio returns early when pgmap->ops is NULL (virtio-fs), skipping the wake",
            Mutant::B11 => "(pre-2021) invalidation wakes WAKE_NEXT; a woken waiter finding NULL passes nothing on",
            Mutant::B12 => "(pre-2019) a PMD fault waits on a PTE entry, on the PMD-aligned key",
            Mutant::B14 => "(pre-2019) dax_insert_entry re-associates on every fault, even when the entry does not change",
            Mutant::B19 => "(pre-series) the busy scan returns early when the mapping is not mapped",
            Mutant::B20 => "(pre-6be3e21d25ca) scan and delete loops move past a locked entry instead of waiting for it",
            Mutant::B21 => "(pre-series) refcount 1 means idle: busy iff refcount > 1, idle iff refcount == 1",
        }
    }

    /// A historical-bug switch (the kernel before a fix), not an invented mistake.
    pub fn is_historical(self) -> bool {
        self.name().starts_with('B')
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
                format!("unknown mutant `{s}` (known: {})", known.join(", "))
            })
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that selects the model's behaviour for one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub kernel: KernelState,
    pub mutant: Option<Mutant>,
    /// Number of hashed entry waitqueues; 1 makes every key collide, which
    /// exercises the key filter of the wake function.
    pub wait_buckets: usize,
    /// Model a plain store of the value a field already holds as a store
    /// (C memory model) rather than as no store (KCSAN's value-change rule).
    pub strict_same_value_races: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            kernel: KernelState::V6_15,
            mutant: None,
            wait_buckets: 8,
            strict_same_value_races: false,
        }
    }
}

impl Config {
    pub fn has(&self, m: Mutant) -> bool {
        self.mutant == Some(m)
    }

    /// Whether any of `ms` is on (a mutant and a historical switch that
    /// change the same line).
    pub fn any(&self, ms: &[Mutant]) -> bool {
        self.mutant.is_some_and(|m| ms.contains(&m))
    }
}
