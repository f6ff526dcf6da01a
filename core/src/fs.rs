//! The filesystem stand-in (XFS-like): fault entry points under the FS lock,
//! truncate and hole punch with break-layout, and the block allocator's
//! "free" step, where I6/I8 are asserted (spec §3.8, §9).

use crate::dax::{self, BreakCb, Vmf};
use crate::entry::{align_index, PMD_ORDER};
use crate::mm::{self, page_folio, Fault};
use crate::trace::{file_name, LockId};
use crate::violation::Check;
use crate::world::{Cx, Pte, RwHeld};

/// How a thread faults: PTE only, or a PMD fault first (huge-aligned VMA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultSize {
    Pte,
    Pmd,
}

/// `xfs_filemap_fault` / `__xfs_filemap_fault` for a DAX file: the FS lock
/// shared around `dax_iomap_fault`, and, on NEEDDSYNC, around
/// `dax_finish_sync_fault` too (`xfs_dax_fault_locked`).
fn xfs_dax_fault(cx: &Cx, vmf: &Vmf, size: FaultSize) -> Fault {
    let _f = cx.enter("xfs_dax_fault");
    let w = cx.world();
    let _l = cx.down_read(&w.file(vmf.file).fs_lock, LockId::FsLock(vmf.file));
    let (ret, order) = match size {
        FaultSize::Pte => (dax::dax_iomap_pte_fault(cx, vmf), 0),
        FaultSize::Pmd => (dax::dax_iomap_pmd_fault(cx, vmf), PMD_ORDER),
    };
    if ret != Fault::NeedDsync {
        return ret;
    }
    match cx.pfnp.take() {
        Some(pfn) => crate::syncfault::dax_finish_sync_fault(cx, vmf, pfn, order),
        None => {
            cx.warn_on(
                true,
                "fs/dax.c dax_fault_synchronous_pfnp: WARN_ON_ONCE(!pfnp)",
                || "NEEDDSYNC without a pfn".to_string(),
            );
            Fault::SigBus
        }
    }
}

/// `handle_mm_fault` for a DAX file VMA: a PMD fault first when asked (and
/// the PMD is none), PTE on fallback; nothing to do when a mapping that
/// allows the access is already there.
pub fn handle_mm_fault(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    write: bool,
    size: FaultSize,
) -> Fault {
    let _f = cx.enter("handle_mm_fault");
    let w = cx.world();
    let m = &w.mms[mm as usize];
    let _l = cx.down_read(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        cx.note("no VMA: SIGSEGV");
        return Fault::SigSegv;
    }
    handle_mm_fault_locked(cx, mm, file, index, write, size)
}

/// `handle_mm_fault` proper, with `mmap_lock` held by the caller (the fault
/// handler, or GUP's `faultin_page`).
pub fn handle_mm_fault_locked(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    write: bool,
    size: FaultSize,
) -> Fault {
    let vmf = Vmf {
        mm,
        file,
        index,
        write,
        // VM_SYNC on a write fault; dax_fault_iter adds IOMAP_F_DIRTY.
        sync: write && cx.w.mms[mm as usize].map_sync[file as usize].get(),
    };
    match mm::pmd_huge_writable(cx, mm, file, index) {
        Some(writable) if !write || writable => {
            cx.note("already mapped by a PMD");
            return Fault::NoPage;
        }
        Some(_) => {
            // wp_huge_pmd → ->huge_fault: a write fault on a read-only PMD;
            // on fallback the PMD was split, and the PTE path runs.
            let r = xfs_dax_fault(cx, &vmf, FaultSize::Pmd);
            if r != Fault::Fallback {
                return r;
            }
        }
        None => {}
    }
    if size == FaultSize::Pmd && !mm::pmd_is_table(cx, mm, file, index) {
        let r = xfs_dax_fault(cx, &vmf, FaultSize::Pmd);
        if r != Fault::Fallback {
            return r;
        }
    }
    if let Some(Pte::Present { write: w_ok, .. }) = pte_at(cx, mm, file, index) {
        if !write || w_ok {
            cx.note("already mapped by a PTE");
            return Fault::NoPage;
        }
    }
    xfs_dax_fault(cx, &vmf, FaultSize::Pte)
}

fn pte_at(cx: &Cx, mm: u8, file: u8, index: u64) -> Option<Pte> {
    let s = &cx.w.mms[mm as usize].pt[file as usize][(index / crate::entry::PG_PMD_NR) as usize];
    let ptes = cx.lock(
        &s.ptes,
        LockId::Pte(mm, file, (index / crate::entry::PG_PMD_NR) as u8),
    );
    Some(ptes[(index % crate::entry::PG_PMD_NR) as usize])
}

