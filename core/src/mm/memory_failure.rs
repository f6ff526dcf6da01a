//! `mm/memory-failure.c` (v6.15): the two kill paths for FS-DAX pages (spec
//! §3.11). Left out: `hwpoison_filter`, the pgmap type switch, `mf_mutex`
//! (scenarios run one memory failure at a time), and the signals themselves:
//! "kill" is the unmap of `unmap_and_kill`, over the locked entry's range
//! rather than over the largest mapping size of the collected tasks.

use crate::cx::Cx;
use crate::cx::LockId;
use crate::dax::lock_folio::{
    check_mapping_entry_lock, check_mf_lock, dax_lock_folio, dax_lock_mapping_entry,
    dax_unlock_folio, dax_unlock_mapping_entry, deref_mapping, locked_through, read_index,
};
use crate::entry::*;
use crate::mm::folio::{folio_test_anon, pfn_folio};
use crate::mm::memory::unmap_mapping_pages;
use crate::pgtable::{Pmd, Pte};
use crate::trace::file_name;
use crate::trace::Val;
use crate::violation::{Check, Inv};

/// `mm/memory-failure.c` `EBUSY`; functions return the negated value, as the
/// kernel does.
pub const EBUSY: i32 = 16;

/// `include/linux/page-flags.h` `SetPageHWPoison`
fn set_page_hwpoison(cx: &Cx, pfn: u64) {
    let fr = &cx.w.frames[pfn as usize];
    cx.field(pfn, "PG_hwpoison", &fr.hwpoison, true, Val::Flag);
}

/// `mm/memory-failure.c` `unmap_and_kill`: unmap the poisoned range from every
/// process mapping it, over the locked entry's range (then SIGBUS, not
/// modelled).
fn unmap_and_kill(cx: &Cx, file: u8, index: u64, cookie: u64) {
    let _f = cx.enter("unmap_and_kill");
    let base = align_index(index, dax_entry_order(cookie));
    // M50 subtracts the entry's pages (an empty range from index 2 on).
    let last = if cx.w.has(crate::config::Mutant::M50) {
        base.wrapping_sub(dax_entry_pages(cookie) + 1)
    } else {
        base + dax_entry_pages(cookie) - 1
    };
    unmap_mapping_pages(cx, file, base, last);
}

/// I22, model-side (shadow reads), just before memory failure drops the
/// entry lock of (file, index): the page it poisoned is marked HWPoison and
/// no process maps it there. `collect_procs_file`/`collect_procs_fsdax`
/// collect every process that maps the page at that offset, and
/// `unmap_and_kill` unmaps it from them; a fault that would map it again
/// needs the entry lock held here, so until the unlock the unmap stands.
fn check_mf_unmapped(cx: &Cx, file: u8, index: u64, page: u64, when: &str) {
    if !cx.w.frames[page as usize].hwpoison.peek() {
        cx.violate(
            Check::Inv(Inv::MemoryFailureUnmap),
            format!(
                "{when}: T{} unlocks {}[{index}] but page {page} is not marked HWPoison",
                cx.tid,
                file_name(file)
            ),
        );
    }
    let slot = (index / PG_PMD_NR) as usize;
    for mm in &cx.w.mms {
        let Some(s) = mm.pt[file as usize].get(slot) else {
            continue;
        };
        let pmd =
            matches!(s.pmd.peek(), Pmd::Huge { pfn, .. } if (pfn..pfn + PG_PMD_NR).contains(&page));
        let pte = matches!(s.ptes.peek()[(index % PG_PMD_NR) as usize], Pte::Present { pfn, .. } if pfn == page);
        if pmd || pte {
            cx.violate(
                Check::Inv(Inv::MemoryFailureUnmap),
                format!(
                    "{when}: T{} unlocks {}[{index}] while mm{} still maps poisoned page {page} \
                     there{}",
                    cx.tid,
                    file_name(file),
                    mm.id,
                    if pmd { " (PMD)" } else { "" }
                ),
            );
        }
    }
}

