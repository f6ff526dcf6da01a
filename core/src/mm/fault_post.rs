//! I21, the fault postcondition (a model check; the kernel states it as the
//! hardware's retry of the access): a fault that returns NOPAGE has left its
//! address mapped with the access it asked for, a writable PTE or PMD for a
//! write fault and a present one for a read fault.
//!
//! The kernel promises this only for a fault that met nobody: NOPAGE also
//! means "raced, let the access fault again" (a PMD or PTE table that
//! appeared meanwhile, an entry that another thread removed before
//! `dax_insert_pfn_mkwrite` found it), and any thread may unmap or
//! write-protect the address between the insert and the return (truncate,
//! punch hole, `fsync`, invalidation, another process's shared-extent fault).
//! So the fault opens a window on the address's page-table slot; every
//! PMD/PTE store to a slot counts, and the check is made at the return only
//! if every store to that slot since the window opened was the faulting
//! thread's own and the handler took no retry exit. A fault that then left
//! its access unmapped would be re-faulted for ever by its user (the
//! livelocks that 59bf4fb9d386, "dax: Split pmd map when fallback on COW",
//! and "mm, dax: fix livelock, allow dax pmd mappings to become writeable"
//! fixed).

use std::sync::atomic::Ordering::SeqCst;

use crate::cx::{Cx, FaultWindow};
use crate::entry::PG_PMD_NR;
use crate::mm::memory::slot;
use crate::trace::file_name;
use crate::violation::{Check, Inv};
use crate::vm::{Fault, Vmf};
use crate::world::{Pmd, Pte};

/// Every PMD or PTE store of (mm, file, index)'s slot, before the value is
/// published: a fault that sees the value also sees the count.
pub(crate) fn count_store(cx: &Cx, mm: u8, file: u8, index: u64) {
    slot(cx, mm, file, index).stores.fetch_add(1, SeqCst);
    if let Some(mut w) = cx.fault.get() {
        if (w.mm, w.file, w.slot) == (mm, file, index / PG_PMD_NR) {
            w.own += 1;
            cx.fault.set(Some(w));
        }
    }
}

/// The handler returns NOPAGE because another thread changed what it was
/// about to map (the kernel's comment: "raced with someone ..., retry").
pub(crate) fn fault_raced(cx: &Cx) {
    if let Some(mut w) = cx.fault.get() {
        w.raced = true;
        cx.fault.set(Some(w));
    }
}

/// Open the window of a fault at `vmf`; returns the window it replaces.
pub(crate) fn fault_begin(cx: &Cx, vmf: &Vmf) -> Option<FaultWindow> {
    let s = slot(cx, vmf.mm, vmf.file, vmf.index);
    cx.fault.replace(Some(FaultWindow {
        mm: vmf.mm,
        file: vmf.file,
        slot: vmf.index / PG_PMD_NR,
        stores_at_start: s.stores.load(SeqCst),
        own: 0,
        raced: false,
    }))
}

/// Close the window and check I21 on the fault's result `r`.
pub(crate) fn fault_end(cx: &Cx, vmf: &Vmf, r: Fault, outer: Option<FaultWindow>) {
    let Some(w) = cx.fault.replace(outer) else {
        return;
    };
    if r != Fault::NoPage || w.raced {
        return;
    }
    let s = slot(cx, vmf.mm, vmf.file, vmf.index);
    // The words first, then the count (see count_store): a store this
    // fault did not make and whose value it reads is counted.
    let pmd = s.pmd_word.peek();
    let pte = s.pte_words[(vmf.index % PG_PMD_NR) as usize].peek();
    if s.stores.load(SeqCst) - w.stores_at_start != w.own {
        return;
    }
    let (present, writable, what) = match pmd {
        Pmd::Huge { write, .. } => (true, write, "a huge PMD"),
        Pmd::Table => match pte {
            Pte::Present { write, .. } => (true, write, "a PTE"),
            Pte::None => (false, false, "no PTE"),
        },
        Pmd::None => (false, false, "no PMD"),
    };
    if present && (writable || !vmf.write) {
        return;
    }
    let access = if vmf.write { "write" } else { "read" };
    let has = if present {
        format!("only read-only ({what})")
    } else {
        format!("not mapped ({what})")
    };
    cx.violate(
        Check::Inv(Inv::FaultMapsItsAccess),
        format!(
            "a {access} fault of {}[{}] in mm{} returned NOPAGE, and no other thread changed \
             that address's PMD or PTE meanwhile, but it is {has}: the access would fault again \
             for ever",
            file_name(vmf.file),
            vmf.index,
            vmf.mm
        ),
    );
}
