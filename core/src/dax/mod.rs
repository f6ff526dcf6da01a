//! `fs/dax.c` (v6.15, 00c010e1), one room per part of the file a kernel
//! reader looks for: entry locking, folio association, faults, sync faults,
//! break-layout, invalidation, writeback and the memory-failure lockers.
//! fs/dax.c calls the filesystem only through what it is handed: the
//! `iomap_ops` of a fault and the wait callback of `dax_break_layout`.

pub mod entry_lock;
pub mod fault;
pub mod folio;
pub mod invalidate;
pub mod layout;
pub mod lock_folio;
pub mod syncfault;
pub mod writeback;
