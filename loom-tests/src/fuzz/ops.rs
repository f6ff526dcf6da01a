//! The operations a fuzz input can ask for, and the one function,
//! [`apply`], that runs an operation by calling the model's entry points.
//! Every call from the fuzzer into the model is in this file.

use std::cell::RefCell;
use std::fmt;

use arbitrary::Unstructured;
use daxcheck_core::cx::Cx;
use daxcheck_core::mm::gup::{__get_user_pages, gup_fast, unpin_user_page, GupFlags, Pinned};
use daxcheck_core::mm::memory::{handle_mm_fault, munmap};
use daxcheck_core::mm::memory_failure::mf_generic_kill_procs;
use daxcheck_core::mm::truncate::invalidate_inode_pages2_range;
use daxcheck_core::trace::file_name;
use daxcheck_core::vfs::vfs_fsync_range;
use daxcheck_core::vm::{Access, FaultSize};
use daxcheck_core::world::{File, Mm, DAX_BASE};
use daxcheck_core::xfs::evict::xfs_fs_evict_inode;
use daxcheck_core::xfs::file::xfs_file_dax_write;
use daxcheck_core::xfs::inode::{xfs_free_file_space, xfs_setattr_size};
use daxcheck_core::xfs::notify_failure::xfs_dax_failure_fn;
use daxcheck_core::xfs::reflink::xfs_reflink_remap_range;

use super::world::{pick, FuzzWorld};

/// How GUP walks: the slow path, GUP-fast falling back to it, or
/// `get_user_pages_fast_only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GupPath {
    Slow,
    Fast,
    FastOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A page fault (PMD first when the VMA is PMD-aligned); a write fault
    /// in a MAP_SYNC VMA is a sync fault.
    Fault {
        mm: u8,
        file: u8,
        index: u64,
        write: bool,
    },
    /// A read fault, then a write fault on the same page: the mkwrite
    /// upgrade of a read-only mapping.
    Mkwrite {
        mm: u8,
        file: u8,
        index: u64,
    },
    Munmap {
        mm: u8,
        file: u8,
    },
    /// Process exit: every VMA of the process unmapped.
    Exit {
        mm: u8,
    },
    Truncate {
        file: u8,
        size: u64,
    },
    PunchHole {
        file: u8,
        start: u64,
        end: u64,
    },
    /// GUP (FOLL_PIN or FOLL_GET); the page is held until `Unpin` or the
    /// end of the thread.
    Pin {
        mm: u8,
        file: u8,
        index: u64,
        path: GupPath,
        pin: bool,
        write: bool,
        longterm: bool,
    },
    /// Release the thread's `slot`-th outstanding GUP reference (modulo).
    Unpin {
        slot: u8,
    },
    Reflink {
        src: u8,
        dst: u8,
    },
    /// write(2) of one page (a CoW write over a shared extent).
    CowWrite {
        file: u8,
        index: u64,
    },
    Invalidate {
        file: u8,
        start: u64,
        end: u64,
    },
    Fsync {
        file: u8,
    },
    /// Memory failure of a pmem frame the FS does not claim.
    MemoryFailure {
        pfn: u64,
    },
    /// Memory failure reported by the FS (XFS notify_failure) for a range.
    MemoryFailureFs {
        file: u8,
        index: u64,
    },
    /// Inode eviction; only once no process maps the file and no GUP
    /// reference is held (the kernel's VMA and pin references keep the
    /// inode alive until then). Later operations on the file are skipped.
    Evict {
        file: u8,
    },
}

const KINDS: u64 = 15;

