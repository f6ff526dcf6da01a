//! Run-time choices: which kernel state is modelled and which single mutant
//! (deliberate mistake) is switched on. One build runs them all.

use std::fmt;

/// The historical kernel state the model follows (spec §0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KernelState {
    /// The v6.15 tag as released (fs/dax.c at 00c010e1), the default:
    /// `wait_entry_unlocked_exclusive` still uses `xas_pause` (B4).
    #[default]
    V6_15,
    /// v6.15 plus the stable backport of dd59137bfe70 ("fs/dax: Fix "don't
    /// skip locked entries when scanning entries"", mainline in 6.16-rc1,
    /// 6.15-stable from 6.15.3): `xas_reset`, so the scan comes back to the
    /// entry it waited for.
    V6_15Y,
    /// Hildenbrand's June 2025 change: refcounted PMDs are no longer special (B5 fix).
    V6_16,
    /// `dax_folio_reset_order()` (clears `share` for every order) and the B2 guard order.
    Y2026,
}

impl KernelState {
    pub const ALL: [KernelState; 4] = [
        KernelState::V6_15,
        KernelState::V6_15Y,
        KernelState::V6_16,
        KernelState::Y2026,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KernelState::V6_15 => "v6.15",
            KernelState::V6_15Y => "v6.15.y",
            KernelState::V6_16 => "v6.16",
            KernelState::Y2026 => "2026",
        }
    }

    /// One line for `--kernel`'s help and `daxcheck list --mutants`.
    pub fn describe(self) -> &'static str {
        match self {
            KernelState::V6_15 => {
                "the v6.15 tag as released (fs/dax.c at 00c010e1): B4's xas_pause still skips a waited entry"
            }
            KernelState::V6_15Y => {
                "v6.15 with the stable fix dd59137bfe70 (6.15.3): wait_entry_unlocked_exclusive uses xas_reset"
            }
            KernelState::V6_16 => "B4 fixed; refcounted DAX PMDs are no longer special (the B5 fix)",
            KernelState::Y2026 => {
                "as v6.16, plus dax_folio_reset_order (clears share for every order: H5 fixed) and the B2 guard order"
            }
        }
    }

    /// Whether `wait_entry_unlocked_exclusive` has the B4 fix (`xas_reset`
    /// instead of `xas_pause`): every state after the v6.15 tag.
    pub fn has_b4_fix(self) -> bool {
        self != KernelState::V6_15
    }

    /// Whether `vmf_insert_folio_pmd` still builds the PMD through the pfn
    /// path, marking it special (B5): the 6.15 states. Hildenbrand's fix
    /// (6.16) carries no stable tag.
    pub fn special_dax_pmds(self) -> bool {
        matches!(self, KernelState::V6_15 | KernelState::V6_15Y)
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

/// What a mutant stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutantKind {
    /// An invented mistake a kernel developer could plausibly make (spec §7;
    /// M24 and up are ours).
    Mistake,
    /// The kernel before the fix of a historical bug (spec §6).
    Historical,
}

/// Declares every mutant once: one row gives its name, kind, optional kernel
/// state (the state it is judged under, when the fix it reverts exists only
/// there), spec row, one-line description and the code it changes. The
/// enum, [`Mutant::ALL`], `name`, `describe`, `kind`, `kernel`, `spec` and
/// `code` are generated from the rows, so a mutant cannot be left out of
/// one of them.
macro_rules! mutants {
    ($($name:ident: $kind:ident $(, kernel: $k:ident)?, spec $spec:literal,
        $what:literal,
        code $code:literal;)*) => {
        /// A deliberate mistake in the model, used to show that a scenario can
        /// fail. `M<n>` follow spec §7 (M24 and up are ours); `B<n>` revert the
        /// fix of a historical bug of spec §6. Each is a single change; one
        /// build runs them all. Declared by one row of the `mutants!` table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Mutant {
            $(
                #[allow(missing_docs)]
                $name,
            )*
        }

        impl Mutant {
            /// Every mutant, in table order.
            pub const ALL: &'static [Mutant] = &[$(Mutant::$name),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Mutant::$name => stringify!($name),)*
                }
            }

            /// One line: what the mutant changes, in kernel terms.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Mutant::$name => $what,)*
                }
            }

            pub fn kind(self) -> MutantKind {
                match self {
                    $(Mutant::$name => MutantKind::$kind,)*
                }
            }

            /// The spec row it follows (`§7 M6`, `§6 B5`, or `ours`).
            pub fn spec(self) -> &'static str {
                match self {
                    $(Mutant::$name => $spec,)*
                }
            }

            /// The model code it changes (file: function).
            pub fn code(self) -> &'static str {
                match self {
                    $(Mutant::$name => $code,)*
                }
            }

            /// The kernel state the mutant is judged under when `default` is
            /// asked for: a reverted fix only means something in a state that
            /// has the fix.
            pub fn kernel(self, default: KernelState) -> KernelState {
                self.only_in().unwrap_or(default)
            }

            /// The one kernel state the mutant applies to, if it is not every
            /// state.
            pub fn only_in(self) -> Option<KernelState> {
                match self {
                    $(Mutant::$name => None $(.or(Some(KernelState::$k)))?,)*
                }
            }
        }
    };
}

