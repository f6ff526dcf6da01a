//! `fs/xfs/xfs_reflink.c` (v6.15): FICLONERANGE and the CoW fork's
//! allocate/end steps.

use crate::cx::{Cx, LockId};
use crate::trace::file_name;
use crate::world::{Block, File};
use crate::xfs::inode::{xfs_block_free_checks, xfs_mmaplock_two_inodes_and_break_dax_layout};

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

/// What `xfs_reflink_allocate_cow` found for one index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CowAlloc {
    /// The data fork's block no longer needs CoW (not shared, no
    /// `always_cow`), or is a hole: write it in place.
    NoCow,
    /// The CoW fork's block `new` (found there or just allocated) stands for
    /// the data fork's block `src` until `xfs_reflink_end_cow`.
    Cow { new: u64, src: u64 },
    /// -ENOSPC.
    NoSpace,
}

/// `fs/xfs/xfs_reflink.c` `xfs_reflink_allocate_cow` (with
/// `xfs_find_trim_cow_extent` and `xfs_bmap_trim_cow`) for the block at
/// `index`, under the ILOCK held exclusive: a block that is shared (or any
/// written block under `always_cow`) gets the CoW fork's block for that
/// index, allocated from the free pool (under the AGF lock) if the fork has
/// none yet. A write(2) and a write fault of one index find the same CoW
/// fork block. `convert_now` (IS_DAX) makes it written at once: the model's
/// blocks have no unwritten state.
pub(crate) fn xfs_reflink_allocate_cow(cx: &Cx, file: u8, index: u64) -> CowAlloc {
    let _f = cx.enter("xfs_reflink_allocate_cow");
    let ino = cx.w.file(file);
    let _i = cx.down_write(&ino.ilock, LockId::ILock(file));
    let Some(src) = ino.blocks[index as usize].get() else {
        return CowAlloc::NoCow;
    };
    if !src.shared && !cx.w.always_cow {
        cx.note(format!(
            "{}[{index}] no longer shared: no CoW",
            file_name(file)
        ));
        return CowAlloc::NoCow;
    }
    if let Some(new) = ino.cow_fork[index as usize].get() {
        cx.note(format!("CoW fork already holds pfn {new}"));
        return CowAlloc::Cow { new, src: src.pfn };
    }
    let mut pool = cx.lock(&cx.w.free_blocks, LockId::Alloc);
    if pool.is_empty() {
        cx.note("no free block: -ENOSPC");
        return CowAlloc::NoSpace;
    }
    let new = pool.remove(0);
    cx.note(format!("allocate CoW block pfn {new}"));
    drop(pool);
    ino.cow_fork[index as usize].set(Some(new));
    CowAlloc::Cow { new, src: src.pfn }
}

/// `fs/xfs/xfs_reflink.c` `xfs_reflink_end_cow` (from
/// `xfs_dax_write_iomap_end`, and the write(2) path's end): move the CoW
/// fork's block at `index` into the data fork; the new extent record is in
/// the log but not yet durable. The old block loses this owner: a shared
/// block stays with the other file (no refcount btree), an unshared one
/// (`always_cow`) is freed. Nothing to do when the CoW fork is empty there
/// (another writer ended this CoW first).
pub(crate) fn xfs_reflink_end_cow(cx: &Cx, file: u8, index: u64) {
    let _f = cx.enter("xfs_reflink_end_cow");
    let ino = cx.w.file(file);
    let i = cx.down_write(&ino.ilock, LockId::ILock(file));
    let Some(new) = ino.cow_fork[index as usize].get() else {
        cx.note(format!(
            "CoW fork of {}[{index}] empty: already remapped",
            file_name(file)
        ));
        return;
    };
    ino.cow_fork[index as usize].set(None);
    let old = ino.blocks[index as usize].get();
    ino.blocks[index as usize].set(Some(Block {
        pfn: new,
        shared: false,
    }));
    ino.meta_dirty[index as usize].set(true);
    cx.note(format!(
        "remap {}[{index}] -> pfn {new} (metadata not durable)",
        file_name(file)
    ));
    drop(i);
    if let Some(old) = old.filter(|b| !b.shared) {
        // xfs_reflink_end_cow_extent → xfs_free_extent_later.
        xfs_block_free_checks(cx, file, index, old.pfn);
        cx.note(format!(
            "free block pfn {} (the old block of {}[{index}])",
            old.pfn,
            file_name(file)
        ));
    }
}
