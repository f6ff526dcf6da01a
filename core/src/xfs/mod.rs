//! The filesystem side, XFS (v6.15): what fs/dax.c and mm/ call back into
//! (the fault handler behind `vm_ops->huge_fault`, `iomap_ops`, the
//! break-layout wait) and the operations that break layouts (truncate, hole
//! punch, reflink, CoW write, eviction). A second DAX filesystem (ext4,
//! fuse/virtiofs) would be a sibling folder with its own ops values.

pub mod evict;
pub mod file;
pub mod inode;
pub mod iomap;
pub mod notify_failure;
pub mod reflink;
