//! `mm/memory.c` (v6.15): page-table insertion and zapping with a deferred
//! TLB gather (spec §3.12.1–§3.12.4), and `handle_mm_fault`, which reaches
//! the filesystem through the VMA's `vm_ops->huge_fault`.

use crate::config::Mutant;
use crate::cx::{Cx, LockId};
use crate::entry::*;
use crate::mm::fault_post::{count_store, fault_begin, fault_end};
use crate::mm::folio::{
    folio_get, folio_mark_dirty, folio_put, folio_ref_count, folio_test_anon, page_folio,
};
use crate::mm::huge_memory::{__split_huge_pmd_locked, zap_huge_pmd};
use crate::mm::rmap::{folio_add_file_rmap_pte, folio_remove_rmap_pte};
use crate::trace::{PtEntry, What};
use crate::violation::Check;
use crate::vm::{Access, Fault, FaultSize, Vmf};
use crate::world::{File, Mm, Pmd, Pte, ZERO_PFN};

/// The page-table slot of (mm, file, index).
pub(crate) fn slot(cx: &Cx, mm: u8, file: u8, index: u64) -> &crate::world::PmdSlot {
    &cx.w.mms[mm as usize].pt[file as usize][(index / PG_PMD_NR) as usize]
}

/// `include/linux/pgtable.h` `set_pmd_at`/`pmdp_get_and_clear` under
/// `pmd_lock`: the value, its lockless view, and the step.
pub(crate) fn set_pmd(cx: &Cx, mm: u8, file: u8, base: u64, pmd: &mut Pmd, new: Pmd) {
    let old = *pmd;
    *pmd = new;
    count_store(cx, mm, file, base);
    slot(cx, mm, file, base).pmd_word.store_raw(new);
    cx.ev(What::Pte {
        mm,
        file,
        index: base,
        old: PtEntry::Pmd(old),
        new: PtEntry::Pmd(new),
    });
}

/// `include/linux/pgtable.h` `set_pte_at`/`ptep_get_and_clear` under the PTE
/// lock.
pub(crate) fn set_pte(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    ptes: &mut [Pte; PG_PMD_NR as usize],
    new: Pte,
) {
    let i = (index % PG_PMD_NR) as usize;
    let old = ptes[i];
    ptes[i] = new;
    count_store(cx, mm, file, index);
    slot(cx, mm, file, index).pte_words[i].store_raw(new);
    cx.ev(What::Pte {
        mm,
        file,
        index,
        old: PtEntry::Pte(old),
        new: PtEntry::Pte(new),
    });
}

/// `include/linux/mm.h` `pte_alloc` under `pmd_lock`: give the slot a PTE
/// table. Returns false if a huge PMD is there (the fault raced with a PMD
/// fault).
pub fn pte_alloc(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let sl = (index / PG_PMD_NR) as u8;
    let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
    match *pmd {
        Pmd::None => {
            set_pmd(
                cx,
                mm,
                file,
                align_index(index, PMD_ORDER),
                &mut pmd,
                Pmd::Table,
            );
            true
        }
        Pmd::Table => true,
        Pmd::Huge { .. } => false,
    }
}

/// Whether the PMD of the slot is a huge mapping (`pmd_trans_huge`).
pub fn pmd_is_huge(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    matches!(*pmd, Pmd::Huge { .. })
}

/// `Some(writable)` if the slot holds a huge PMD (`pmd_trans_huge`).
pub fn pmd_huge_writable(cx: &Cx, mm: u8, file: u8, index: u64) -> Option<bool> {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    match *pmd {
        Pmd::Huge { write, .. } => Some(write),
        _ => None,
    }
}

/// Whether a PTE table hangs off the slot (`!pmd_none && !pmd_trans_huge`).
pub fn pmd_is_table(cx: &Cx, mm: u8, file: u8, index: u64) -> bool {
    let s = slot(cx, mm, file, index);
    let pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, (index / PG_PMD_NR) as u8));
    // M62 takes a table PMD for none: the PMD fault goes on over it.
    matches!(*pmd, Pmd::Table) && !cx.w.has(Mutant::M62)
}

/// `mm/memory.c` `validate_page_before_insert`: refuses a folio with refcount 0
/// (the reason for the fault's temporary reference).
fn validate_page_before_insert(cx: &Cx, pfn: u64) -> bool {
    if pfn == ZERO_PFN {
        return true;
    }
    match page_folio(cx, pfn) {
        // folio_test_anon() refuses an anonymous folio (-EINVAL): an
        // H1 overlay's counter bits in `mapping` look like one.
        Some(head) => {
            folio_ref_count(cx, head) != 0
                && !folio_test_anon(cx, head, "validate_page_before_insert")
        }
        None => false,
    }
}