impl Op {
    /// Decode one operation for `w`; `None` when the bytes ran out.
    pub fn decode(u: &mut Unstructured, w: &FuzzWorld) -> Option<Op> {
        if u.is_empty() {
            return None;
        }
        let nfiles = w.files.len() as u64;
        let kind = pick(u, KINDS);
        let mm = pick(u, w.mms as u64) as u8;
        let file = pick(u, nfiles) as u8;
        let pages = w.pages(file);
        let index = pick(u, pages);
        let flags = pick(u, 256);
        let bit = |n: u32| flags >> n & 1 != 0;
        Some(match kind {
            0 | 1 => Op::Fault {
                mm,
                file,
                index,
                write: kind == 1,
            },
            2 => Op::Mkwrite { mm, file, index },
            3 => Op::Munmap { mm, file },
            4 => Op::Exit { mm },
            5 => Op::Truncate { file, size: index },
            6 => Op::PunchHole {
                file,
                start: index,
                end: (index + (flags & 1)).min(pages - 1),
            },
            7 => Op::Pin {
                mm,
                file,
                index,
                path: match flags % 3 {
                    0 => GupPath::Slow,
                    1 => GupPath::Fast,
                    _ => GupPath::FastOnly,
                },
                pin: !bit(2),
                write: bit(3),
                // Rare: a FOLL_LONGTERM request always fails on fsdax.
                longterm: flags >> 4 == 0xf,
            },
            8 => Op::Unpin {
                slot: (flags & 3) as u8,
            },
            // The model remaps a whole file onto another one.
            9 if nfiles > 1 => Op::Reflink {
                src: file,
                dst: ((file as u64 + 1 + pick(u, nfiles - 1)) % nfiles) as u8,
            },
            9 => Op::Fsync { file },
            10 => Op::CowWrite { file, index },
            11 => Op::Invalidate {
                file,
                start: index,
                end: (index + (flags & 1)).min(pages - 1),
            },
            12 => Op::Fsync { file },
            13 => match w.setup().dax_frames {
                // No pmem frame at all: nothing can fail.
                0 => Op::Fsync { file },
                frames => Op::MemoryFailure {
                    pfn: DAX_BASE + flags % frames,
                },
            },
            _ => {
                if bit(7) {
                    Op::Evict { file }
                } else {
                    Op::MemoryFailureFs { file, index }
                }
            }
        })
    }

    /// The files the operation touches.
    pub fn files(&self) -> Vec<u8> {
        match *self {
            Op::Fault { file, .. }
            | Op::Mkwrite { file, .. }
            | Op::Munmap { file, .. }
            | Op::Truncate { file, .. }
            | Op::PunchHole { file, .. }
            | Op::Pin { file, .. }
            | Op::CowWrite { file, .. }
            | Op::Invalidate { file, .. }
            | Op::Fsync { file }
            | Op::MemoryFailureFs { file, .. }
            | Op::Evict { file } => vec![file],
            Op::Reflink { src, dst } => vec![src, dst],
            Op::Exit { .. } | Op::Unpin { .. } | Op::MemoryFailure { .. } => vec![],
        }
    }

