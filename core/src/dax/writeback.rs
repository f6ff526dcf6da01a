//! `fs/dax.c` (v6.15, 00c010e1): writeback (spec §3.10):
//! `tag_pages_for_writeback`, `dax_writeback_mapping_range` and
//! `dax_writeback_one` (whose rmap walk is `mm::rmap::pfn_mkclean_range`).
//!
//! Left out: the `XA_CHECK_SCHED` pause every 4096 entries (the files are
//! tiny), `dax_flush` (a note: the model has no cache), mmu notifiers, and
//! writeback errors (`mapping_set_error`).

use crate::config::Mutant;
use crate::cx::{Cx, LockId};
use crate::dax::entry_lock::Lookup;
use crate::dax::entry_lock::{
    dax_lock_entry, dax_wake_entry, get_next_unlocked_entry, put_unlocked_entry,
};
use crate::entry::*;
use crate::mm::rmap::pfn_mkclean_range;
use crate::trace::{file_name, What};
use crate::violation::{Check, Inv};
use crate::wait::WakeMode;
use crate::world::{Pmd, Pte};

/// `fs/dax.c` `tag_pages_for_writeback`: copy DIRTY to TOWRITE for every entry
/// in `[start, end]`, under `xa_lock`.
pub fn tag_pages_for_writeback(cx: &Cx, file: u8, start: u64, end: u64) {
    let _f = cx.enter("tag_pages_for_writeback");
    let mut xa = cx.xa_lock(file);
    let tagged: Vec<u64> = xa
        .dirty
        .iter()
        .copied()
        .filter(|&b| b >= align_index(start, PMD_ORDER) && b <= end)
        // A mark names an entry's base; only bases with an entry count.
        .filter(|&b| xa.load(b).is_some_and(|(base, _)| base == b))
        .collect();
    for b in tagged {
        if xa.towrite.insert(b) {
            cx.note(format!("xas_set_mark TOWRITE {}[{b}]", file_name(file)));
        }
    }
}

/// `fs/dax.c` `dax_writeback_mapping_range` for `WB_SYNC_ALL` over
/// `wbc->range_start..=range_end` (in pages; `0..=u64::MAX` is the whole
/// file): tag, then write back every TOWRITE entry in index order. Returns 0
/// or -EIO.
pub fn dax_writeback_mapping_range(cx: &Cx, file: u8, start: u64, end: u64) -> i32 {
    let _f = cx.enter("dax_writeback_mapping_range");
    {
        // mapping_empty(): nothing to write back.
        let xa = cx.xa_lock(file);
        if xa.is_empty() {
            return 0;
        }
    }
    tag_pages_for_writeback(cx, file, start, end);
    let mut xa = cx.xa_lock(file);
    let mut cursor = start;
    let mut ret = 0;
    // I16's per-call record: the TOWRITE entries this call must write back.
    let mut pending = Pending::tagged(&xa, start, end);
    // xas_for_each_marked(&xas, entry, end_index, PAGECACHE_TAG_TOWRITE)
    loop {
        let next = xa
            .towrite
            .iter()
            .copied()
            .find(|&b| b >= align_index(cursor, PMD_ORDER) && b <= end)
            .and_then(|b| xa.load(b).filter(|&(base, _)| base == b));
        pending.passed(align_index(cursor, PMD_ORDER), next.map(|(b, _)| b), end);
        let Some((base, e)) = next else { break };
        let (g, r) = dax_writeback_one(cx, file, xa, base, e);
        xa = g;
        if r < 0 {
            ret = r;
            break;
        }
        cursor = base + dax_entry_pages(e);
        if cx.w.has(Mutant::M45) {
            break;
        }
    }
    drop(xa);
    if ret == 0 {
        pending.check(cx, file);
    }
    check_written_back(cx, file, start, end);
    ret
}

/// Model-side, for I16: the entries a data-integrity writeback found tagged
/// TOWRITE in its range (with their pfn and how often their TOWRITE had been
/// cleared), until its scan reaches them. The scan passes an entry by
/// handing it to `dax_writeback_one` (which may skip it: gone, reallocated,
/// done by another writer) or by finding its tag already cleared by another
/// writer; an entry the cursor never reached was skipped, and stays DIRTY
/// and TOWRITE after an fsync that returned 0.
struct Pending {
    unreached: std::collections::BTreeSet<u64>,
    tagged: Vec<(u64, u64, u64)>,
}