/// `mm/memory.c` `vmf_insert_page_mkwrite` → `insert_page` →
/// `insert_page_into_pte_locked`.
pub fn vmf_insert_page_mkwrite(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    pfn: u64,
    write: bool,
) -> Fault {
    let _f = cx.enter("vmf_insert_page_mkwrite");
    if !validate_page_before_insert(cx, pfn) {
        cx.note(format!(
            "validate_page_before_insert: page {pfn} has refcount 0 or looks anonymous: -EINVAL"
        ));
        return Fault::SigBus;
    }
    if !pte_alloc(cx, mm, file, index) {
        return Fault::NoPage;
    }
    let s = slot(cx, mm, file, index);
    let i = (index % PG_PMD_NR) as usize;
    let mut ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, (index / PG_PMD_NR) as u8));
    let old = ptes[i];
    let mkwrite = write;
    let new = match old {
        Pte::Present {
            pfn: opfn,
            write: ow,
            special,
        } => {
            if !mkwrite {
                return Fault::NoPage; // -EBUSY
            }
            if opfn != pfn {
                cx.warn_on(
                    opfn != ZERO_PFN,
                    "mm/memory.c insert_page_into_pte_locked: WARN_ON_ONCE(!is_zero_pfn)",
                    || format!("PTE maps pfn {opfn}, insert of pfn {pfn}"),
                );
                return Fault::SigBus; // -EFAULT
            }
            // The mkwrite upgrade: same page, no new reference.
            if cx.w.has(Mutant::M18) {
                if let Some(head) = page_folio(cx, pfn) {
                    folio_get(cx, head);
                }
            }
            Pte::Present {
                pfn,
                write: ow || write,
                special,
            }
        }
        Pte::None if pfn == ZERO_PFN => Pte::Present {
            pfn,
            write: false,
            special: true,
        },
        Pte::None => {
            let Some(head) = page_folio(cx, pfn) else {
                return Fault::SigBus;
            };
            folio_get(cx, head);
            folio_add_file_rmap_pte(cx, mm, pfn);
            Pte::Present {
                pfn,
                write: mkwrite,
                special: false,
            }
        }
    };
    set_pte(cx, mm, file, index, &mut ptes, new);
    Fault::NoPage
}

/// `mm/memory.c` `zap_pte_range` over `[first, last]` of one PMD slot's PTE
/// table: clear, remove the rmap under the PTL, queue the page for the TLB
/// flush.
fn zap_pte_range(cx: &Cx, mm: u8, file: u8, first: u64, last: u64) {
    let _f = cx.enter("zap_pte_range");
    let s = slot(cx, mm, file, first);
    let mut ptes = cx.lock(&s.ptes, LockId::Pte(mm, file, (first / PG_PMD_NR) as u8));
    for index in first..=last {
        let i = (index % PG_PMD_NR) as usize;
        let old = ptes[i];
        let Pte::Present { pfn, special, .. } = old else {
            continue;
        };
        set_pte(cx, mm, file, index, &mut ptes, Pte::None);
        if special {
            continue; // vm_normal_page() == NULL: the zero page
        }
        // zap_present_folio_ptes: `if (!folio_test_anon(folio))`, then a
        // dirty PTE marks the file folio dirty (the model's writable PTEs
        // stand for dirty ones). The folio is the one the flush resolves
        // again; looked up here without a scheduling point of its own.
        if let Some(fr) = cx.w.frame(pfn) {
            let head = fr.compound_head.peek().unwrap_or(pfn);
            let anon = folio_test_anon(cx, head, "zap_present_folio_ptes");
            if !anon && matches!(old, Pte::Present { write: true, .. }) {
                folio_mark_dirty(cx, head);
            }
        }
        if !cx.w.has(Mutant::M28) {
            folio_remove_rmap_pte(cx, mm, pfn);
        }
        cx.gather.borrow_mut().push(pfn);
    }
}