/// `truncate_inode_pages_range` → `truncate_folio_batch_exceptionals` for a
/// DAX mapping: any entry still present is a bug (the canary for
/// break-layout leaving an entry behind); delete it so truncate goes on.
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
        dax::dax_delete_mapping_entry(cx, file, index);
    }
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
    if let Some(head) = page_folio(cx, b.pfn) {
        let (r, m) = (
            mm::peek_ref_count(&cx.w, head),
            mm::peek_mapcount(&cx.w, head),
        );
        if r != 0 || m != 0 {
            cx.violate(
                Check::Inv(8),
                format!("block pfn {} of {}[{index}] freed while folio {head} has refcount {r}, mapcount {m}", b.pfn, file_name(file)),
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
                Check::Inv(6),
                format!(
                    "block pfn {} freed while folio {head} is still associated (mapping {}, index/share {cell}, order {order})",
                    b.pfn,
                    mapping.map_or("NULL".to_string(), |m| file_name(m).to_string())
                ),
            );
        }
    }
    ino.blocks[index as usize].set(None);
    cx.note(format!(
        "free block pfn {} of {}[{index}]",
        b.pfn,
        file_name(file)
    ));
}

/// `xfs_setattr_size` shrinking to `new_size` pages: MMAPLOCK_EXCL,
/// break-layout, new i_size, truncate the page cache, free the blocks.
pub fn xfs_truncate(cx: &Cx, file: u8, new_size: u64) {
    let _f = cx.enter("xfs_setattr_size");
    let w = cx.world();
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
    let err = dax::dax_break_layout(cx, file, 0, end, BreakCb::XfsWait { fs: &mut fs });
    if err != 0 {
        return;
    }
    ino.i_size.set(new_size);
    cx.note(format!("i_size = {new_size}"));
    // truncate_setsize → truncate_pagecache: unmap, then drop the cache.
    mm::unmap_mapping_pages(cx, file, new_size, end);
    truncate_inode_pages_range(cx, file, new_size, end);
    for index in new_size..=end {
        xfs_free_block(cx, file, index);
    }
    drop(fs);
}

/// `xfs_file_fallocate(FALLOC_FL_PUNCH_HOLE)` over `[start, end]`.
pub fn xfs_punch_hole(cx: &Cx, file: u8, start: u64, end: u64) {
    let _f = cx.enter("xfs_free_file_space");
    let w = cx.world();
    let ino = w.file(file);
    // xfs_file_fallocate: IOLOCK_EXCL, then MMAPLOCK_EXCL.
    let _io = cx.down_write(&ino.io_lock, LockId::IoLock(file));
    let mut fs = Some(cx.down_write(&ino.fs_lock, LockId::FsLock(file)));
    // xfs_break_layouts(BREAK_UNMAP) breaks the whole file's layout.
    let whole = ino.blocks.len() as u64 - 1;
    let err = dax::dax_break_layout(cx, file, 0, whole, BreakCb::XfsWait { fs: &mut fs });
    if err != 0 {
        return;
    }
    mm::unmap_mapping_pages(cx, file, start, end);
    truncate_inode_pages_range(cx, file, start, end);
    for index in start..=end {
        xfs_free_block(cx, file, index);
    }
    drop(fs);
}

/// The PMD range of `index` (for scenario code).
pub fn pmd_range(index: u64) -> (u64, u64) {
    let b = align_index(index, PMD_ORDER);
    (b, b + crate::entry::PG_PMD_NR - 1)
}

/// `xfs_mmaplock_two_inodes_and_break_dax_layout`: MMAPLOCK_EXCL on both
/// inodes in inode order, breaking the first's layout (waiting) and the
/// second's with NOWAIT; a busy second inode means unlock both and retry.
pub fn xfs_mmaplock_two_inodes_and_break_dax_layout<'a>(
    cx: &'a Cx,
    a: u8,
    b: u8,
) -> Option<(RwHeld<'a>, Option<RwHeld<'a>>)> {
    let _f = cx.enter("xfs_mmaplock_two_inodes_and_break_dax_layout");
    let w = cx.world();
    let (ip1, ip2) = if a <= b { (a, b) } else { (b, a) };
    loop {
        let mut fs1 = Some(cx.down_write(&w.file(ip1).fs_lock, LockId::FsLock(ip1)));
        let end1 = w.file(ip1).blocks.len() as u64 - 1;
        if dax::dax_break_layout(cx, ip1, 0, end1, BreakCb::XfsWait { fs: &mut fs1 }) != 0 {
            return None;
        }
        let fs1 = fs1?;
        if ip1 == ip2 {
            return Some((fs1, None));
        }
        let fs2 = cx.down_write(&w.file(ip2).fs_lock, LockId::FsLock(ip2));
        let end2 = w.file(ip2).blocks.len() as u64 - 1;
        let err = dax::dax_break_layout(cx, ip2, 0, end2, BreakCb::NoWait);
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

/// `xfs_reflink_remap_range` (FICLONERANGE) of the whole of `src` onto
/// `dst`: both inodes locked and their layouts broken, then the extents are
/// shared by both files.
pub fn xfs_reflink_remap(cx: &Cx, src: u8, dst: u8) {
    let _f = cx.enter("xfs_reflink_remap_range");
    let Some(locks) = xfs_mmaplock_two_inodes_and_break_dax_layout(cx, src, dst) else {
        return;
    };
    let w = cx.world();
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
