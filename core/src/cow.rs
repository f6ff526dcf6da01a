//! An XFS write(2) over a reflinked (shared) extent on a DAX file: the CoW
//! write path of `xfs_file_dax_write` → `dax_iomap_rw` → `dax_iomap_iter`,
//! reduced to one page. It holds the IOLOCK exclusive but **not** the
//! MMAPLOCK, so faults run concurrently (spec §3.9, H1).
//!
//! The block map is read and remapped under the XFS ILOCK (`Inode::ilock`),
//! as faults' `iomap_begin` reads it. Left out: the data copy
//! (`dax_iomap_copy_around`, `dax_copy_from_iter`) and the other owner's
//! refcount-btree update (its block stays marked shared).

use crate::cx::Cx;
use crate::cx::LockId;
use crate::invalidate::{__dax_clear_dirty_range, invalidate_inode_pages2_range};
use crate::trace::file_name;
use crate::world::Block;

/// `xfs_file_dax_write` of one page at `index`. A write over a shared
/// extent allocates a CoW block, clears the range's dirty tags, invalidates
/// its entries (page tables last), writes, and remaps the index to the new,
/// unshared block, whose metadata is not yet durable. A plain overwrite
/// touches no entry. Returns 0, -EINVAL (hole or past the map) or -ENOSPC.
pub fn xfs_dax_write_cow(cx: &Cx, file: u8, index: u64) -> i32 {
    let _f = cx.enter("xfs_file_dax_write");
    let w = cx.world();
    let ino = w.file(file);
    // xfs_ilock(XFS_IOLOCK_EXCL): i_rwsem, which dax_iomap_rw asserts.
    let _io = cx.down_write(&ino.io_lock, LockId::IoLock(file));
    let Some(cell) = ino.blocks.get(index as usize) else {
        return -22;
    };
    let old = {
        let _i = cx.down_read(&ino.ilock, LockId::ILock(file));
        cell.get()
    };
    let Some(old) = old else {
        cx.note("write into a hole: allocation (IOMAP_F_NEW) not modelled");
        return -22;
    };
    if !old.shared {
        // A pure overwrite of a written extent: no invalidation.
        cx.note(format!(
            "overwrite {}[{index}] in place (pfn {})",
            file_name(file),
            old.pfn
        ));
        return 0;
    }
    // xfs_dax_write_iomap_begin → xfs_reflink_allocate_cow.
    let Some(new) = xfs_reflink_allocate_cow(cx) else {
        return -28;
    };
    // dax_iomap_iter, cow: clear the dirty tags so that dirty entries can be
    // invalidated, then invalidate (entries first, unmap last).
    __dax_clear_dirty_range(cx, file, index, index);
    invalidate_inode_pages2_range(cx, file, index, index);
    cx.note(format!(
        "copy around and write {}[{index}] into pfn {new} (source pfn {})",
        file_name(file),
        old.pfn
    ));
    xfs_reflink_end_cow(cx, file, index, new);
    0
}

/// `xfs_reflink_allocate_cow` → the allocator: take an FS-free block from
/// the pool (under the AGF lock).
fn xfs_reflink_allocate_cow(cx: &Cx) -> Option<u64> {
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

/// `xfs_reflink_end_cow` (from `xfs_dax_write_iomap_end`): remap the data
/// fork at `index` to the CoW block; the new extent record is in the log
/// but not yet durable.
fn xfs_reflink_end_cow(cx: &Cx, file: u8, index: u64, new: u64) {
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