/// `mm/memory.c` `unmap_page_range` of one file VMA over `[first, last]` in
/// `mm`, queuing pages in this thread's gather.
pub fn zap_vma_range(cx: &Cx, mm: u8, file: u8, first: u64, last: u64) {
    let npages = cx.w.mms[mm as usize].pt[file as usize].len() as u64 * PG_PMD_NR;
    let last = last.min(npages.saturating_sub(1));
    let mut base = align_index(first, PMD_ORDER);
    while base <= last && base < npages {
        let s = slot(cx, mm, file, base);
        let sl = (base / PG_PMD_NR) as u8;
        let lo = first.max(base);
        let hi = last.min(base + PG_PMD_NR - 1);
        let mut pmd = cx.lock(&s.pmd, LockId::Pmd(mm, file, sl));
        match *pmd {
            Pmd::Huge { .. } if lo == base && hi == base + PG_PMD_NR - 1 => {
                zap_huge_pmd(cx, mm, file, base, &mut pmd)
            }
            Pmd::Huge { .. } => __split_huge_pmd_locked(cx, mm, file, base, &mut pmd),
            Pmd::Table => {
                drop(pmd);
                zap_pte_range(cx, mm, file, lo, hi);
            }
            Pmd::None => {}
        }
        base += PG_PMD_NR;
    }
}

/// `mm/mmu_gather.c` `tlb_finish_mmu`: the deferred puts land now
/// (`folios_put_refs`), each page resolved to its folio at flush time.
pub fn tlb_finish_mmu(cx: &Cx) {
    let _f = cx.enter("tlb_finish_mmu");
    let pages: Vec<u64> = std::mem::take(&mut *cx.gather.borrow_mut());
    for pfn in pages {
        if let Some(head) = page_folio(cx, pfn) {
            folio_put(cx, head);
        }
    }
}

/// `mm/memory.c` `unmap_mapping_pages(mapping, first, nr, false)`: zap every
/// process's mappings of the range, finishing each VMA's gather before going
/// on.
pub fn unmap_mapping_pages(cx: &Cx, file: u8, first: u64, last: u64) {
    let _f = cx.enter("unmap_mapping_pages");
    if cx.holds(LockId::XaLock(file)) {
        cx.violate(
            Check::LockRule("unmap_mapping_pages must not be called with xa_lock held"),
            format!("file {}", crate::trace::file_name(file)),
        );
    }
    let w = &cx.w;
    let _i = cx.down_read(&w.files[file as usize].i_mmap, LockId::IMmap(file));
    for mm in &w.mms {
        if !mm.vma_live[file as usize].get() {
            continue;
        }
        zap_vma_range(cx, mm.id, file, first, last);
        tlb_finish_mmu(cx);
    }
}

/// `mm/madvise.c` `madvise_dontneed_single_vma`: `madvise(MADV_DONTNEED)`
/// over `[first, last]` of one file VMA, `mmap_lock` shared, zap, flush. A
/// range inside a huge PMD splits it (`__split_huge_pmd_locked`).
pub fn madvise_dontneed(cx: &Cx, mm: Mm, file: File, first: u64, last: u64) {
    let _f = cx.enter("madvise_dontneed");
    let (mm, file) = (mm.0, file.0);
    let m = &cx.w.mms[mm as usize];
    let _l = cx.down_read(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        return;
    }
    zap_vma_range(cx, mm, file, first, last);
    tlb_finish_mmu(cx);
}

/// `mm/vma.c` `munmap` of the file's whole VMA in `mm`: zap, unlink the VMA
/// from `i_mmap`, then flush the gather (the references drop last).
pub fn munmap(cx: &Cx, mm: Mm, file: File) {
    let _f = cx.enter("munmap");
    let (mm, file) = (mm.0, file.0);
    let w = &cx.w;
    let m = &w.mms[mm as usize];
    let _l = cx.down_write(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        return;
    }
    zap_vma_range(cx, mm, file, 0, u64::MAX);
    {
        let _i = cx.down_write(&w.files[file as usize].i_mmap, LockId::IMmap(file));
        m.vma_live[file as usize].set(false);
        cx.note(format!(
            "unlink_file_vma: mm{mm} VMA of {} leaves i_mmap",
            crate::trace::file_name(file)
        ));
    }
    tlb_finish_mmu(cx);
}

