//! `mm/truncate.c` (v6.15): the page-cache side of truncate and
//! invalidation for a DAX mapping.

use crate::cx::Cx;
use crate::dax::invalidate::dax_invalidate_mapping_entry_sync;
use crate::dax::layout::dax_delete_mapping_entry;
use crate::entry::*;
use crate::mm::memory::unmap_mapping_pages;
use crate::trace::file_name;

/// `mm/truncate.c` `truncate_inode_pages_range` →
/// `truncate_folio_batch_exceptionals` for a DAX mapping: any entry still
/// present is a bug (the canary for break-layout leaving an entry behind);
/// delete it so truncate goes on.
pub(crate) fn truncate_inode_pages_range(cx: &Cx, file: u8, start: u64, end: u64) {
    let _f = cx.enter("truncate_inode_pages_range");
    let left: Vec<u64> = {
        let xa = cx.xa_lock(file);
        xa.entries()
            .filter(|&(i, _)| i >= start && i <= end)
            .map(|(i, _)| i)
            .collect()
    };
    for index in left {
        cx.warn_on(
            true,
            "mm/truncate.c truncate_folio_batch_exceptionals: WARN_ON_ONCE(1) on a DAX entry",
            || {
                format!(
                    "entry left at {}[{index}] after break-layout",
                    file_name(file)
                )
            },
        );
        dax_delete_mapping_entry(cx, file, index);
    }
}

/// `mm/truncate.c` `invalidate_inode_pages2_range` for a DAX mapping:
/// invalidate every clean entry in `[start, end]`, then unmap the whole range
/// from every process. Entries go (and their folios are disassociated, possibly
/// split) **before** the page tables that map them: H1. Returns 0 or -EBUSY
/// when a dirty entry was kept.
pub fn invalidate_inode_pages2_range(cx: &Cx, file: u8, start: u64, end: u64) -> i32 {
    let _f = cx.enter("invalidate_inode_pages2_range");
    // find_get_entries walks the xarray under RCU; the model has no RCU and
    // reads the batch in one xa_lock section. Each index is re-looked-up
    // (and waited for) by __dax_invalidate_entry.
    let batch: Vec<u64> = {
        let xa = cx.xa_lock(file);
        if xa.is_empty() {
            // mapping_empty(): return before the unmap.
            return 0;
        }
        let mut v = Vec::new();
        let mut cursor = start;
        while let Some((base, e)) = xa.find_from(cursor, end) {
            // The batch names an entry by the index the walk met it at.
            v.push(base.max(cursor));
            cursor = base + dax_entry_pages(e);
        }
        v
    };
    let mut ret = 0;
    for index in batch {
        if dax_invalidate_mapping_entry_sync(cx, file, index) == 0 {
            ret = -16; // -EBUSY
        }
    }
    // "For DAX we invalidate page tables after invalidating page cache."
    unmap_mapping_pages(cx, file, start, end);
    ret
}
