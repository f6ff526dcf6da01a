//! `include/linux/iomap.h` (v6.15): the block-map interface fs/dax.c asks a
//! filesystem through (`struct iomap`, `struct iomap_ops`).

use crate::cx::Cx;

/// The FS block map answer for a fault (`struct iomap`, with the `srcmap`
/// of a CoW mapping folded in).
#[derive(Clone, Copy, Debug)]
pub struct Iomap {
    /// The first block's pfn, or None for a hole.
    pub pfn: Option<u64>,
    /// IOMAP_F_SHARED: a reflinked extent (read), or a CoW fork block whose
    /// data still has to be copied from `srcmap` (write).
    pub shared: bool,
    /// Whether the extent covers the whole request, contiguous and aligned.
    pub full: bool,
    /// IOMAP_F_DIRTY: the mapping's metadata is not yet durable.
    pub dirty: bool,
    /// The `srcmap` of a CoW write: the data fork's (old, shared) block the
    /// new one is copied from (`dax_iomap_copy_around`). None when the iomap
    /// is the data fork's own block.
    pub srcmap: Option<u64>,
}

/// `struct iomap_ops`: `iomap_begin` for `pages` pages of `file` at `base`
/// (the last argument is IOMAP_WRITE), and the optional `iomap_end` the
/// iteration calls once the fault has used the map.
#[derive(Debug)]
pub struct IomapOps {
    pub iomap_begin: fn(&Cx, u8, u64, u64, bool) -> Iomap,
    pub iomap_end: Option<fn(&Cx, u8, u64, &Iomap)>,
}