/// `mm/memory-failure.c` `collect_procs` → `collect_procs_file` for an FS_DAX
/// folio: `if (!folio->mapping) return;`, `folio_test_anon()`, then
/// `collect_procs_file` reads `folio->mapping` once more and takes
/// `i_mmap_lock_read(mapping)` on it: three plain reads with nothing
/// between them that excludes another file's shared association, which
/// sets `mapping` to NULL under that file's `xa_lock` (H3, F4). The first
/// two are recorded for `daxcheck why` and untracked by loom; the last is a
/// plain read. Returns how many processes map the page at `folio->index`
/// (`page_to_pgoff`, a share count when the folio became shared).
fn collect_procs(cx: &Cx, folio: u64) -> usize {
    let _f = cx.enter("collect_procs");
    let fr = &cx.w.frames[folio as usize];
    if crate::access::read_untracked(cx, folio, "mapping", &fr.mapping, Val::Mapping).is_none() {
        return 0;
    }
    if folio_test_anon(cx, folio, "collect_procs") {
        // collect_procs_anon: folio_lock_anon_vma_read() on the counter bits.
        deref_mapping(
            cx,
            folio,
            Some(crate::world::MAPPING_GARBAGE),
            "collect_procs_anon: folio_lock_anon_vma_read",
        );
        return 0;
    }
    let m = fr.mapping.get();
    let Some(m) = deref_mapping(cx, folio, m, "collect_procs_file: i_mmap_lock_read") else {
        return 0;
    };
    let ino = cx.w.file(m);
    let _i = cx.down_read(&ino.i_mmap, LockId::IMmap(m));
    let pgoff = fr.index_share.get();
    // Every process maps the whole file at page offset = address.
    // M49 inverts the test: every page inside the file is "beyond" it.
    let beyond = if cx.w.has(crate::config::Mutant::M49) {
        pgoff < ino.blocks.len() as u64
    } else {
        pgoff >= ino.blocks.len() as u64
    };
    if beyond {
        cx.note(format!(
            "collect_procs_file: pgoff {pgoff} of folio {folio} is beyond {}: nobody collected",
            crate::trace::file_name(m)
        ));
        return 0;
    }
    cx.w.mms
        .iter()
        .filter(|mm| mm.vma_live[m as usize].get())
        .count()
}

/// `mm/memory-failure.c` `mf_generic_kill_procs` for an FS_DAX page the
/// filesystem did not claim: lock the folio's entry, poison, unmap it
/// everywhere, unlock. Returns 0 or -EBUSY.
pub fn mf_generic_kill_procs(cx: &Cx, pfn: u64) -> i32 {
    let _f = cx.enter("mf_generic_kill_procs");
    let Some(folio) = pfn_folio(cx, pfn) else {
        return -EBUSY;
    };
    let cookie = dax_lock_folio(cx, folio);
    // M48 goes on without the entry lock.
    if cookie == 0 && !cx.w.has(crate::config::Mutant::M48) {
        cx.note(format!("folio {folio} has no single owner: -EBUSY"));
        return -EBUSY;
    }
    let fr = &cx.w.frames[folio as usize];
    let locked = locked_through(cx, cookie);
    match locked {
        Some(l) => check_mf_lock(cx, folio, l, "mf_generic_kill_procs after dax_lock_folio"),
        None => cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "T{} has cookie for folio {folio} but owns no such entry lock",
                cx.tid
            ),
        ),
    }
    set_page_hwpoison(cx, folio);
    let to_kill = collect_procs(cx, folio);
    // unmap_and_kill(&to_kill, pfn, folio->mapping, folio->index, flags):
    // both read again, after collect_procs_file's i_mmap lock cycle.
    let m = fr.mapping.get();
    if to_kill > 0 {
        // unmap_mapping_range(mapping, ...) takes i_mmap_lock_read(mapping).
        if let Some(m) = deref_mapping(cx, folio, m, "mf_generic_kill_procs: unmap_and_kill") {
            if let Some(l) = locked {
                check_mf_lock(cx, folio, l, "mf_generic_kill_procs before unmap_and_kill");
            }
            let index = read_index(cx, folio, "mf_generic_kill_procs: unmap_and_kill");
            unmap_and_kill(cx, m, index, cookie);
        }
    }
    // (A changed mapping or a missing lock is I19's report, above.)
    if let Some(l) = locked.filter(|&l| fr.mapping.peek() == Some(l)) {
        let index = fr.index_share.peek();
        check_mf_unmapped(
            cx,
            l,
            index,
            folio,
            "mf_generic_kill_procs before dax_unlock_folio",
        );
    }
    dax_unlock_folio(cx, folio, cookie);
    0
}

/// `mm/memory-failure.c` `mf_dax_kill_procs`: the FS holder path (XFS
/// `notify_failure` after its rmap lookup): per index, lock the entry, poison
/// its page, unmap, unlock.
pub fn mf_dax_kill_procs(cx: &Cx, file: u8, index: u64, count: u64) -> i32 {
    let _f = cx.enter("mf_dax_kill_procs");
    // M51 reports success without touching the range.
    if cx.w.has(crate::config::Mutant::M51) {
        return 0;
    }
    for i in index..index.saturating_add(count) {
        let (cookie, page) = dax_lock_mapping_entry(cx, file, i);
        check_mapping_entry_lock(cx, file, i, cookie, page);
        if cookie == 0 {
            return -EBUSY;
        }
        if let Some(p) = page {
            set_page_hwpoison(cx, p);
            unmap_and_kill(cx, file, i, cookie);
            check_mf_unmapped(
                cx,
                file,
                i,
                p,
                "mf_dax_kill_procs before dax_unlock_mapping_entry",
            );
        }
        dax_unlock_mapping_entry(cx, file, i, cookie);
    }
    0
}