impl Pending {
    fn tagged(xa: &Xarray, start: u64, end: u64) -> Self {
        let lo = align_index(start, PMD_ORDER);
        let unreached: std::collections::BTreeSet<u64> =
            xa.towrite.range(lo..=end.max(lo)).copied().collect();
        let tagged = unreached
            .iter()
            .filter_map(|&b| {
                let (_, e) = xa.load(b)?;
                let clears = xa.towrite_clears.get(&b).copied().unwrap_or(0);
                Some((b, dax_to_pfn(e), clears))
            })
            .collect();
        Pending { unreached, tagged }
    }

    /// The scan looked from `from` and found `next` (or nothing up to `end`).
    fn passed(&mut self, from: u64, next: Option<u64>, end: u64) {
        let to = next.unwrap_or(end);
        self.unreached.retain(|&b| b < from || b > to);
    }

    /// At a return of 0: every entry the call found tagged was reached, and
    /// was written back (its TOWRITE cleared, by this call or another
    /// writer) unless it is gone or now names another block.
    fn check(&self, cx: &Cx, file: u8) {
        if let Some(b) = self.unreached.first() {
            cx.violate(
                Check::Inv(Inv::DirtyTracking),
                format!(
                    "writeback of {} returned 0, but its scan never reached [{b}], which it \
                     found tagged TOWRITE: not written back",
                    file_name(file)
                ),
            );
            return;
        }
        let xa = cx.w.files[file as usize].xa.peek();
        for &(b, pfn, clears) in &self.tagged {
            let same_block = xa
                .load(b)
                .is_some_and(|(base, e)| base == b && dax_to_pfn(e) == pfn);
            let cleared = xa.towrite_clears.get(&b).copied().unwrap_or(0) > clears;
            if same_block && !cleared {
                cx.violate(
                    Check::Inv(Inv::DirtyTracking),
                    format!(
                        "writeback of {} returned 0, but [{b}] (pfn {pfn}), which it found \
                         tagged TOWRITE, still names that block and was never written back",
                        file_name(file)
                    ),
                );
                return;
            }
        }
    }
}

