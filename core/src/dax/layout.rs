//! `fs/dax.c` (v6.15, 00c010e1): break-layout (spec §3.8): the busy scan
//! `dax_layout_busy_page_range`, `dax_break_layout` with the filesystem's
//! wait callback, the final break at eviction, and the entry deletion that
//! follows.

use crate::config::Mutant;
use crate::cx::Cx;
use crate::dax::entry_lock::{put_unlocked_entry, wait_entry_unlocked_exclusive, Lookup};
use crate::dax::folio::{dax_busy_page, dax_disassociate_entry};
use crate::dax::invalidate::__dax_invalidate_entry;
use crate::entry::*;
use crate::mm::folio::page_folio;
use crate::mm::memory::unmap_mapping_pages;
use crate::mm::rmap::mapping_mapped;
use crate::trace::{file_name, What};
use crate::violation::{Check, Inv};
use crate::wait::{WaitKey, WakeMode};

/// `fs/dax.c` `dax_layout_busy_page_range`: unmap the range, then find a folio
/// with references beyond its mappings.
pub fn dax_layout_busy_page_range(cx: &Cx, file: u8, start: u64, end: u64) -> Option<u64> {
    let _f = cx.enter("dax_layout_busy_page_range");
    if cx.w.has(Mutant::B19) && !mapping_mapped(cx, file) {
        // Pre-series shortcut: pinned but unmapped pages count as idle.
        return None;
    }
    // M14 scans without unmapping first (and counts refcount alone).
    if !cx.w.has(Mutant::M14) {
        unmap_mapping_pages(cx, file, start, end);
    }
    let mut xa = cx.xa_lock(file);
    let mut cursor = start;
    let mut page = None;
    while let Some((base, e)) = xa.find_from(cursor, end) {
        let (g, xas, got) = wait_entry_unlocked_exclusive(cx, file, xa, base, e);
        xa = g;
        let next = match got {
            Some((b, e2)) => {
                page = dax_busy_page(cx, e2);
                if !cx.w.has(Mutant::M26) {
                    put_unlocked_entry(
                        cx,
                        file,
                        b,
                        Lookup::Entry { base: b, e: e2 },
                        WakeMode::Next,
                    );
                }
                xa.range_end(b)
            }
            None => xas + 1,
        };
        if page.is_some() {
            break;
        }
        cursor = next;
    }
    drop(xa);
    page
}

/// `fs/dax.c` `dax_page_is_idle`: the page's refcount is 0.
pub(crate) fn dax_page_is_idle(cx: &Cx, page: u64) -> bool {
    let r = cx.w.frames[page as usize]
        .refcount
        .load(crate::sync::Ordering::SeqCst);
    cx.ev(What::Read {
        pfn: page,
        what: "refcount",
        val: r,
    });
    if cx.w.cfg.any(&[Mutant::M10, Mutant::B21]) {
        r == 1
    } else {
        r == 0
    }
}

/// The filesystem's wait callback of `dax_break_layout` (`void
/// (cb)(struct inode *)`), run as the schedule step of `wait_page_idle` with
/// the busy page: it drops the filesystem's lock, sleeps and retakes it.
/// `None` is the kernel's `cb == NULL`: NOWAIT, a busy page fails with
/// -ERESTARTSYS.
pub type BreakCb<'a, 'b> = Option<&'b mut dyn FnMut(&'a Cx, u64)>;

/// -ERESTARTSYS
pub const ERESTARTSYS: i32 = -512;

/// `fs/dax.c` `wait_page_idle` = `___wait_var_event(page,
/// dax_page_is_idle(page), TASK_INTERRUPTIBLE, 0, 0, cb(inode))`: enqueue,
/// check, run the callback.
fn wait_page_idle<'a>(cx: &'a Cx, page: u64, cb: &mut BreakCb<'a, '_>) {
    let _f = cx.enter("wait_page_idle");
    let key = WaitKey::Var { pfn: page };
    loop {
        if cx.w.has(Mutant::M30) {
            // Test, then queue: a wake between the two is lost.
            if dax_page_is_idle(cx, page) {
                break;
            }
            cx.w.var_wq.prepare_to_wait(cx, key, false);
        } else {
            cx.w.var_wq.prepare_to_wait(cx, key, false);
            if dax_page_is_idle(cx, page) {
                break;
            }
        }
        match cb {
            Some(cb) => cb(cx, page),
            None => break,
        }
    }
    cx.w.var_wq.finish_wait(cx, key);
}

/// `fs/dax.c` `dax_break_layout`: wait until no folio in the range is busy,
/// then delete the range's entries. Returns 0 or -ERESTARTSYS (never here: no
/// signals).
pub fn dax_break_layout<'a>(
    cx: &'a Cx,
    file: u8,
    start: u64,
    end: u64,
    mut cb: BreakCb<'a, '_>,
) -> i32 {
    let _f = cx.enter("dax_break_layout");
    // With no signals modelled the wait never fails, so the loop ends when
    // the scan finds no busy page (then the entries go), or at once for a
    // NOWAIT caller.
    while let Some(page) = dax_layout_busy_page_range(cx, file, start, end) {
        if cb.is_none() {
            cx.note(format!("busy page {page}, NOWAIT: -ERESTARTSYS"));
            return ERESTARTSYS;
        }
        wait_page_idle(cx, page, &mut cb);
    }
    dax_delete_mapping_range(cx, file, start, end);
    check_break_layout_done(cx, file, start, end);
    0
}

