//! Set-up helpers the scenarios share: thread specs, the usual files, the
//! GUP pin-and-unpin step and the H5 expectation two scenarios assert.

use std::sync::Arc;

use daxcheck_core::cx::Cx;
use daxcheck_core::exec::ThreadSpec;
use daxcheck_core::mm::gup::{__get_user_pages, gup_fast, unpin_user_page, GupFlags};
use daxcheck_core::violation::CheckKind;
use daxcheck_core::vm::FaultSize;
use daxcheck_core::world::{Block, FileSetup, Setup, DAX_BASE};
use daxcheck_core::world::{Mm, FILE_A};
use daxcheck_core::KernelState;

use super::{Expect, Finding};
use crate::checks::Hyp;

pub(crate) fn thread(
    name: impl Into<String>,
    body: impl Fn(&Cx) + Send + Sync + 'static,
) -> ThreadSpec {
    ThreadSpec {
        name: name.into(),
        body: Arc::new(body),
    }
}

/// One file A of one PMD range (two pages) backed by the PMD-aligned blocks
/// pfn 8 and 9, mapped by `mms` processes.
pub(crate) fn file_a(mms: u8) -> Setup {
    Setup::file(2).mms(mms)
}

pub(crate) fn size_name(s: FaultSize) -> &'static str {
    match s {
        FaultSize::Pte => "PTE",
        FaultSize::Pmd => "PMD",
    }
}

pub(crate) fn holds(_: KernelState) -> Expect {
    Expect::Holds
}

/// Files A and B of `pages` pages; A's blocks are pmem pfn 8.., B's are the
/// same pfns (shared, reflinked) when `b_own` is 0, else B has its own
/// `b_own` blocks after A's.
pub(crate) fn shared_ab(pages: u64, b_own: u64) -> Setup {
    let shared = b_own == 0;
    let a: Vec<_> = (0..pages)
        .map(|i| {
            Some(Block {
                pfn: DAX_BASE + i,
                shared,
            })
        })
        .collect();
    let b: Vec<_> = if shared {
        a.clone()
    } else {
        (0..pages)
            .map(|i| {
                Some(Block {
                    pfn: DAX_BASE + pages + i,
                    shared: false,
                })
            })
            .collect()
    };
    Setup {
        files: vec![
            FileSetup {
                pages,
                size: pages,
                blocks: a,
            },
            FileSetup {
                pages,
                size: pages,
                blocks: b,
            },
        ],
        mms: 2,
        dax_frames: pages + b_own,
        ext: Default::default(),
    }
}

/// A of two pages (shared with B when `shared`), with `spare` free pmem
/// frames after it for CoW allocations.
pub(crate) fn file_spare(shared: bool, spare: u64) -> Setup {
    let a = FileSetup::backed(2);
    let files = if shared {
        vec![a.clone().shared(), a.shared()]
    } else {
        vec![a]
    };
    Setup::files(files).spare(spare)
}

pub(crate) const PIN: GupFlags = GupFlags {
    write: false,
    pin: true,
    longterm: false,
    huge: false,
    fast_only: false,
};

/// Pin A[index] in `mm` (slow path, faulting it in), then unpin.
pub(crate) fn pin_unpin(cx: &Cx, mm: u8, index: u64, fast: bool, flags: GupFlags) {
    let r = if fast {
        let fast_only = GupFlags {
            fast_only: true,
            ..flags
        };
        gup_fast(cx, Mm(mm), FILE_A, index, fast_only)
    } else {
        __get_user_pages(cx, Mm(mm), FILE_A, index, flags)
    };
    if let Ok(p) = r {
        unpin_user_page(cx, p);
    }
}

/// H5 on v6.15 and v6.16; 2026's `dax_folio_reset_order` clears the stale index.
pub(crate) fn finds_h5(k: KernelState) -> Expect {
    match k {
        KernelState::Y2026 => Expect::Holds,
        _ => Expect::Finds(Finding {
            hypotheses: &[Hyp::H5],
            bug: None,
            what: "the stale order-0 index is read as a share count",
            checks: &[CheckKind::I4, CheckKind::Warn, CheckKind::I6],
        }),
    }
}

/// The v6.15 tag's `wait_entry_unlocked_exclusive` (`xas_pause`) reloads the
/// index after the entry it waited for, so a scan that met a locked entry
/// skips it (B4; the fix is in 6.15.3 and 6.16).
pub(crate) fn finds_b4_on_v6_15(k: KernelState) -> Expect {
    match k {
        KernelState::V6_15 => Expect::Finds(Finding {
            hypotheses: &[],
            bug: Some("B4"),
            what: "the v6.15 tag's wait_entry_unlocked_exclusive skips the entry it waited for",
            checks: &[CheckKind::I8, CheckKind::I9, CheckKind::Warn],
        }),
        _ => Expect::Holds,
    }
}
