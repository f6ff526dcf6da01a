//! `fs/xfs/xfs_iomap.c` (v6.15): the block map a DAX fault asks for, and
//! the CoW fork a write fault on a shared extent goes through.

use crate::cx::{Cx, LockId};
use crate::iomap::{Iomap, IomapOps};
use crate::xfs::reflink::{xfs_reflink_allocate_cow, xfs_reflink_end_cow, CowAlloc};

/// `fs/xfs/xfs_iomap.c` `xfs_bmapi_read` → `xfs_bmbt_to_iomap` for `pages`
/// pages at `base`: the data fork's extent, read under the ILOCK.
fn xfs_data_fork_iomap(cx: &Cx, file: u8, base: u64, pages: u64) -> Iomap {
    let ino = cx.w.file(file);
    // xfs_ilock_for_iomap: the extent map is read under the ILOCK.
    let _i = cx.down_read(&ino.ilock, LockId::ILock(file));
    let block = |k: u64| ino.blocks.get((base + k) as usize).and_then(|b| b.get());
    let dirty = (0..pages).any(|k| {
        ino.meta_dirty
            .get((base + k) as usize)
            .is_some_and(|c| c.get())
    });
    match block(0) {
        // A hole extent covers the request only if every block is a hole.
        None => Iomap {
            pfn: None,
            shared: false,
            full: (0..pages).all(|k| block(k).is_none()),
            dirty,
            srcmap: None,
        },
        Some(b0) => {
            let full = (0..pages)
                .all(|k| block(k).map(|b| (b.pfn, b.shared)) == Some((b0.pfn + k, b0.shared)))
                && b0.pfn % pages == 0;
            Iomap {
                pfn: Some(b0.pfn),
                shared: b0.shared,
                full,
                dirty,
                srcmap: None,
            }
        }
    }
}

/// `fs/xfs/xfs_iomap.c` `xfs_read_iomap_begin`: read faults (and write
/// faults with a `cow_page`, which fsdax VMAs never have) map the data fork
/// as it is; a shared extent comes back with IOMAP_F_SHARED.
fn xfs_read_iomap_begin(cx: &Cx, file: u8, base: u64, pages: u64, _write: bool) -> Iomap {
    xfs_data_fork_iomap(cx, file, base, pages)
}

/// `fs/xfs/xfs_iomap.c` `xfs_direct_write_iomap_begin`, the `iomap_begin` of
/// `xfs_dax_write_iomap_ops`, for a DAX write fault. An extent that needs
/// CoW (`imap_needs_cow`: shared, or written at all under `always_cow`) goes
/// through `xfs_reflink_allocate_cow(..., convert_now = IS_DAX)` to
/// `out_found_cow`: the iomap is the CoW fork's block with IOMAP_F_SHARED,
/// the srcmap the data fork's old block. Other extents map as they are. A
/// PMD-sized request over an extent that needs CoW is answered as not full,
/// so the fault falls back to PTEs: the model's allocator hands out single
/// blocks, never an aligned PMD extent.
fn xfs_direct_write_iomap_begin(cx: &Cx, file: u8, base: u64, pages: u64, write: bool) -> Iomap {
    let map = xfs_data_fork_iomap(cx, file, base, pages);
    let needs_cow = write && map.pfn.is_some() && (map.shared || cx.w.always_cow);
    if !needs_cow {
        return map;
    }
    if pages > 1 {
        cx.note("CoW of a PMD extent: not a PMD-aligned CoW extent, fall back");
        return Iomap { full: false, ..map };
    }
    match xfs_reflink_allocate_cow(cx, file, base) {
        CowAlloc::Cow { new, src } => Iomap {
            pfn: Some(new),
            shared: true,
            full: true,
            dirty: map.dirty,
            srcmap: Some(src),
        },
        // The extent stopped needing CoW while the ILOCK was dropped (a
        // concurrent end_cow remapped it): map the data fork again.
        CowAlloc::NoCow => xfs_data_fork_iomap(cx, file, base, pages),
        // -ENOSPC: dax_fault_return makes it SIGBUS, as a write to a hole.
        CowAlloc::NoSpace => Iomap {
            pfn: None,
            shared: false,
            full: true,
            dirty: map.dirty,
            srcmap: None,
        },
    }
}

/// `fs/xfs/xfs_iomap.c` `xfs_dax_write_iomap_end`: after a written CoW
/// mapping, `xfs_reflink_end_cow` remaps the data fork to the CoW block. A
/// fault that did not CoW has nothing of its own in the CoW fork, so the
/// model skips the (empty) lookup the kernel does for every reflink inode.
fn xfs_dax_write_iomap_end(cx: &Cx, file: u8, base: u64, map: &Iomap) {
    if map.srcmap.is_none() {
        return;
    }
    let _f = cx.enter("xfs_dax_write_iomap_end");
    xfs_reflink_end_cow(cx, file, base);
}

/// `xfs_read_iomap_ops`: what `__xfs_filemap_fault` passes for a read fault.
pub static XFS_READ_IOMAP_OPS: IomapOps = IomapOps {
    iomap_begin: xfs_read_iomap_begin,
    iomap_end: None,
};

/// `xfs_dax_write_iomap_ops`: what `__xfs_filemap_fault` passes for a write
/// fault (`write_fault && !vmf->cow_page`).
pub static XFS_DAX_WRITE_IOMAP_OPS: IomapOps = IomapOps {
    iomap_begin: xfs_direct_write_iomap_begin,
    iomap_end: Some(xfs_dax_write_iomap_end),
};
