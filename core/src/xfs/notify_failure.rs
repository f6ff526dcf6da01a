//! `fs/xfs/xfs_notify_failure.c` (v6.15): how XFS hands a failed pmem
//! block to memory failure. Left out: the rmap query that turns the failed
//! device range into (inode, file range) owners (the caller passes them
//! resolved), `MF_MEM_PRE_REMOVE` (the unbind path, which invalidates
//! instead of poisoning) and the shutdown on metadata blocks.

use crate::cx::Cx;
use crate::entry::*;
use crate::mm::memory_failure::mf_dax_kill_procs;
use crate::trace::file_name;
use crate::violation::{Check, Inv};

/// `fs/xfs/xfs_notify_failure.c` `xfs_dax_failure_fn` for one rmap record
/// of a file: `mf_dax_kill_procs(mapping, index, count)`. Model-side, I22
/// as the filesystem sees the call return 0: every index whose entry was a
/// real one, the same before and after the call (no store in the mapping
/// changed more than a lock bit in between), was locked by the call while it
/// held that entry, so its page is HWPoison now (the flag is never cleared).
pub fn xfs_dax_failure_fn(cx: &Cx, file: u8, index: u64, count: u64) -> i32 {
    let _f = cx.enter("xfs_dax_failure_fn");
    let pages = |xa: &Xarray| -> Vec<(u64, u64)> {
        (index..index.saturating_add(count))
            .filter_map(|i| {
                let (_, e) = xa.load(i)?;
                (!dax_is_zero_entry(e) && !dax_is_empty_entry(e)).then(|| (i, dax_to_pfn(e)))
            })
            .collect()
    };
    let before = {
        let xa = cx.w.file(file).xa.peek_ref();
        (xa.replaced, pages(&xa))
    };
    let rc = mf_dax_kill_procs(cx, file, index, count);
    let after = {
        let xa = cx.w.file(file).xa.peek_ref();
        (xa.replaced, pages(&xa))
    };
    if rc != 0 || after != before {
        return rc;
    }
    for (i, p) in before.1 {
        if !cx.w.frames[p as usize].hwpoison.peek() {
            cx.violate(
                Check::Inv(Inv::MemoryFailureUnmap),
                format!(
                    "xfs_dax_failure_fn: mf_dax_kill_procs({}, {index}, {count}) returned 0, but \
                     page {p}, the entry at {}[{i}] all through the call, is not marked HWPoison",
                    file_name(file),
                    file_name(file)
                ),
            );
        }
    }
    rc
}