/// `fs/dax.c` `dax_writeback_one`: with `xa_lock` held, lock the entry, clear
/// TOWRITE, write-protect every mapping of its pfns, flush, then store it
/// unlocked and clear DIRTY. Returns with `xa_lock` held, and 0 or -EIO.
pub fn dax_writeback_one<'a>(
    cx: &'a Cx,
    file: u8,
    xa: crate::cx::Held<'a, Xarray>,
    index: u64,
    entry: u64,
) -> (crate::cx::Held<'a, Xarray>, i32) {
    let _f = cx.enter("dax_writeback_one");
    let mut xa = xa;
    let mut entry = entry;
    let mut base = index;
    if dax_is_locked(entry) {
        let old = entry;
        let (g, l) = get_next_unlocked_entry(cx, file, xa, index, 0);
        xa = g;
        let Lookup::Entry { base: b, e } = l else {
            // Punched out while we waited: nothing to write back.
            put_unlocked_entry(cx, file, index, l, WakeMode::Next);
            return (xa, 0);
        };
        // M60 inverts the test: the entry it waited for is skipped when it
        // still names the same block.
        if (dax_to_pfn(old) != dax_to_pfn(e)) != cx.w.has(Mutant::M60) {
            // Reallocated elsewhere (pfns compared, not lock or type bits).
            cx.note(format!(
                "{}[{b}] now pfn {}, was {}: skip",
                file_name(file),
                dax_to_pfn(e),
                dax_to_pfn(old)
            ));
            put_unlocked_entry(cx, file, index, l, WakeMode::Next);
            return (xa, 0);
        }
        if cx.warn_on(
            dax_is_empty_entry(e) || dax_is_zero_entry(e),
            "fs/dax.c dax_writeback_one: WARN_ON_ONCE(dax_is_empty_entry(entry) || dax_is_zero_entry(entry))",
            || format!("{}[{b}] is {}", file_name(file), crate::trace::entry_str(e)),
        ) {
            put_unlocked_entry(cx, file, index, l, WakeMode::Next);
            return (xa, -5);
        }
        if !xa.towrite.contains(&b) {
            // Another fsync thread has already done this entry.
            cx.note(format!(
                "{}[{b}] TOWRITE already clear: skip",
                file_name(file)
            ));
            put_unlocked_entry(cx, file, index, l, WakeMode::Next);
            return (xa, 0);
        }
        (base, entry) = (b, e);
    }
    // Lock the entry to serialise with page faults.
    dax_lock_entry(cx, &mut xa, file, base, entry);
    xa.clear_towrite(base);
    cx.note(format!(
        "xas_clear_mark TOWRITE {}[{base}]",
        file_name(file)
    ));
    if cx.w.has(Mutant::M21) {
        // M21: the dirty tag goes before the mappings are write-protected.
        xa.dirty.remove(&base);
        cx.note(format!("xas_clear_mark DIRTY {}[{base}]", file_name(file)));
    }
    drop(xa);

    let pfn = dax_to_pfn(entry);
    let count = dax_entry_pages(entry);
    let index = align_index(base, dax_entry_order(entry));
    {
        let w = &cx.w;
        let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
        // vma_interval_tree_foreach over [index, index + count - 1]: every
        // live VMA of the file (each process maps the whole file).
        for mm in &w.mms {
            if mm.vma_live[file as usize].get() {
                pfn_mkclean_range(cx, mm.id, file, pfn, count, index);
            }
        }
    }
    cx.note(format!("dax_flush pfn {pfn}..{}", pfn + count - 1));

    let mut xa = cx.xa_lock(file);
    let old = xa.store(index, dax_entry_order(entry), Some(entry));
    let owner = xa.owners.remove(&index);
    if old != Some(entry | DAX_LOCKED) || owner != Some(cx.tid) {
        cx.violate(
            Check::Inv(Inv::EntryLockExclusion),
            format!(
                "T{} stores {}[{index}] unlocked, but found {:?} owned by {:?}",
                cx.tid,
                file_name(file),
                old.map(crate::trace::entry_str),
                owner
            ),
        );
    }
    cx.ev(What::EntryUnlock { file, index, entry });
    if !cx.w.has(Mutant::M21) {
        xa.dirty.remove(&index);
        cx.note(format!("xas_clear_mark DIRTY {}[{index}]", file_name(file)));
    }
    dax_wake_entry(cx, file, index, entry, WakeMode::Next);
    (xa, 0)
}

/// I16, checked where a data-integrity writeback returns (a model check:
/// reads shadows only). Every mapping in the range that is still writable
/// must belong to an entry tagged DIRTY, so that the next fsync flushes what
/// is written through it. An entry that is gone is I15's business.
fn check_written_back(cx: &Cx, file: u8, start: u64, end: u64) {
    let w = &cx.w;
    let xa = w.files[file as usize].xa.peek();
    for mm in &w.mms {
        for (s, slot) in mm.pt[file as usize].iter().enumerate() {
            let sbase = s as u64 * PG_PMD_NR;
            let mut writable = Vec::new();
            if let Pmd::Huge { write: true, .. } = slot.pmd.peek() {
                writable.push(sbase);
            }
            for (i, p) in slot.ptes.peek().iter().enumerate() {
                if let Pte::Present { write: true, .. } = p {
                    writable.push(sbase + i as u64);
                }
            }
            for index in writable {
                if index < start || index > end {
                    continue;
                }
                if let Some((base, _)) = xa.load(index) {
                    if !xa.dirty.contains(&base) {
                        cx.violate(
                            Check::Inv(Inv::DirtyTracking),
                            format!(
                                "writeback of {} returned while mm{} maps [{index}] writable and entry [{base}] is not DIRTY",
                                file_name(file),
                                mm.id
                            ),
                        );
                    }
                }
            }
        }
    }
}
