//! `fs/xfs/xfs_inode.c`, `xfs_iops.c`, `xfs_bmap_util.c` (v6.15): the
//! layout-breaking callers (truncate, hole punch, the two-inode lock of
//! reflink) with the break-layout wait callback, and the block allocator's
//! "free" step, where I6/I8 are asserted (spec §3.8, §9).

use crate::cx::{Cx, LockId, RwHeld};
use crate::dax::layout::dax_break_layout;
use crate::mm::folio::page_folio;
use crate::mm::memory::unmap_mapping_pages;
use crate::mm::truncate::truncate_inode_pages_range;
use crate::trace::file_name;
use crate::violation::{Check, Inv};
use crate::wait::WaitKey;
use crate::world::File;

/// `fs/xfs/xfs_inode.c` `xfs_wait_dax_page`: the break-layout callback:
/// drop MMAPLOCK_EXCL, sleep until woken, retake it.
fn xfs_wait_dax_page<'a>(cx: &'a Cx, file: u8, page: u64, fs: &mut Option<RwHeld<'a>>) {
    let _f = cx.enter("xfs_wait_dax_page");
    *fs = None;
    cx.w.var_wq.schedule(cx, WaitKey::Var { pfn: page });
    let w = &cx.w;
    *fs = Some(cx.down_write(&w.files[file as usize].fs_lock, LockId::FsLock(file)));
}

/// The block allocator frees a block: it must be FS-free (I6) and idle
/// (I8: nothing can have appeared while the FS lock was held).
fn xfs_free_block(cx: &Cx, file: u8, index: u64) {
    let ino = cx.w.file(file);
    let _i = cx.down_write(&ino.ilock, LockId::ILock(file));
    let Some(b) = ino.blocks[index as usize].get() else {
        return;
    };
    if b.shared {
        // The other owner keeps the block; only the mapping goes.
        ino.blocks[index as usize].set(None);
        return;
    }
    xfs_block_free_checks(cx, file, index, b.pfn);
    ino.blocks[index as usize].set(None);
    cx.note(format!(
        "free block pfn {} of {}[{index}]",
        b.pfn,
        file_name(file)
    ));
}

/// The checks at a block's free (`xfs_free_extent_later`): the block of
/// `file[index]`, pfn `pfn`, must be FS-free (I6) and idle (I8). Model
/// peeks only: no kernel access, no scheduling point.
pub(crate) fn xfs_block_free_checks(cx: &Cx, file: u8, index: u64, pfn: u64) {
    if let Some(head) = page_folio(cx, pfn) {
        let (r, m) = (cx.w.peek_ref_count(head), cx.w.peek_mapcount(head));
        if r != 0 || m != 0 {
            cx.violate(
                Check::Inv(Inv::BreakLayoutDone),
                format!("block pfn {} of {}[{index}] freed while folio {head} has refcount {r}, mapcount {m}", pfn, file_name(file)),
            );
        }
        let fr = &cx.w.frames[head as usize];
        // Model-check reads (peeks): not kernel accesses, so neither loom's
        // race check nor access recording sees them.
        let order = if fr.head.peek() {
            cx.w.frames[head as usize + 1].order.peek()
        } else {
            0
        };
        let (mapping, cell) = (fr.mapping.peek(), fr.index_share.peek());
        let shared = mapping.is_none() && cell != 0 && !cx.w.stale_index_cell(head);
        if mapping.is_some() || shared || order != 0 {
            cx.violate(
                Check::Inv(Inv::FsFreeState),
                format!(
                    "block pfn {} freed while folio {head} is still associated (mapping {}, index/share {cell}, order {order})",
                    pfn,
                    mapping.map_or("NULL".to_string(), |m| file_name(m).to_string())
                ),
            );
        }
    }
}

