//! `include/linux/iomap.h` (v6.15): the block-map interface fs/dax.c asks a
//! filesystem through (`struct iomap`, `struct iomap_ops`).

use crate::cx::Cx;

/// The FS block map answer for a fault (`struct iomap`).
#[derive(Clone, Copy, Debug)]
pub struct Iomap {
    /// The first block's pfn, or None for a hole.
    pub pfn: Option<u64>,
    pub shared: bool,
    /// Whether the extent covers the whole request, contiguous and aligned.
    pub full: bool,
    /// IOMAP_F_DIRTY: the mapping's metadata is not yet durable.
    pub dirty: bool,
}

/// `struct iomap_ops`, reduced to `iomap_begin` for `pages` pages of `file`
/// at `base` (no `iomap_end`: the model allocates nothing at fault time).
#[derive(Debug)]
pub struct IomapOps {
    pub iomap_begin: fn(&Cx, u8, u64, u64) -> Iomap,
}
