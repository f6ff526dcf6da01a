//! `fs/xfs/xfs_iomap.c` (v6.15): the block map a DAX fault asks for.

use crate::cx::{Cx, LockId};
use crate::iomap::{Iomap, IomapOps};

/// `fs/xfs/xfs_iomap.c` `xfs_read_iomap_begin` (and
/// `xfs_direct_write_iomap_begin`) for a DAX fault of `pages` pages at
/// `base`: the extent map, read under the ILOCK.
fn xfs_read_iomap_begin(cx: &Cx, file: u8, base: u64, pages: u64) -> Iomap {
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
            }
        }
    }
}

/// `xfs_read_iomap_ops` and `xfs_dax_write_iomap_ops` in one: the model's
/// write faults allocate nothing (every block exists or is a hole), so one
/// `iomap_begin` serves both.
pub static XFS_IOMAP_OPS: IomapOps = IomapOps {
    iomap_begin: xfs_read_iomap_begin,
};
