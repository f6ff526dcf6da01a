//! `fs/xfs/xfs_reflink.c` (v6.15): FICLONERANGE and the CoW fork's
//! allocate/end steps.

use crate::cx::{Cx, LockId};
use crate::trace::file_name;
use crate::world::{Block, File};
use crate::xfs::inode::xfs_mmaplock_two_inodes_and_break_dax_layout;

/// `fs/xfs/xfs_reflink.c` `xfs_reflink_remap_range` (FICLONERANGE) of the whole
/// of `src` onto `dst`: both inodes locked and their layouts broken, then the
/// extents are shared by both files.
pub fn xfs_reflink_remap_range(cx: &Cx, src: File, dst: File) {
    let _f = cx.enter("xfs_reflink_remap_range");
    let (src, dst) = (src.0, dst.0);
    let Some(locks) = xfs_mmaplock_two_inodes_and_break_dax_layout(cx, src, dst) else {
        return;
    };
    let w = &cx.w;
    let (s, d) = (w.file(src), w.file(dst));
    let _i1 = cx.down_write(&s.ilock, LockId::ILock(src));
    let _i2 = cx.down_write(&d.ilock, LockId::ILock(dst));
    for i in 0..s.blocks.len().min(d.blocks.len()) {
        if let Some(b) = s.blocks[i].get() {
            let shared = Some(crate::world::Block {
                pfn: b.pfn,
                shared: true,
            });
            s.blocks[i].set(shared);
            d.blocks[i].set(shared);
            cx.note(format!(
                "{}[{i}] and {}[{i}] now share pfn {}",
                file_name(src),
                file_name(dst),
                b.pfn
            ));
        }
    }
    drop(locks);
}

/// `fs/xfs/xfs_reflink.c` `xfs_reflink_allocate_cow` → the allocator: take an
/// FS-free block from the pool (under the AGF lock).
pub(crate) fn xfs_reflink_allocate_cow(cx: &Cx) -> Option<u64> {
    let _f = cx.enter("xfs_reflink_allocate_cow");
    let mut pool = cx.lock(&cx.w.free_blocks, LockId::Alloc);
    if pool.is_empty() {
        cx.note("no free block: -ENOSPC");
        return None;
    }
    let pfn = pool.remove(0);
    cx.note(format!("allocate CoW block pfn {pfn}"));
    Some(pfn)
}

/// `fs/xfs/xfs_reflink.c` `xfs_reflink_end_cow` (from
/// `xfs_dax_write_iomap_end`): remap the data fork at `index` to the CoW block;
/// the new extent record is in the log but not yet durable.
pub(crate) fn xfs_reflink_end_cow(cx: &Cx, file: u8, index: u64, new: u64) {
    let _f = cx.enter("xfs_reflink_end_cow");
    let ino = cx.w.file(file);
    let _i = cx.down_write(&ino.ilock, LockId::ILock(file));
    ino.blocks[index as usize].set(Some(Block {
        pfn: new,
        shared: false,
    }));
    ino.meta_dirty[index as usize].set(true);
    cx.note(format!(
        "remap {}[{index}] -> pfn {new} (metadata not durable)",
        file_name(file)
    ));
}