    /// Operations that break the layout (wait for every page of a file to
    /// go idle): a thread drops its own GUP references first, or it would
    /// wait on itself.
    pub fn breaks_layout(&self) -> bool {
        matches!(
            self,
            Op::Truncate { .. } | Op::PunchHole { .. } | Op::Reflink { .. } | Op::Evict { .. }
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |file: u8| file_name(file);
        match *self {
            Op::Fault {
                mm,
                file,
                index,
                write,
            } => write!(
                f,
                "mm{mm} {} fault {}[{index}]",
                if write { "write" } else { "read" },
                n(file)
            ),
            Op::Mkwrite { mm, file, index } => {
                write!(
                    f,
                    "mm{mm} read then write fault {}[{index}] (mkwrite)",
                    n(file)
                )
            }
            Op::Munmap { mm, file } => write!(f, "munmap {} in mm{mm}", n(file)),
            Op::Exit { mm } => write!(f, "exit mm{mm}"),
            Op::Truncate { file, size } => write!(f, "truncate {} to {size}", n(file)),
            Op::PunchHole { file, start, end } => {
                write!(f, "punch hole {}[{start}..{end}]", n(file))
            }
            Op::Pin {
                mm,
                file,
                index,
                path,
                pin,
                write,
                longterm,
            } => {
                let how = match path {
                    GupPath::Slow => "slow",
                    GupPath::Fast => "fast",
                    GupPath::FastOnly => "fast only",
                };
                write!(
                    f,
                    "mm{mm} {} {}[{index}] ({how}{}{})",
                    if pin { "pin" } else { "get" },
                    n(file),
                    if write { ", write" } else { "" },
                    if longterm { ", FOLL_LONGTERM" } else { "" }
                )
            }
            Op::Unpin { slot } => write!(f, "unpin reference #{slot}"),
            Op::Reflink { src, dst } => write!(f, "reflink {} onto {}", n(src), n(dst)),
            Op::CowWrite { file, index } => write!(f, "write(2) {}[{index}]", n(file)),
            Op::Invalidate { file, start, end } => {
                write!(f, "invalidate {}[{start}..{end}]", n(file))
            }
            Op::Fsync { file } => write!(f, "fsync {}", n(file)),
            Op::MemoryFailure { pfn } => write!(f, "memory failure pfn {pfn}"),
            Op::MemoryFailureFs { file, index } => {
                write!(f, "memory failure {}[{index}] (FS notify)", n(file))
            }
            Op::Evict { file } => write!(f, "evict {}", n(file)),
        }
    }
}

/// What one model thread carries between its operations: its outstanding
/// GUP references. Files evicted so far are world-wide state (`evicted`).
#[derive(Default)]
pub struct ThreadState {
    pub pinned: RefCell<Vec<Pinned>>,
}

/// Release every GUP reference the thread holds.
pub fn release_all(cx: &Cx, st: &ThreadState) {
    let held: Vec<Pinned> = st.pinned.borrow_mut().drain(..).collect();
    for p in held {
        unpin_user_page(cx, p);
    }
}

/// Whether an operation can run: not on an evicted inode, and eviction
/// only of an inode nothing maps or pins.
fn runnable(cx: &Cx, op: &Op) -> bool {
    let w = &cx.w;
    if op.files().iter().any(|&f| w.file(f).evicted.peek()) {
        return false;
    }
    if let Op::Evict { file } = *op {
        let mapped = w.mms.iter().any(|m| m.vma_live[file as usize].peek());
        let pinned = !w.pins.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        return !mapped && !pinned;
    }
    true
}

/// Run one operation on thread `cx` in world `fw`: the single place the
/// fuzzer calls into the model.
pub fn apply(cx: &Cx, fw: &FuzzWorld, st: &ThreadState, op: &Op) {
    if op.breaks_layout() {
        release_all(cx, st);
    }
    if !runnable(cx, op) {
        cx.note(format!("skipped: {op} (inode evicted or still in use)"));
        return;
    }
    let size = |mm: u8, file: u8| {
        if fw.huge[mm as usize][file as usize] {
            FaultSize::Pmd
        } else {
            FaultSize::Pte
        }
    };
    match *op {
        Op::Fault {
            mm,
            file,
            index,
            write,
        } => {
            let access = if write { Access::Write } else { Access::Read };
            handle_mm_fault(cx, Mm(mm), File(file), index, access, size(mm, file));
        }
        Op::Mkwrite { mm, file, index } => {
            let (m, f) = (Mm(mm), File(file));
            handle_mm_fault(cx, m, f, index, Access::Read, size(mm, file));
            handle_mm_fault(cx, m, f, index, Access::Write, size(mm, file));
        }
        Op::Munmap { mm, file } => munmap(cx, Mm(mm), File(file)),
        Op::Exit { mm } => {
            release_all(cx, st);
            for file in 0..fw.files.len() as u8 {
                if !cx.w.file(file).evicted.peek() {
                    munmap(cx, Mm(mm), File(file));
                }
            }
        }
        Op::Truncate { file, size } => xfs_setattr_size(cx, File(file), size),
        Op::PunchHole { file, start, end } => xfs_free_file_space(cx, File(file), start, end),
        Op::Pin {
            mm,
            file,
            index,
            path,
            pin,
            write,
            longterm,
        } => {
            let flags = GupFlags {
                write,
                pin,
                longterm,
                huge: fw.huge[mm as usize][file as usize],
                fast_only: path == GupPath::FastOnly,
            };
            let (m, f) = (Mm(mm), File(file));
            let r = match path {
                GupPath::Slow => __get_user_pages(cx, m, f, index, flags),
                GupPath::Fast | GupPath::FastOnly => gup_fast(cx, m, f, index, flags),
            };
            if let Ok(p) = r {
                st.pinned.borrow_mut().push(p);
            }
        }
        Op::Unpin { slot } => {
            let p = {
                let mut held = st.pinned.borrow_mut();
                if held.is_empty() {
                    None
                } else {
                    let i = slot as usize % held.len();
                    Some(held.remove(i))
                }
            };
            if let Some(p) = p {
                unpin_user_page(cx, p);
            }
        }
        Op::Reflink { src, dst } => xfs_reflink_remap_range(cx, File(src), File(dst)),
        Op::CowWrite { file, index } => {
            xfs_file_dax_write(cx, File(file), index);
        }
        Op::Invalidate { file, start, end } => {
            invalidate_inode_pages2_range(cx, file, start, end);
        }
        Op::Fsync { file } => {
            vfs_fsync_range(cx, File(file), 0, fw.pages(file) - 1);
        }
        Op::MemoryFailure { pfn } => {
            mf_generic_kill_procs(cx, pfn);
        }
        Op::MemoryFailureFs { file, index } => {
            xfs_dax_failure_fn(cx, file, index, 1);
        }
        Op::Evict { file } => xfs_fs_evict_inode(cx, file),
    }
}