/// `fs/xfs/xfs_iops.c` `xfs_setattr_size` shrinking to `new_size` pages:
/// MMAPLOCK_EXCL, break-layout, new i_size, truncate the page cache, free the
/// blocks.
pub fn xfs_setattr_size(cx: &Cx, file: File, new_size: u64) {
    let _f = cx.enter("xfs_setattr_size");
    let file = file.0;
    let w = &cx.w;
    let ino = w.file(file);
    // xfs_vn_setattr: IOLOCK_EXCL, then MMAPLOCK_EXCL.
    let _io = cx.down_write(&ino.io_lock, LockId::IoLock(file));
    let mut fs = Some(cx.down_write(&ino.fs_lock, LockId::FsLock(file)));
    let end = ino.blocks.len() as u64 - 1;
    if cx.w.has(crate::config::Mutant::M35) {
        for index in new_size..=end {
            xfs_free_block(cx, file, index);
        }
    }
    // xfs_break_layouts → dax_break_layout_inode: the whole file.
    let err = dax_break_layout(
        cx,
        file,
        0,
        end,
        Some(&mut |cx, page| xfs_wait_dax_page(cx, file, page, &mut fs)),
    );
    if err != 0 {
        return;
    }
    ino.i_size.set(new_size);
    cx.note(format!("i_size = {new_size}"));
    // truncate_setsize → truncate_pagecache: unmap, then drop the cache.
    unmap_mapping_pages(cx, file, new_size, end);
    truncate_inode_pages_range(cx, file, new_size, end);
    for index in new_size..=end {
        xfs_free_block(cx, file, index);
    }
    drop(fs);
}

/// `fs/xfs/xfs_bmap_util.c` `xfs_free_file_space`, as
/// `xfs_file_fallocate(FALLOC_FL_PUNCH_HOLE)` runs it over `[start, end]`
/// (taking the IOLOCK and MMAPLOCK and breaking the layout as that caller
/// does).
pub fn xfs_free_file_space(cx: &Cx, file: File, start: u64, end: u64) {
    let _f = cx.enter("xfs_free_file_space");
    let file = file.0;
    let w = &cx.w;
    let ino = w.file(file);
    // xfs_file_fallocate: IOLOCK_EXCL, then MMAPLOCK_EXCL.
    let _io = cx.down_write(&ino.io_lock, LockId::IoLock(file));
    let mut fs = Some(cx.down_write(&ino.fs_lock, LockId::FsLock(file)));
    // xfs_break_layouts(BREAK_UNMAP) breaks the whole file's layout.
    let whole = ino.blocks.len() as u64 - 1;
    let err = dax_break_layout(
        cx,
        file,
        0,
        whole,
        Some(&mut |cx, page| xfs_wait_dax_page(cx, file, page, &mut fs)),
    );
    if err != 0 {
        return;
    }
    unmap_mapping_pages(cx, file, start, end);
    truncate_inode_pages_range(cx, file, start, end);
    for index in start..=end {
        xfs_free_block(cx, file, index);
    }
    drop(fs);
}

/// `fs/xfs/xfs_inode.c` `xfs_mmaplock_two_inodes_and_break_dax_layout`:
/// MMAPLOCK_EXCL on both inodes in inode order, breaking the first's layout
/// (waiting) and the second's with NOWAIT; a busy second inode means unlock
/// both and retry.
pub fn xfs_mmaplock_two_inodes_and_break_dax_layout<'a>(
    cx: &'a Cx,
    a: u8,
    b: u8,
) -> Option<(RwHeld<'a>, Option<RwHeld<'a>>)> {
    let _f = cx.enter("xfs_mmaplock_two_inodes_and_break_dax_layout");
    let w = &cx.w;
    let (ip1, ip2) = if a <= b { (a, b) } else { (b, a) };
    loop {
        let mut fs1 = Some(cx.down_write(&w.file(ip1).fs_lock, LockId::FsLock(ip1)));
        let end1 = w.file(ip1).blocks.len() as u64 - 1;
        if dax_break_layout(
            cx,
            ip1,
            0,
            end1,
            Some(&mut |cx, page| xfs_wait_dax_page(cx, ip1, page, &mut fs1)),
        ) != 0
        {
            return None;
        }
        let fs1 = fs1?;
        if ip1 == ip2 {
            return Some((fs1, None));
        }
        let fs2 = cx.down_write(&w.file(ip2).fs_lock, LockId::FsLock(ip2));
        let end2 = w.file(ip2).blocks.len() as u64 - 1;
        let err = dax_break_layout(cx, ip2, 0, end2, None);
        // M13: "!dax_page_is_idle(page)" is true for a NULL page: retry forever.
        let busy = err != 0 || cx.w.has(crate::config::Mutant::M13);
        if !busy {
            return Some((fs1, Some(fs2)));
        }
        drop(fs2);
        drop(fs1);
        // goto again: a busy retry; let the holder of the page run.
        crate::sync::thread::yield_now();
        cx.note("second inode busy: unlock both and retry");
    }
}