/// `mm/memory.c` `handle_mm_fault` for a DAX file VMA: a PMD fault first when
/// asked (and the PMD is none), PTE on fallback; nothing to do when a mapping
/// that allows the access is already there.
pub fn handle_mm_fault(
    cx: &Cx,
    mm: Mm,
    file: File,
    index: u64,
    access: Access,
    size: FaultSize,
) -> Fault {
    let _f = cx.enter("handle_mm_fault");
    let (mm, file, write) = (mm.0, file.0, access == Access::Write);
    let w = &cx.w;
    let m = &w.mms[mm as usize];
    let _l = cx.down_read(&m.mmap_lock, LockId::MmapLock(mm));
    if !m.vma_live[file as usize].get() {
        cx.note("no VMA: SIGSEGV");
        return Fault::SigSegv;
    }
    handle_mm_fault_locked(cx, mm, file, index, write, size)
}

/// `mm/memory.c` `handle_mm_fault` proper, with `mmap_lock` held by the caller
/// (the fault handler, or GUP's `faultin_page`).
pub fn handle_mm_fault_locked(
    cx: &Cx,
    mm: u8,
    file: u8,
    index: u64,
    write: bool,
    size: FaultSize,
) -> Fault {
    let vmf = Vmf {
        mm,
        file,
        index,
        write,
        // VM_SYNC on a write fault; dax_fault_iter adds IOMAP_F_DIRTY.
        sync: write && cx.w.mms[mm as usize].map_sync[file as usize].get(),
    };
    let outer = fault_begin(cx, &vmf);
    let r = __handle_mm_fault(cx, &vmf, size);
    fault_end(cx, &vmf, r, outer);
    r
}

/// `mm/memory.c` `__handle_mm_fault` → `create_huge_pmd`/`wp_huge_pmd` →
/// `handle_pte_fault` for a DAX VMA.
fn __handle_mm_fault(cx: &Cx, vmf: &Vmf, size: FaultSize) -> Fault {
    let (mm, file, index, write) = (vmf.mm, vmf.file, vmf.index, vmf.write);
    // The VMA's `vm_ops`: the filesystem that owns the file.
    let huge_fault = cx.w.file(file).vm_ops.huge_fault;
    match pmd_huge_writable(cx, mm, file, index) {
        // M57 (`write || writable`) takes a write fault on a read-only PMD
        // for one the PMD already serves.
        Some(writable) if (if cx.w.has(Mutant::M57) { write } else { !write }) || writable => {
            cx.note("already mapped by a PMD");
            return Fault::NoPage;
        }
        Some(_) => {
            // wp_huge_pmd → ->huge_fault: a write fault on a read-only PMD;
            // on fallback the PMD was split, and handle_pte_fault runs at
            // once: no second PMD attempt (create_huge_pmd is only for a
            // PMD the walk found none).
            let r = huge_fault(cx, vmf, FaultSize::Pmd);
            if r != Fault::Fallback {
                return r;
            }
            return pte_fault(cx, vmf, huge_fault);
        }
        None => {}
    }
    if size == FaultSize::Pmd && !pmd_is_table(cx, mm, file, index) {
        let r = huge_fault(cx, vmf, FaultSize::Pmd);
        if r != Fault::Fallback {
            return r;
        }
    }
    pte_fault(cx, vmf, huge_fault)
}

/// `mm/memory.c` `handle_pte_fault` → `do_fault`/`do_wp_page` for a DAX
/// VMA: a PTE that already serves the access ends the fault; otherwise the
/// filesystem's `->huge_fault` at PTE size.
fn pte_fault(cx: &Cx, vmf: &Vmf, huge_fault: fn(&Cx, &Vmf, FaultSize) -> Fault) -> Fault {
    if let Some(Pte::Present { write: w_ok, .. }) = pte_at(cx, vmf.mm, vmf.file, vmf.index) {
        if !vmf.write || w_ok {
            cx.note("already mapped by a PTE");
            return Fault::NoPage;
        }
    }
    huge_fault(cx, vmf, FaultSize::Pte)
}

/// `mm/memory.c` `handle_pte_fault`'s look at the PTE, under the PTE lock.
fn pte_at(cx: &Cx, mm: u8, file: u8, index: u64) -> Option<Pte> {
    let s = &cx.w.mms[mm as usize].pt[file as usize][(index / crate::entry::PG_PMD_NR) as usize];
    let ptes = cx.lock(
        &s.ptes,
        LockId::Pte(mm, file, (index / crate::entry::PG_PMD_NR) as u8),
    );
    let i = if cx.w.has(Mutant::M55) {
        index / crate::entry::PG_PMD_NR
    } else {
        index % crate::entry::PG_PMD_NR
    };
    Some(ptes[i as usize])
}
