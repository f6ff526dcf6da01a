//! The mm/ side (v6.15): folios and their refcount, rmap, page tables,
//! huge PMDs, GUP, ZONE_DEVICE free, memory failure and truncate, one room
//! per kernel file.

pub mod fault_post;
pub mod folio;
pub mod gup;
pub mod huge_memory;
pub mod memory;
pub mod memory_failure;
pub mod memremap;
pub mod page_alloc;
pub mod rmap;
pub mod truncate;