mutants! {
    M1: Mistake, spec "§7 M1",
        "dax_insert_entry moves the folio (dis)association before taking xa_lock",
        code "`dax/fault.rs: dax_insert_entry` does the disassociate/associate pair before `cx.xa_lock(file)`";
    M2: Mistake, spec "§7 M2 (§4 Q2)",
        "dax_fault_iter takes the temporary reference with folio_get (asserts refcount > 0) instead of folio_ref_inc",
        code "`dax/fault.rs: dax_fault_iter` takes the temporary reference with `folio_get` (asserts > 0), not `folio_ref_inc`";
    M3: Mistake, spec "§7 M3 (B11)",
        "__dax_invalidate_entry and dax_delete_mapping_range wake WAKE_NEXT instead of WAKE_ALL",
        code "`dax/layout.rs: dax_delete_mapping_range` and `dax/invalidate.rs: __dax_invalidate_entry` call `put_unlocked_entry` with WAKE_NEXT, not WAKE_ALL";
    M4: Mistake, spec "§7 M4 (B12)",
        "the entry waitqueue key uses the raw index, not the PMD-aligned one",
        code "`dax/entry_lock.rs: entry_key` skips `align_index` for PMD entries (the raw index keys the waitqueue)";
    M6: Mistake, spec "§7 M6 (§4 Q3)",
        "zap_huge_pmd treats DAX VMAs as special-huge: no rmap removal, no refcount put",
        code "`mm/huge_memory.rs: zap_huge_pmd` returns right after clearing the PMD (no rmap removal, no put)";
    M7: Mistake, spec "§7 M7",
        "dax_folio_put clears mapping but does not split the compound folio",
        code "`dax/folio.rs: dax_folio_put` returns before `dax_split_folio`";
    M8: Mistake, spec "§7 M8 (B3)",
        "the split in dax_folio_put skips folio_reset_order (page[1] keeps order and _nr_pages)",
        code "`dax/folio.rs: dax_split_folio` skips the `folio_reset_order` stores to page[1]'s order and `_nr_pages`";
    M9: Mistake, spec "§7 M9 (B6)",
        "the split happens in free_zone_device_folio at refcount 0 instead of at disassociation",
        code "`dax/folio.rs: dax_folio_put` skips the split; `mm/memremap.rs: free_zone_device_folio` splits at refcount 0";
    M10: Mistake, spec "§7 M10 (B21)",
        "old idle rule: busy iff refcount > 1, dax_page_is_idle iff refcount == 1",
        code "`dax/folio.rs: dax_busy_page` busy iff `r > 1`; `dax_page_is_idle` iff `r == 1`";
    M12: Mistake, spec "§7 M12 (B9)",
        "free_zone_device_folio wakes &folio->_refcount instead of &folio->page",
        code "`mm/memremap.rs: free_zone_device_folio` wakes key `VarRefcount` (`&folio->_refcount`), not `Var` (`&folio->page`)";
    M13: Mistake, spec "§7 M13 (B10)",
        "the XFS two-inode remap lock treats a NULL busy page as busy",
        code "`xfs/inode.rs: xfs_mmaplock_two_inodes_and_break_dax_layout` treats B as busy even when `dax_break_layout` returned 0";
    M14: Mistake, spec "§7 M14",
        "dax_busy_page tests refcount != 0 (ignores mapcount) and the busy scan does not unmap first",
        code "`dax/folio.rs: dax_busy_page` busy iff `r != 0`, and `dax_layout_busy_page_range` skips `unmap_mapping_pages`";
    M15: Mistake, kernel: V6_15Y, spec "§7 M15 (B4)",
        "wait_entry_unlocked_exclusive uses xas_pause instead of xas_reset",
        code "`dax/entry_lock.rs: wait_entry_unlocked_exclusive` moves the cursor past the entry (`xas_pause`)";
    M16: Mistake, spec "§7 M16 (B1)",
        "dax_disassociate_entry has no zero/empty-entry guard",
        code "`dax/folio.rs: dax_disassociate_entry` drops the zero/empty-entry guard";
    M17: Mistake, spec "§7 M17 (B2)",
        "the zero/empty guard comes after dax_to_folio, and pfn 0 has no struct page (altmap)",
        code "`dax/folio.rs: guard_after_translate` is true on 2026 as well, and `world.rs` makes pfn 0 `FrameKind::Absent` (altmap)";
    M18: Mistake, spec "§7 M18",
        "the mkwrite upgrade in insert_page_into_pte_locked takes a new folio_get",
        code "`mm/memory.rs: vmf_insert_page_mkwrite` (the `insert_page_into_pte_locked` upgrade branch) adds a `folio_get`";
    M20: Mistake, spec "§7 M20",
        "GUP-fast does not re-check the PTE/PMD after folio_try_get",
        code "`mm/gup.rs: folio_try_get` is a plain `fetch_add` (no zero check), and `gup_fast` skips the PTE/PMD re-read";
    M21: Mistake, spec "§7 M21",
        "dax_writeback_one clears DIRTY before write-protecting and flushing",
        code "`dax/writeback.rs: dax_writeback_one` clears DIRTY before `pfn_mkclean_range` and the flush, not at unlock";
    M23: Mistake, spec "§7 M23",
        "grab_mapping_entry's PMD downgrade skips unmap_mapping_pages for a zero PMD entry",
        code "`dax/fault.rs: grab_mapping_entry` PMD downgrade skips `unmap_mapping_pages` for a zero PMD entry";
    M24: Mistake, spec "ours",
        "dax_unlock_entry wakes the next waiter before storing the unlocked value",
        code "`dax/entry_lock.rs: dax_unlock_entry` wakes (WAKE_NEXT) before it stores the unlocked value";
    M25: Mistake, spec "ours",
        "get_next_unlocked_entry queues itself only after dropping xa_lock",
        code "`dax/entry_lock.rs: get_next_unlocked_entry` drops `xa_lock` before `prepare_to_wait`";
    M26: Mistake, kernel: V6_15Y, spec "ours",
        "the busy scan does not put_unlocked_entry (a consumed wake is not passed on)",
        code "`dax/layout.rs: dax_layout_busy_page_range` omits `put_unlocked_entry` after `wait_entry_unlocked_exclusive`";
    M27: Mistake, spec "ours",
        "dax_fault_iter never drops its temporary reference",
        code "`dax/fault.rs: dax_fault_iter` omits the final `folio_put` of the temporary reference";
    M28: Mistake, spec "ours",
        "zap_pte_range does not remove the rmap (mapcount stays)",
        code "`mm/memory.rs: zap_pte_range` skips `folio_remove_rmap_pte`";
    M29: Mistake, spec "ours",
        "free_zone_device_folio does not wake_up_var",
        code "`mm/memremap.rs: free_zone_device_folio` returns before `wake_up_var`";
    M30: Mistake, spec "ours",
        "wait_page_idle tests the condition before queueing itself",
        code "`dax/layout.rs: wait_page_idle` tests `dax_page_is_idle` before `prepare_to_wait`";
    M33: Mistake, spec "ours",
        "dax_delete_mapping_range does not decrement nrpages",
        code "`dax/layout.rs: dax_delete_mapping_range` skips `xa.nrpages -= ...`";
    M35: Mistake, spec "ours",
        "truncate frees the blocks before breaking the layout",
        code "`xfs/inode.rs: xfs_setattr_size` calls `xfs_free_block` for the range before `dax_break_layout`";
    M38: Mistake, spec "ours",
        "dax_insert_entry skips unmap_mapping_pages for a shared-extent refault",
        code "`dax/fault.rs: dax_insert_entry` skips `unmap_mapping_pages` when `shared`";
    M39: Mistake, spec "ours (series patch e5cb23256347)",
        "GUP accepts FOLL_LONGTERM on an fsdax VMA (check_vma_flags misses vma_is_fsdax)",
        code "`mm/gup.rs: longterm_refused` lets FOLL_LONGTERM through (`check_vma_flags` without `vma_is_fsdax`)";
    M40: Mistake, kernel: V6_15Y, spec "ours (B16 shape)",
        "dax_lock_folio does not re-check folio->mapping after taking xa_lock",
        code "`dax/lock_folio.rs: dax_lock_folio` skips the `folio->mapping != m` re-check under `xa_lock`";
    M41: Mistake, spec "ours (§4 Q3, split side)",
        "__split_huge_pmd_locked treats DAX VMAs as special-huge (no !vma_is_dax guard): no rmap removal, no folio_put",
        code "`mm/huge_memory.rs: __split_huge_pmd_locked` returns after clearing a DAX PMD, as `vma_is_special_huge()` without the `!vma_is_dax()` guard would (no rmap removal, no `folio_put`)";
    M42: Mistake, spec "ours (`why --without`)",
        "dax_busy_page drops the folio_ref_count test: no folio is ever busy",
        code "`dax/folio.rs: dax_busy_page` drops the `folio_ref_count(folio) - folio_mapcount(folio)` test: no folio is ever busy";
    M43: Mistake, spec "ours (issue 10, generated mutant mm/folio.rs:66)",
        "dax_busy_page reads the head page's own _mapcount instead of folio_mapcount: a PMD mapping is not counted",
        code "`dax/folio.rs: dax_busy_page` reads the head page's `mapcount` (`page_mapcount(&folio->page)`), not `folio_mapcount`, which a PMD mapping leaves at 0";
    M44: Mistake, spec "ours (issue 10, generated mutant dax/lock_folio.rs, zero/empty test)",
        "dax_lock_mapping_entry locks a zero entry as a real one: memory failure poisons the shared zero page",
        code "`dax/lock_folio.rs: dax_lock_mapping_entry` drops the `dax_is_zero_entry` test: a zero entry is locked and its page (the zero page) handed back";
    M45: Mistake, spec "ours (issue 10, generated mutant dax/writeback.rs:74)",
        "dax_writeback_mapping_range writes back only the first TOWRITE entry of its range",
        code "`dax/writeback.rs: dax_writeback_mapping_range` leaves its loop after the first `dax_writeback_one`";
    M46: Mistake, spec "ours (issue 10, coverage of dax_lock_folio)",
        "dax_lock_folio locks the entry it finds locked instead of waiting for it",
        code "`dax/lock_folio.rs: dax_lock_folio` skips the `dax_is_locked` wait arm: the entry another thread holds locked is locked again";
    M47: Mistake, spec "ours (issue 10, coverage of the CoW write(2))",
        "the CoW write(2) does not clear the range's dirty tags before invalidating it",
        code "`xfs/file.rs: xfs_file_dax_write` skips `__dax_clear_dirty_range`: a dirty entry survives the invalidation and names the block `end_cow` frees";
    M48: Mistake, spec "ours (issue 10, coverage of mf_generic_kill_procs)",
        "mf_generic_kill_procs goes on with cookie 0 (a folio with no owner) instead of -EBUSY",
        code "`mm/memory_failure.rs: mf_generic_kill_procs` drops the `cookie == 0` return: it poisons, kills and unlocks through a folio `dax_lock_folio` did not lock";
    M49: Mistake, spec "ours (issue 10, generated mutant mm/memory_failure.rs:71, collect_procs)",
        "collect_procs_file collects nobody for a page inside the file: memory failure leaves the poisoned page mapped",
        code "`mm/memory_failure.rs: collect_procs` inverts its page-offset test (`pgoff < size`, not `>=`): every in-range page counts as beyond the file, so `unmap_and_kill` is skipped";
    M50: Mistake, spec "ours (issue 10, generated mutant mm/memory_failure.rs:35, unmap_and_kill)",
        "unmap_and_kill subtracts the entry's pages from its base: from index 2 on the unmap range is empty",
        code "`mm/memory_failure.rs: unmap_and_kill` unmaps `base..=base - pages - 1` (`-` for `+`): empty from index 2 on, so the poisoned page stays mapped";
    M51: Mistake, spec "ours (issue 10, generated mutant mm/memory_failure.rs:132, mf_dax_kill_procs)",
        "mf_dax_kill_procs returns 0 at once: nothing is locked, poisoned or unmapped",
        code "`mm/memory_failure.rs: mf_dax_kill_procs` returns 0 before its loop: the FS's failed block stays mapped and unpoisoned";
    M52: Mistake, spec "ours (issue 10, generated mutant mm/gup.rs:315)",
        "GUP-fast grabs a read-only PTE for FOLL_WRITE (pte_access_permitted without the write test)",
        code "`mm/gup.rs: gup_fast_pgd_range` drops the `flags.write && !write` bail of the PTE arm: a FOLL_WRITE pin of a read-only PTE, without the write fault";
    M53: Mistake, spec "ours (issue 10, generated mutant mm/gup.rs:204)",
        "follow_page_mask follows a read-only PTE for FOLL_WRITE (can_follow_write_pte always true)",
        code "`mm/gup.rs: follow_page_mask` drops the `flags.write && !write` arm of the PTE case: the slow path pins a read-only PTE for write without `faultin_page`";
    M54: Mistake, spec "ours (issue 10, generated mutants mm/gup.rs:182 and :298)",
        "the FOLL_WRITE test of a huge PMD is inverted (refuses a writable PMD, grants a read-only one)",
        code "`mm/gup.rs: pmd_write_as_tested` inverts `pmd_write` in `follow_page_mask` and `gup_fast_pgd_range`: a read-only PMD (the huge zero PMD in GUP-fast) is pinned for write";
    M55: Mistake, spec "ours (issue 10, generated mutant mm/memory.rs:416)",
        "handle_pte_fault looks at the wrong PTE of the table (the slot number as the PTE index)",
        code "`mm/memory.rs: pte_at` indexes the PTE table with `index / PG_PMD_NR`: a fault of A[1] reads A[0]'s PTE and returns \"already mapped\"";
    M56: Mistake, spec "ours (issue 10, generated mutant mm/huge_memory.rs:63)",
        "vmf_insert_folio_pmd's write insert over a PMD of the same folio returns -EEXIST without making it writable",
        code "`mm/huge_memory.rs: vmf_insert_folio_pmd` drops the write-upgrade arm: a write fault on the read-only PMD of its own folio leaves it read-only and returns NOPAGE";
    M57: Mistake, spec "ours (issue 10, generated mutant mm/memory.rs:380)",
        "handle_mm_fault takes a write fault on a read-only PMD as already mapped (no wp_huge_pmd)",
        code "`mm/memory.rs: __handle_mm_fault` tests `write || writable` for the early return: a write fault on a read-only huge PMD returns NOPAGE without the upgrade";
    M58: Mistake, spec "ours (issue 10, generated mutant mm/rmap.rs:123, folio_remove_rmap_pmd)",
        "zap_huge_pmd's mapcount WARN tests > 0: it fires when another process still maps the folio by PMD",
        code "`mm/rmap.rs: folio_remove_rmap_pmd` WARNs on `_entire_mapcount > 0` after the removal instead of `< 0`";
    M59: Mistake, spec "ours (issue 10, generated mutant mm/rmap.rs:28, mapcount_add)",
        "folio_add/remove_rmap change the head page's mapcount where they should change _large_mapcount",
        code "`mm/rmap.rs: mapcount_add` has no `large_mapcount` arm: a large folio's `_large_mapcount` stays 0 and its head's own mapcount counts double";
    M60: Mistake, spec "ours (issue 10, generated mutant dax/writeback.rs:104, dax_writeback_one)",
        "dax_writeback_one skips an entry it waited for when it still names the same block",
        code "`dax/writeback.rs: dax_writeback_one` inverts the pfn test after `get_next_unlocked_entry`: an unchanged entry is skipped, a reallocated one written back";
    M61: Mistake, spec "ours (issue 10, generated mutant mm/gup.rs:329, gup_fast_pgd_range)",
        "GUP-fast's re-check of the PTE is inverted: an unchanged PTE bails, a changed one keeps the pin",
        code "`mm/gup.rs: gup_fast_pgd_range` tests `now != pte` after the grab: a pin survives a zap between the lockless walk and the grab";
    M62: Mistake, spec "ours (issue 10, generated mutant mm/memory.rs:104, pmd_is_table)",
        "__handle_mm_fault takes a PMD that maps a PTE table for pmd_none: a PMD fault over a process's own PTE table goes into the DAX PMD fault",
        code "`mm/memory.rs: pmd_is_table` answers false, to `__handle_mm_fault` and to `dax_iomap_pmd_fault`'s own test: a PMD fault over the process's own PTE table maps nothing (`vmf_insert_folio_pmd` refuses the table) and returns NOPAGE";
    B1: Historical, spec "§6 B1",
        "(pre-98c183a4fccf) dax_disassociate_entry without the zero/empty guard",
        code "as M16 (same line)";
    B2: Historical, spec "§6 B2 = B7",
        "(pre-May 2026) guard after dax_to_folio, on a device whose vmemmap lacks pfn 0 (virtio-pmem altmap)",
        code "as M17 (same lines)";
    B3: Historical, spec "§6 B3",
        "(pre-Apr 2025) the split does not reset page[1]'s order and _nr_pages",
        code "as M8 (same line)";
    B4: Historical, kernel: V6_15Y, spec "§6 B4",
        "(the v6.15 tag; fixed by dd59137bfe70 in 6.16-rc1 and 6.15.3) wait_entry_unlocked_exclusive uses xas_pause",
        code "as M15 (same line)";
    B5: Historical, kernel: V6_16, spec "§6 B5",
        "(6.15) vmf_insert_folio_pmd marks refcounted DAX PMDs special",
        code "`mm/huge_memory.rs: vmf_insert_folio_pmd` marks the PMD special on v6.16/2026 too (on v6.15 it is special anyway)";
    B8: Historical, spec "§6 B8",
        "(v8) free_zone_device_folio returns early when pgmap->ops is NULL (virtio-fs), skipping the wake",
        code "`mm/memremap.rs: free_zone_device_folio` WARNs on `!pgmap->ops` and returns before the wake";
    B11: Historical, spec "§6 B11",
        "(pre-2021) invalidation wakes WAKE_NEXT; a woken waiter finding NULL passes nothing on",
        code "`dax/invalidate.rs: __dax_invalidate_entry` wakes WAKE_NEXT (only there; M3 also changes delete-range)";
    B12: Historical, spec "§6 B12",
        "(pre-2019) a PMD fault waits on a PTE entry, on the PMD-aligned key",
        code "`dax/entry_lock.rs: get_next_unlocked_entry` lets a PMD lookup wait on a locked PTE entry instead of returning CONFLICT";
    B14: Historical, spec "§6 B14",
        "(pre-2019) dax_insert_entry re-associates on every fault, even when the entry does not change",
        code "`dax/fault.rs: dax_insert_entry` moves the association to the PTE's page when a PTE fault lands in a PMD entry";
    B19: Historical, spec "§6 B19",
        "(pre-series) the busy scan returns early when the mapping is not mapped",
        code "`dax/layout.rs: dax_layout_busy_page_range` returns None when `!mapping_mapped`";
    B20: Historical, kernel: V6_15Y, spec "§6 B20",
        "(pre-6be3e21d25ca) scan and delete loops move past a locked entry instead of waiting for it",
        code "as M15 (same line; the pre-6be3e21d25ca skip and B4's `xas_pause` both move past the entry)";
    B21: Historical, spec "§6 B21",
        "(pre-series) refcount 1 means idle: busy iff refcount > 1, idle iff refcount == 1",
        code "as M10 (same lines)";
}

impl Mutant {
    /// A historical-bug switch (the kernel before a fix), not an invented mistake.
    pub fn is_historical(self) -> bool {
        self.kind() == MutantKind::Historical
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|m| m.name()).collect();
                format!("unknown mutant `{s}` (known: {})", known.join(", "))
            })
    }
}

impl std::str::FromStr for Mutant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mutant::parse(s)
    }
}

impl std::str::FromStr for KernelState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        KernelState::parse(s)
    }
}

impl fmt::Display for KernelState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The command line's value lists come from the same tables.
#[cfg(feature = "cli")]
impl clap::ValueEnum for Mutant {
    fn value_variants<'a>() -> &'a [Self] {
        Self::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

#[cfg(feature = "cli")]
impl clap::ValueEnum for KernelState {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.describe()))
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
