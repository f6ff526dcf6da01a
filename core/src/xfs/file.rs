//! `fs/xfs/xfs_file.c` (v6.15): the DAX fault handler behind
//! `vm_ops->huge_fault`, the CoW write(2) path, and `xfs_file_fsync` behind
//! `f_op->fsync`, which also makes the file's metadata durable.
//!
//! The CoW write of `xfs_file_dax_write` → `dax_iomap_rw` →
//! `dax_iomap_iter` is reduced to one page. It holds the IOLOCK exclusive
//! but **not** the MMAPLOCK, so faults run concurrently (spec §3.9, H1).
//! The block map is read and remapped under the XFS ILOCK (`Inode::ilock`),
//! as faults' `iomap_begin` reads it. Left out: the data copy
//! (`dax_iomap_copy_around`, `dax_copy_from_iter`) and the other owner's
//! refcount-btree update (its block stays marked shared).

use crate::cx::{Cx, LockId};
use crate::dax::fault::{dax_iomap_pmd_fault, dax_iomap_pte_fault};
use crate::dax::invalidate::__dax_clear_dirty_range;
use crate::dax::syncfault::dax_finish_sync_fault;
use crate::dax::writeback::dax_writeback_mapping_range;
use crate::entry::*;
use crate::mm::truncate::invalidate_inode_pages2_range;
use crate::trace::file_name;
use crate::vm::{Fault, FaultSize, FileOps, VmOps, Vmf};
use crate::world::File;
use crate::xfs::iomap::{XFS_DAX_WRITE_IOMAP_OPS, XFS_READ_IOMAP_OPS};
use crate::xfs::reflink::{xfs_reflink_allocate_cow, xfs_reflink_end_cow, CowAlloc};

/// `fs/xfs/xfs_file.c` `xfs_file_operations`, reduced to `fsync`.
pub static XFS_FILE_OPS: FileOps = FileOps {
    fsync: xfs_file_fsync,
};

/// `fs/xfs/xfs_file.c` `xfs_file_vm_ops` of a DAX file: every fault size
/// goes to `xfs_dax_fault` (`__xfs_filemap_fault` → `xfs_dax_fault_locked`).
pub static XFS_DAX_VM_OPS: VmOps = VmOps {
    huge_fault: xfs_dax_fault,
};

/// `fs/xfs/xfs_file.c` `xfs_filemap_fault` / `__xfs_filemap_fault` for a DAX
/// file: the FS lock shared around `dax_iomap_fault`, and, on NEEDDSYNC, around
/// `dax_finish_sync_fault` too (`xfs_dax_fault_locked`). A write fault asks
/// `xfs_dax_write_iomap_ops` (CoW of shared extents), a read fault
/// `xfs_read_iomap_ops`.
fn xfs_dax_fault(cx: &Cx, vmf: &Vmf, size: FaultSize) -> Fault {
    let _f = cx.enter("xfs_dax_fault");
    let w = &cx.w;
    let _l = cx.down_read(&w.file(vmf.file).fs_lock, LockId::FsLock(vmf.file));
    let ops = if vmf.write {
        &XFS_DAX_WRITE_IOMAP_OPS
    } else {
        &XFS_READ_IOMAP_OPS
    };
    let (ret, order) = match size {
        FaultSize::Pte => (dax_iomap_pte_fault(cx, vmf, ops), 0),
        FaultSize::Pmd => (dax_iomap_pmd_fault(cx, vmf, ops), PMD_ORDER),
    };
    if ret != Fault::NeedDsync {
        return ret;
    }
    match cx.pfnp.take() {
        Some(pfn) => dax_finish_sync_fault(cx, vmf, pfn, order),
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

/// `fs/xfs/xfs_file.c` `xfs_file_fsync`, the `f_op->fsync` that
/// `vfs_fsync_range` calls: write back the range's dirty entries, then force
/// the log so every metadata change of the inode is durable. Returns 0 (no
/// I/O errors here). Not a recorded scope of its own: the trace has always
/// attributed these steps to `vfs_fsync_range`.
fn xfs_file_fsync(cx: &Cx, file: u8, start: u64, end: u64) -> i32 {
    // file_write_and_wait_range → do_writepages → xfs_dax_writepages.
    let ret = dax_writeback_mapping_range(cx, file, start, end);
    if ret != 0 {
        return ret;
    }
    xfs_fsync_flush_log(cx, file);
    0
}

/// `fs/xfs/xfs_file.c` `xfs_fsync_flush_log`: the log force; the inode's
/// metadata is durable.
fn xfs_fsync_flush_log(cx: &Cx, file: u8) {
    let _f = cx.enter("xfs_fsync_flush_log");
    let _i = cx.down_write(&cx.w.file(file).ilock, LockId::ILock(file));
    for c in &cx.w.file(file).meta_dirty {
        c.set(false);
    }
    cx.note(format!("log forced: {} metadata durable", file_name(file)));
}

/// `fs/xfs/xfs_file.c` `xfs_file_dax_write` of one page at `index`. A write
/// over a shared extent (any written extent under `always_cow`) takes the CoW
/// fork's block (allocated unless a write fault put one there), clears the range's dirty tags,
/// invalidates its entries (page tables last), writes, and remaps the index to
/// the new, unshared block, whose metadata is not yet durable. A plain
/// overwrite touches no entry. Returns 0, -EINVAL (hole or past the map) or
/// -ENOSPC.
pub fn xfs_file_dax_write(cx: &Cx, file: File, index: u64) -> i32 {
    let _f = cx.enter("xfs_file_dax_write");
    let file = file.0;
    let w = &cx.w;
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
    if !old.shared && !w.always_cow {
        // A pure overwrite of a written extent: no invalidation.
        cx.note(format!(
            "overwrite {}[{index}] in place (pfn {})",
            file_name(file),
            old.pfn
        ));
        return 0;
    }
    // xfs_direct_write_iomap_begin → xfs_reflink_allocate_cow.
    let new = match xfs_reflink_allocate_cow(cx, file, index) {
        CowAlloc::Cow { new, .. } => new,
        CowAlloc::NoCow => return 0,
        CowAlloc::NoSpace => return -28,
    };
    // dax_iomap_iter, cow: clear the dirty tags so that dirty entries can be
    // invalidated, then invalidate (entries first, unmap last).
    if !cx.w.has(crate::config::Mutant::M47) {
        __dax_clear_dirty_range(cx, file, index, index);
    }
    invalidate_inode_pages2_range(cx, file, index, index);
    cx.note(format!(
        "copy around and write {}[{index}] into pfn {new} (source pfn {})",
        file_name(file),
        old.pfn
    ));
    xfs_reflink_end_cow(cx, file, index);
    0
}
