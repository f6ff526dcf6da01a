//! `include/linux/mm.h`, `mm_types.h`, `fs.h` (v6.15): the interfaces
//! through which mm/ and the VFS call a filesystem: `struct vm_fault`,
//! `vm_fault_t`, the fault size, and the one `vm_operations_struct` and
//! `file_operations` hook each that the model calls. They sit with the
//! machine so that a file's `vm_ops` and `f_op` can be part of its state, as
//! `vma->vm_ops` and `file->f_op` are, without mm/ or fs/dax.c naming any
//! filesystem.

use crate::cx::Cx;

/// A fault: which process, file and page, and whether it writes.
#[derive(Clone, Copy, Debug)]
pub struct Vmf {
    pub mm: u8,
    pub file: u8,
    pub index: u64,
    pub write: bool,
    /// A write fault on a MAP_SYNC mapping of a block whose metadata is not
    /// yet durable (IOMAP_F_DIRTY): the fault returns NEEDDSYNC. The fault
    /// path sets it for a write fault on a `VM_SYNC` VMA; `dax_fault_iter`
    /// keeps it only if the iomap says IOMAP_F_DIRTY
    /// (`dax_fault_is_synchronous`).
    pub sync: bool,
}

/// What a fault handler returns (`vm_fault_t`), reduced to the cases the
/// model distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// VM_FAULT_NOPAGE: the mapping is installed (or already was).
    NoPage,
    Fallback,
    SigBus,
    SigSegv,
    Oom,
    /// VM_FAULT_NEEDDSYNC: the caller must fsync, then insert.
    NeedDsync,
}

/// Whether a fault reads or writes (`FAULT_FLAG_WRITE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// How a thread faults: PTE only, or a PMD fault first (huge-aligned VMA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultSize {
    Pte,
    Pmd,
}

/// `struct file_operations`, reduced to `fsync` over pages `start..=end`.
#[derive(Debug)]
pub struct FileOps {
    pub fsync: fn(&Cx, u8, u64, u64) -> i32,
}

/// `struct vm_operations_struct`, reduced to `huge_fault` (the DAX
/// filesystems route `->fault` and `->page_mkwrite` to the same handler).
#[derive(Debug)]
pub struct VmOps {
    pub huge_fault: fn(&Cx, &Vmf, FaultSize) -> Fault,
}
