//! The fuzzed world: 1-3 files whose blocks may be holes, their own pmem
//! blocks or blocks shared (reflinked) with an earlier file; 1-2 processes
//! mapping every file, each VMA PMD-capable (huge-aligned) or not and
//! MAP_SYNC or not; some block metadata not yet durable; spare pmem frames
//! for CoW allocations. Decoded from a fixed-size prefix of the input.

use std::fmt::Write;

use arbitrary::Unstructured;
use daxcheck_core::entry::PG_PMD_NR;
use daxcheck_core::trace::file_name;
use daxcheck_core::world::{Block, FileSetup, Setup, SetupExt, DAX_BASE};

/// Bytes of input the world takes (a shorter input is an error).
pub const WORLD_BYTES: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzWorld {
    /// Per file: its block map (None = hole).
    pub files: Vec<Vec<Option<Block>>>,
    pub mms: u8,
    /// `huge[mm][file]`: the VMA is PMD-aligned, so a fault tries a PMD first.
    pub huge: Vec<Vec<bool>>,
    /// (mm, file) VMAs mapped with MAP_SYNC.
    pub map_sync: Vec<(u8, u8)>,
    /// (file, index) blocks whose metadata is not yet durable.
    pub meta_dirty: Vec<(u8, u64)>,
    /// pmem frames no file uses at the start (the CoW allocator's pool).
    pub spare: u64,
}

impl FuzzWorld {
    /// Decode the world from exactly `WORLD_BYTES` bytes.
    pub fn decode(bytes: &[u8; WORLD_BYTES]) -> FuzzWorld {
        // Unstructured over a fixed slice never runs short: every value
        // below is read from these bytes (ints read past the end are 0).
        let mut u = Unstructured::new(bytes);
        let nfiles = 1 + pick(&mut u, 3) as usize;
        let mms = 1 + pick(&mut u, 2) as u8;
        let mut next_pfn = DAX_BASE;
        let mut files: Vec<Vec<Option<Block>>> = Vec::new();
        for _ in 0..nfiles {
            let pages = if pick(&mut u, 2) == 0 { 2 } else { 4 };
            let kinds = u.int_in_range(0..=u8::MAX).unwrap_or(0);
            let mut blocks = Vec::new();
            for i in 0..pages {
                // Two bits per page: hole, own block, or the block at the
                // same index of an earlier file (a reflinked extent).
                let k = (kinds >> (2 * (i % 4))) & 3;
                let shared_with = (0..files.len())
                    .find(|&f| files[f].get(i as usize).copied().flatten().is_some());
                let b = match (k, shared_with) {
                    (0, _) => None,
                    (3, Some(f)) => {
                        let pfn = files[f][i as usize].map_or(0, |b| b.pfn);
                        files[f][i as usize] = Some(Block { pfn, shared: true });
                        Some(Block { pfn, shared: true })
                    }
                    _ => {
                        let pfn = next_pfn;
                        next_pfn += 1;
                        Some(Block { pfn, shared: false })
                    }
                };
                blocks.push(b);
            }
            files.push(blocks);
        }
        let mut huge = Vec::new();
        let mut map_sync = Vec::new();
        let vma_bits = u.int_in_range(0..=u16::MAX).unwrap_or(0);
        for mm in 0..mms {
            let mut row = Vec::new();
            for f in 0..nfiles {
                let bit = (mm as usize * 3 + f) * 2;
                row.push(vma_bits >> bit & 1 != 0);
                if vma_bits >> (bit + 1) & 1 != 0 && pick(&mut u, 4) == 0 {
                    map_sync.push((mm, f as u8));
                }
            }
            huge.push(row);
        }
        let mut meta_dirty = Vec::new();
        if pick(&mut u, 2) == 0 {
            let f = pick(&mut u, nfiles as u64) as u8;
            let i = pick(&mut u, files[f as usize].len() as u64);
            if files[f as usize][i as usize].is_some() {
                meta_dirty.push((f, i));
            }
        }
        let spare = pick(&mut u, 4);
        FuzzWorld {
            files,
            mms,
            huge,
            map_sync,
            meta_dirty,
            spare,
        }
    }

    pub fn pages(&self, file: u8) -> u64 {
        self.files[file as usize].len() as u64
    }

    /// The model's `Setup` for this world.
    pub fn setup(&self) -> Setup {
        let used = self
            .files
            .iter()
            .flatten()
            .flatten()
            .map(|b| b.pfn + 1 - DAX_BASE)
            .max()
            .unwrap_or(0);
        Setup {
            files: self
                .files
                .iter()
                .map(|b| FileSetup {
                    pages: b.len() as u64,
                    size: b.len() as u64,
                    blocks: b.clone(),
                })
                .collect(),
            mms: self.mms,
            // Whole PMDs of frames, so that a spare frame can be a PMD head.
            dax_frames: (used + self.spare).div_ceil(PG_PMD_NR) * PG_PMD_NR,
            ext: SetupExt {
                map_sync: self.map_sync.clone(),
                meta_dirty: self.meta_dirty.clone(),
                free_blocks: None,
                always_cow: false,
            },
        }
    }

    /// The world as the setup lines of a litmus header.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (f, blocks) in self.files.iter().enumerate() {
            let map: Vec<String> = blocks
                .iter()
                .enumerate()
                .map(|(i, b)| match b {
                    None => format!("[{i}] hole"),
                    Some(b) if b.shared => format!("[{i}] pfn {} (shared)", b.pfn),
                    Some(b) => format!("[{i}] pfn {}", b.pfn),
                })
                .collect();
            let _ = writeln!(
                s,
                "Setup: file {} of {} pages: {}",
                file_name(f as u8),
                blocks.len(),
                map.join(", ")
            );
        }
        for mm in 0..self.mms {
            let vmas: Vec<String> = (0..self.files.len())
                .map(|f| {
                    let mut v = format!(
                        "{} {}",
                        file_name(f as u8),
                        if self.huge[mm as usize][f] {
                            "PMD-aligned"
                        } else {
                            "PTE-only"
                        }
                    );
                    if self.map_sync.contains(&(mm, f as u8)) {
                        v.push_str(" MAP_SYNC");
                    }
                    v
                })
                .collect();
            let _ = writeln!(s, "Setup: mm{mm} maps {}", vmas.join(", "));
        }
        for (f, i) in &self.meta_dirty {
            let _ = writeln!(
                s,
                "Setup: {}[{i}]'s block metadata is not yet durable",
                file_name(*f)
            );
        }
        let _ = writeln!(s, "Setup: {} spare pmem frames", self.spare);
        s
    }
}

/// A value in `0..n` (0 when the bytes ran out).
pub(crate) fn pick(u: &mut Unstructured, n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    u.int_in_range(0..=n - 1).unwrap_or(0)
}
