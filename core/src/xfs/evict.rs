//! `fs/xfs/xfs_super.c`, `fs/inode.c` (v6.15): inode eviction with the
//! final break-layout (spec §3.8 `dax_break_layout_final`).

use crate::cx::Cx;
use crate::dax::layout::dax_break_layout_final;
use crate::mm::truncate::truncate_inode_pages_range;
use crate::trace::file_name;

/// `fs/xfs/xfs_super.c` `xfs_fs_evict_inode` for a DAX inode, then
/// `destroy_inode`: break the layout for good, truncate the page cache, cycle
/// `xa_lock` in `clear_inode` (the barrier `dax_lock_folio`'s re-check relies
/// on), free.
pub fn xfs_fs_evict_inode(cx: &Cx, file: u8) {
    let _f = cx.enter("xfs_fs_evict_inode");
    dax_break_layout_final(cx, file);
    // truncate_inode_pages_final: any entry left is the truncate WARN.
    truncate_inode_pages_range(cx, file, 0, u64::MAX);
    drop(cx.xa_lock(file));
    destroy_inode(cx, file);
}

/// `fs/inode.c` `destroy_inode`: the inode and its `address_space` are freed
/// (at once: no RCU grace period is modelled).
pub fn destroy_inode(cx: &Cx, file: u8) {
    let _f = cx.enter("destroy_inode");
    cx.w.file(file).evicted.set(true);
    cx.note(format!("{} freed", file_name(file)));
}