/// I8, checked where `dax_break_layout` returns 0 with the FS lock held.
fn check_break_layout_done(cx: &Cx, file: u8, start: u64, end: u64) {
    let w = &cx.w;
    let ino = w.file(file);
    // (No entry is left in the range: checked where dax_delete_mapping_range
    // drops xa_lock, since the FS lock keeps new entries out after that.)
    for i in start..=end.min(ino.blocks.len() as u64 - 1) {
        let Some(b) = ino.blocks[i as usize].peek() else {
            continue;
        };
        if b.shared {
            // Another file may map a reflinked block legitimately.
            continue;
        }
        let Some(head) = page_folio(cx, b.pfn) else {
            continue;
        };
        let (r, m) = (w.peek_ref_count(head), w.peek_mapcount(head));
        if r != 0 || m != 0 {
            cx.violate(Check::Inv(Inv::BreakLayoutDone), format!("dax_break_layout returned 0 while folio {head} ({}[{i}]) has refcount {r}, mapcount {m}", file_name(file)));
            return;
        }
    }
}

/// `fs/dax.c` `dax_delete_mapping_range`: remove every entry of the range,
/// waiting for locked ones, with no refcount check (it trusts the busy scan).
pub fn dax_delete_mapping_range(cx: &Cx, file: u8, start: u64, end: u64) {
    let _f = cx.enter("dax_delete_mapping_range");
    let mut xa = cx.xa_lock(file);
    let mut cursor = start;
    while let Some((base, e)) = xa.find_from(cursor, end) {
        let (g, xas, got) = wait_entry_unlocked_exclusive(cx, file, xa, base, e);
        xa = g;
        let Some((b, e2)) = got else {
            cursor = xas + 1;
            continue;
        };
        let next = xa.range_end(b);
        dax_disassociate_entry(cx, file, e2);
        let old = xa.store(b, dax_entry_order(e2), None);
        cx.ev(What::XaStore {
            file,
            index: b,
            old,
            new: None,
        });
        if !cx.w.has(Mutant::M33) {
            xa.nrpages -= dax_entry_pages(e2) as i64;
            crate::access::nrpages(
                cx,
                file,
                xa.nrpages + dax_entry_pages(e2) as i64,
                xa.nrpages,
            );
        }
        let mode = if cx.w.has(Mutant::M3) {
            WakeMode::Next
        } else {
            WakeMode::All
        };
        put_unlocked_entry(cx, file, b, Lookup::Entry { base: b, e: e2 }, mode);
        cursor = next;
    }
    let left: Vec<u64> = xa
        .entries()
        .filter(|&(i, _)| i >= start && i <= end)
        .map(|(i, _)| i)
        .collect();
    if !left.is_empty() {
        cx.violate(
            Check::Inv(Inv::BreakLayoutDone),
            format!(
                "dax_delete_mapping_range left entries at {}{left:?}",
                file_name(file)
            ),
        );
    }
}

/// `fs/dax.c` `dax_delete_mapping_entry` → `__dax_invalidate_entry(trunc =
/// true)`.
pub fn dax_delete_mapping_entry(cx: &Cx, file: u8, index: u64) {
    let _f = cx.enter("dax_delete_mapping_entry");
    let ret = __dax_invalidate_entry(cx, file, index, true);
    cx.warn_on(
        ret == 0,
        "fs/dax.c dax_delete_mapping_entry: WARN_ON_ONCE(!ret)",
        || format!("no entry at {}[{index}]", file_name(file)),
    );
}

/// `fs/dax.c` `wait_page_idle_uninterruptible`: `___wait_var_event(page,
/// dax_page_is_idle(page), TASK_UNINTERRUPTIBLE, 0, 0, schedule())`.
fn wait_page_idle_uninterruptible(cx: &Cx, page: u64) {
    let _f = cx.enter("wait_page_idle_uninterruptible");
    let key = WaitKey::Var { pfn: page };
    loop {
        cx.w.var_wq.prepare_to_wait(cx, key, false);
        if dax_page_is_idle(cx, page) {
            break;
        }
        cx.w.var_wq.schedule(cx, key);
    }
    cx.w.var_wq.finish_wait(cx, key);
}

/// `fs/dax.c` `dax_break_layout_final`: the eviction form of `dax_break_layout`
/// over the whole file: wait (plain schedule, no FS lock to drop, no signals)
/// until no folio is busy, then delete every entry.
pub fn dax_break_layout_final(cx: &Cx, file: u8) {
    let _f = cx.enter("dax_break_layout_final");
    while let Some(page) = dax_layout_busy_page_range(cx, file, 0, u64::MAX) {
        wait_page_idle_uninterruptible(cx, page);
    }
    dax_delete_mapping_range(cx, file, 0, u64::MAX);
}
