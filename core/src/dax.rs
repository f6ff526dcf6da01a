//! fs/dax.c: entry locking and waits (§3.1–§3.2), folio association and
//! split (§3.3), `grab_mapping_entry` (§3.4), `dax_insert_entry` (§3.5), the
//! fault paths (§3.6) and break-layout (§3.8).

use crate::access;
use crate::config::{KernelState, Mutant};
use crate::entry::*;
use crate::mm::{self, folio_mapcount, folio_order, folio_ref_count, page_folio, Fault};
use crate::trace::{file_name, LockId, Val, What};
use crate::violation::Check;
use crate::wait::{WaitKey, WakeMode};
use crate::world::{Cx, Held, RwHeld, HUGE_ZERO_PFN, ZERO_PFN};

/// What a lookup under `xa_lock` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    None,
    /// `XA_RETRY_ENTRY`: a PMD-order lookup met a PTE entry.
    Conflict,
    Entry {
        base: u64,
        e: u64,
    },
}

/// A fault: which process, file and page, and whether it writes.
#[derive(Clone, Copy, Debug)]
pub struct Vmf {
    pub mm: u8,
    pub file: u8,
    pub index: u64,
    pub write: bool,
    /// A write fault on a MAP_SYNC mapping of a block whose metadata is not
    /// yet durable (IOMAP_F_DIRTY): the fault returns NEEDDSYNC. The fault
    /// path sets it for a write fault on a `VM_SYNC` VMA; `dax_fault_iter`
    /// keeps it only if the iomap says IOMAP_F_DIRTY
    /// (`dax_fault_is_synchronous`).
    pub sync: bool,
}

/// `dax_entry_waitqueue`'s key: the caller's index, rounded down to the PMD
/// boundary when the entry is a PMD entry.
pub(crate) fn entry_key(cx: &Cx, file: u8, index: u64, e: u64) -> WaitKey {
    let index = if dax_is_pmd_entry(e) && !cx.w.has(Mutant::M4) {
        align_index(index, PMD_ORDER)
    } else {
        index
    };
    WaitKey::Entry { file, index }
}

/// `dax_wake_entry`
pub fn dax_wake_entry(cx: &Cx, file: u8, index: u64, e: u64, mode: WakeMode) {
    cx.w.entry_wq
        .wake_up(cx, entry_key(cx, file, index, e), mode);
}

/// `put_unlocked_entry`: pass on a wake we may have consumed; a no-op for
/// NULL and for the conflict sentinel.
pub fn put_unlocked_entry(cx: &Cx, file: u8, index: u64, l: Lookup, mode: WakeMode) {
    if let Lookup::Entry { e, .. } = l {
        dax_wake_entry(cx, file, index, e, mode);
    }
}

/// `dax_lock_entry`: store `e|LOCKED` at the entry's position. Caller holds
/// `xa_lock`.
pub fn dax_lock_entry(
    cx: &Cx,
    xa: &mut Held<'_, Xarray>,
    file: u8,
    base: u64,
    e: u64,
) -> Option<u64> {
    let old = xa.store(base, dax_entry_order(e), Some(e | DAX_LOCKED));
    if let Some(o) = old {
        if dax_is_locked(o) {
            // The replaced entry may be a PMD entry stored at its own base.
            let obase = if dax_is_pmd_entry(o) {
                align_index(base, PMD_ORDER)
            } else {
                base
            };
            let owner = xa.owners.remove(&obase);
            if owner != Some(cx.tid) {
                cx.violate(
                    Check::Inv(10),
                    format!(
                        "T{} locks entry {}[{base}] already locked by T{}",
                        cx.tid,
                        file_name(file),
                        owner.unwrap_or(0)
                    ),
                );
            }
        }
    }
    xa.owners.insert(base, cx.tid);
    cx.ev(What::EntryLock {
        file,
        index: base,
        entry: e,
    });
    old
}

/// `dax_unlock_entry`: store the unlocked value, drop `xa_lock`, then wake
/// one exclusive waiter (WAKE_NEXT) after the unlock.
pub fn dax_unlock_entry(cx: &Cx, file: u8, index: u64, e: u64) {
    let _f = cx.enter("dax_unlock_entry");
    if dax_is_locked(e) {
        cx.violate(
            Check::Bug("fs/dax.c dax_unlock_entry: BUG_ON(dax_is_locked(entry))"),
            "unlock with a locked value",
        );
    }
    let base = align_index(index, dax_entry_order(e));
    if cx.w.has(Mutant::M24) {
        dax_wake_entry(cx, file, index, e, WakeMode::Next);
    }
    let mut xa = cx.xa_lock(file);
    let old = xa.store(base, dax_entry_order(e), Some(e));
    let owner = xa.owners.remove(&base);
    drop(xa);
    match old {
        Some(o) if dax_is_locked(o) => {
            if owner != Some(cx.tid) {
                cx.violate(
                    Check::Inv(10),
                    format!(
                        "T{} unlocks entry {}[{base}] owned by T{}",
                        cx.tid,
                        file_name(file),
                        owner.unwrap_or(0)
                    ),
                );
            }
        }
        _ => cx.violate(
            Check::Bug("fs/dax.c dax_unlock_entry: BUG_ON(!dax_is_locked(old))"),
            format!("entry {}[{base}] was not locked", file_name(file)),
        ),
    }
    cx.ev(What::EntryUnlock {
        file,
        index: base,
        entry: e,
    });
    if !cx.w.has(Mutant::M24) {
        dax_wake_entry(cx, file, index, e, WakeMode::Next);
    }
}

/// `get_next_unlocked_entry`: with `xa_lock` held, find the entry covering
/// `index` at `order` and sleep (exclusive) while it is locked.
pub fn get_next_unlocked_entry<'a>(
    cx: &'a Cx,
    file: u8,
    mut xa: Held<'a, Xarray>,
    index: u64,
    order: u32,
) -> (Held<'a, Xarray>, Lookup) {
    loop {
        let Some((base, e)) = xa.find_conflict(index, order) else {
            return (xa, Lookup::None);
        };
        // B12 reverted: a PMD lookup waits on a locked PTE entry (keyed on
        // its own, PMD-aligned index) and falls back only once it is unlocked.
        let b12_wait = cx.w.has(Mutant::B12) && dax_is_locked(e);
        if dax_entry_order(e) < order && !b12_wait {
            return (xa, Lookup::Conflict);
        }
        if !dax_is_locked(e) {
            return (xa, Lookup::Entry { base, e });
        }
        let key = entry_key(cx, file, index, e);
        if cx.w.has(Mutant::M25) {
            drop(xa);
            cx.w.entry_wq.prepare_to_wait(cx, key, true);
        } else {
            cx.w.entry_wq.prepare_to_wait(cx, key, true);
            drop(xa);
        }
        cx.w.entry_wq.schedule(cx, key);
        cx.w.entry_wq.finish_wait(cx, key);
        xa = cx.xa_lock(file);
    }
}

/// `wait_entry_unlocked_exclusive`: wait for the entry at the xas position
/// to unlock, then reload the same index (`xas_reset`). Returns the xas
/// index it ended at and the entry found there.
pub(crate) fn wait_entry_unlocked_exclusive<'a>(
    cx: &'a Cx,
    file: u8,
    mut xa: Held<'a, Xarray>,
    xas: u64,
    e: u64,
) -> (Held<'a, Xarray>, u64, Option<(u64, u64)>) {
    let (mut xas, mut base, mut e) = (xas, xas, e);
    while dax_is_locked(e) {
        let key = entry_key(cx, file, xas, e);
        cx.w.entry_wq.prepare_to_wait(cx, key, true);
        if cx.w.cfg.any(&[Mutant::M15, Mutant::B4, Mutant::B20]) {
            // xas_pause: the walk restarts after the current entry.
            xas = base + dax_entry_pages(e);
        }
        drop(xa);
        cx.w.entry_wq.schedule(cx, key);
        cx.w.entry_wq.finish_wait(cx, key);
        xa = cx.xa_lock(file);
        match xa.load(xas) {
            None => return (xa, xas, None),
            Some((b, n)) => (base, e) = (b, n),
        }
    }
    (xa, xas, Some((base, e)))
}

/// `dax_to_folio`: `page_folio(pfn_to_page(dax_to_pfn(e)))`.
pub(crate) fn dax_to_folio(cx: &Cx, e: u64) -> Option<u64> {
    page_folio(cx, dax_to_pfn(e))
}

/// Whether the zero/empty guard comes after the translation (the baseline,
/// B2) or before it (the 2026 fix).
fn guard_after_translate(cx: &Cx) -> bool {
    cx.w.cfg.kernel != KernelState::Y2026 || cx.w.cfg.any(&[Mutant::M17, Mutant::B2])
}

/// `folio->mapping = m`: a plain store; lockless `READ_ONCE` readers see it
/// through the marked mirror, written first.
fn set_mapping(cx: &Cx, f: u64, m: Option<u8>) {
    let fr = &cx.w.frames[f as usize];
    if fr.mapping_once.peek() != m {
        cx.write_once(
            f,
            "mapping (READ_ONCE view)",
            &fr.mapping_once,
            m,
            Val::Mapping,
        );
    }
    cx.field(f, "mapping", &fr.mapping, m, Val::Mapping);
}

/// `dax_folio_is_shared`: mapping NULL and the union cell, read as `share`,
/// non-zero.
pub fn dax_folio_is_shared(cx: &Cx, f: u64) -> bool {
    let fr = &cx.w.frames[f as usize];
    access::read(cx, f, "mapping", &fr.mapping, Val::Mapping).is_none()
        && access::read(cx, f, "share", &fr.index_share, Val::Num) != 0
}

/// `dax_folio_make_shared`: mapping := NULL, then the cell becomes share = 1.
fn dax_folio_make_shared(cx: &Cx, f: u64) {
    let fr = &cx.w.frames[f as usize];
    set_mapping(cx, f, None);
    cx.field(f, "share", &fr.index_share, 1, Val::Num);
    fr.stale_index
        .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
}

/// `prep_compound_page`: head bit, tails' head pointers (clobbering their
/// pgmap storage), and the order and `_nr_pages` in page[1].
fn prep_compound_page(cx: &Cx, head: u64, order: u32) {
    let _f = cx.enter("prep_compound_page");
    let w = cx.world();
    cx.field(
        head,
        "PG_head",
        &w.frames[head as usize].head,
        true,
        Val::Flag,
    );
    for p in head + 1..head + (1 << order) {
        let fr = &w.frames[p as usize];
        cx.write_once(p, "compound_head", &fr.compound_head, Some(head), Val::Head);
        cx.field(p, "pgmap", &fr.pgmap, None, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        });
    }
    let p1 = &w.frames[head as usize + 1];
    cx.field(head + 1, "folio order", &p1.order, order as u8, |v| {
        Val::Num(v as u64)
    });
    cx.field(head + 1, "_nr_pages", &p1.memcg, 1 << order, Val::Num);
}

/// `dax_folio_init`: make the folio compound for a PMD entry.
fn dax_folio_init(cx: &Cx, e: u64) {
    let _f = cx.enter("dax_folio_init");
    let Some(f) = dax_to_folio(cx, e) else { return };
    let order = dax_entry_order(e);
    let cur = folio_order(cx, f);
    cx.warn_on(
        cur != 0,
        "fs/dax.c dax_folio_init: WARN_ON_ONCE(folio_order(folio))",
        || format!("folio {f} already has order {cur}"),
    );
    if order > 0 {
        prep_compound_page(cx, f, order);
        let r = folio_ref_count(cx, f);
        cx.warn_on(
            r != 0,
            "fs/dax.c dax_folio_init: WARN_ON_ONCE(folio_ref_count(folio))",
            || format!("folio {f} refcount {r}"),
        );
    }
}

/// I11: association state changes only under this mapping's `xa_lock`.
pub(crate) fn assert_xa_held(cx: &Cx, file: u8, what: &str) {
    if !cx.holds(LockId::XaLock(file)) {
        cx.violate(
            Check::Inv(11),
            format!("{what} without xa_lock({})", file_name(file)),
        );
    }
}

/// `dax_associate_entry`
fn dax_associate_entry(cx: &Cx, file: u8, e: u64, index: u64, shared: bool) {
    let _f = cx.enter("dax_associate_entry");
    assert_xa_held(cx, file, "dax_associate_entry");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    if dax_is_zero_entry(e) || dax_is_empty_entry(e) {
        return;
    }
    let index = align_index(index, dax_entry_order(e));
    let Some(f) = dax_to_folio(cx, e) else { return };
    let fr = &cx.w.frames[f as usize];
    let owned = || access::read(cx, f, "mapping", &fr.mapping, Val::Mapping).is_some();
    if shared && (owned() || dax_folio_is_shared(cx, f)) {
        if owned() {
            dax_folio_make_shared(cx, f);
        }
        let share = access::read(cx, f, "share", &fr.index_share, Val::Num);
        cx.warn_on(
            share == 0,
            "fs/dax.c dax_associate_entry: WARN_ON_ONCE(!folio->share)",
            || format!("folio {f}"),
        );
        let fo = folio_order(cx, f);
        cx.warn_on(dax_entry_order(e) != fo, "fs/dax.c dax_associate_entry: WARN_ON_ONCE(dax_entry_order(entry) != folio_order(folio))", || {
            format!("entry order {} folio {f} order {fo}", dax_entry_order(e))
        });
        cx.field(f, "share", &fr.index_share, share + 1, Val::Num);
    } else {
        let owner = access::read(cx, f, "mapping", &fr.mapping, Val::Mapping);
        cx.warn_on(
            owner.is_some(),
            "fs/dax.c dax_associate_entry: WARN_ON_ONCE(folio->mapping)",
            || format!("folio {f} still owned by {}", file_name(owner.unwrap_or(0))),
        );
        // I7: a fresh association reuses the block; it must be idle.
        let (r, o) = (mm::peek_ref_count(&cx.w, f), folio_order(cx, f));
        if r != 0 || o != 0 {
            cx.violate(
                Check::Inv(7),
                format!(
                    "folio {f} associated with {}[{index}] at refcount {r}, order {o}",
                    file_name(file)
                ),
            );
        }
        dax_folio_init(cx, e);
        let Some(f) = dax_to_folio(cx, e) else { return };
        let fr = &cx.w.frames[f as usize];
        set_mapping(cx, f, Some(file));
        cx.field(f, "index", &fr.index_share, index, Val::Num);
        fr.stale_index
            .store(index, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `dax_folio_put`: drop one association; the last one clears `mapping` and
/// splits a compound folio back into order-0 pages. Returns the shares left.
pub(crate) fn dax_folio_put(cx: &Cx, f: u64) -> u64 {
    let _f = cx.enter("dax_folio_put");
    let w = cx.world();
    let fr = &w.frames[f as usize];
    if fr.kind != crate::world::FrameKind::Dax {
        cx.violate(
            Check::Bug("fs/dax.c dax_folio_put on a folio that is not FS_DAX"),
            format!("dax_folio_put on pfn {f} (zero page, huge zero folio or RAM)"),
        );
    }
    let left = if dax_folio_is_shared(cx, f) {
        let s = access::read(cx, f, "share", &fr.index_share, Val::Num) - 1;
        cx.field(f, "share", &fr.index_share, s, Val::Num);
        s
    } else {
        0
    };
    if left != 0 {
        return left;
    }
    // I9: the clear-and-split assumes the folio is MM-idle.
    let (r, m) = (mm::peek_ref_count(&cx.w, f), mm::peek_mapcount(&cx.w, f));
    if r != 0 || m != 0 {
        cx.violate(
            Check::Inv(9),
            format!("folio {f} disassociated at refcount {r}, mapcount {m}"),
        );
    }
    set_mapping(cx, f, None);
    let order = folio_order(cx, f);
    let reset_2026 = w.cfg.kernel == KernelState::Y2026;
    if reset_2026 {
        // dax_folio_reset_order(): clears share for every order.
        cx.field(f, "share", &fr.index_share, 0, Val::Num);
    }
    if order == 0 {
        // v6.15: the union cell keeps the old index (H5).
        return 0;
    }
    if w.cfg.any(&[Mutant::M7, Mutant::M9]) {
        // M7: no split at all; M9: the split waits for refcount 0.
        return 0;
    }
    dax_split_folio(cx, f, order);
    0
}

/// The split of `dax_folio_put`: `folio_reset_order`, then every page back
/// to an order-0 folio with its pgmap restored.
pub(crate) fn dax_split_folio(cx: &Cx, f: u64, order: u32) {
    let w = cx.world();
    if !w.cfg.any(&[Mutant::M8, Mutant::B3]) {
        // folio_reset_order()
        let p1 = &w.frames[f as usize + 1];
        cx.field(f + 1, "folio order", &p1.order, 0, |v| Val::Num(v as u64));
        cx.field(f + 1, "_nr_pages", &p1.memcg, 0, Val::Num);
    }
    let pgmap = mm::page_pgmap(cx, f);
    for p in f..f + (1 << order) {
        let pf = &w.frames[p as usize];
        if p == f {
            cx.field(p, "PG_head", &pf.head, false, Val::Flag);
        } else {
            cx.write_once(p, "compound_head", &pf.compound_head, None, Val::Head);
        }
        set_mapping(cx, p, None);
        cx.field(p, "pgmap", &pf.pgmap, pgmap, |v| {
            Val::Num(v.unwrap_or(0) as u64)
        });
        cx.field(p, "share", &pf.index_share, 0, Val::Num);
        let r = folio_ref_count(cx, p);
        cx.warn_on(
            r != 0,
            "fs/dax.c dax_folio_put: WARN_ON_ONCE(folio_ref_count(page_folio(page)))",
            || format!("page {p} refcount {r} at split"),
        );
    }
}

/// `dax_disassociate_entry`
pub(crate) fn dax_disassociate_entry(cx: &Cx, file: u8, e: u64) {
    let _f = cx.enter("dax_disassociate_entry");
    assert_xa_held(cx, file, "dax_disassociate_entry");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    let guarded = !cx.w.cfg.any(&[Mutant::M16, Mutant::B1]);
    if guarded && (dax_is_zero_entry(e) || dax_is_empty_entry(e)) {
        return;
    }
    if let Some(f) = dax_to_folio(cx, e) {
        dax_folio_put(cx, f);
    }
}

/// `dax_busy_page`: the head page of a folio whose references exceed its
/// mappings, or None.
pub(crate) fn dax_busy_page(cx: &Cx, e: u64) -> Option<u64> {
    let _f = cx.enter("dax_busy_page");
    if guard_after_translate(cx) {
        dax_to_folio(cx, e);
    }
    if dax_is_zero_entry(e) || dax_is_empty_entry(e) {
        return None;
    }
    let f = dax_to_folio(cx, e)?;
    let (r, m) = (folio_ref_count(cx, f), folio_mapcount(cx, f));
    let busy = if cx.w.cfg.any(&[Mutant::M10, Mutant::B21]) {
        r > 1
    } else if cx.w.has(Mutant::M14) {
        r != 0
    } else if cx.w.has(Mutant::M42) {
        false
    } else {
        r - m != 0
    };
    cx.note(format!(
        "folio {f} refcount {r} mapcount {m}: {}",
        if busy { "busy" } else { "idle" }
    ));
    busy.then_some(f)
}

/// `grab_mapping_entry`: return the entry for `index` at `order`, locked,
/// creating an EMPTY placeholder if there is none.
pub fn grab_mapping_entry(cx: &Cx, file: u8, index: u64, order: u32) -> Result<(u64, u64), Fault> {
    let _f = cx.enter("grab_mapping_entry");
    let xa = cx.xa_lock(file);
    let (mut xa, found) = get_next_unlocked_entry(cx, file, xa, index, order);
    let mut found = match found {
        Lookup::Conflict => return Err(Fault::Fallback),
        l => l,
    };
    if let Lookup::Entry { base, e } = found {
        if order == 0 && dax_is_pmd_entry(e) && (dax_is_zero_entry(e) || dax_is_empty_entry(e)) {
            // PMD downgrade: keep the entry stable while xa_lock is dropped.
            dax_lock_entry(cx, &mut xa, file, base, e);
            if dax_is_zero_entry(e) && !cx.w.has(Mutant::M23) {
                drop(xa);
                mm::unmap_mapping_pages(cx, file, base, base + PG_PMD_NR - 1);
                xa = cx.xa_lock(file);
            }
            dax_disassociate_entry(cx, file, e);
            let old = xa.store(base, PMD_ORDER, None);
            xa.owners.remove(&base);
            cx.ev(What::XaStore {
                file,
                index: base,
                old,
                new: None,
            });
            dax_wake_entry(cx, file, index, e, WakeMode::All);
            xa.nrpages -= PG_PMD_NR as i64;
            crate::access::nrpages(cx, file, xa.nrpages + PG_PMD_NR as i64, xa.nrpages);
            found = Lookup::None;
        }
    }
    if let Lookup::Entry { base, e } = found {
        dax_lock_entry(cx, &mut xa, file, base, e);
        return Ok((base, e));
    }
    let base = align_index(index, order);
    let e = DAX_EMPTY | if order > 0 { DAX_PMD } else { 0 };
    let old = xa.store(base, order, Some(e | DAX_LOCKED));
    xa.owners.insert(base, cx.tid);
    cx.ev(What::XaStore {
        file,
        index: base,
        old,
        new: Some(e | DAX_LOCKED),
    });
    xa.nrpages += 1 << order;
    crate::access::nrpages(cx, file, xa.nrpages - (1 << order), xa.nrpages);
    Ok((base, e))
}

/// `dax_insert_entry`: replace a placeholder (or, for a shared extent, any
/// entry) by the real entry and move the folio association with it.
pub(crate) fn dax_insert_entry(cx: &Cx, vmf: &Vmf, entry: u64, new: u64, shared: bool) -> u64 {
    let _f = cx.enter("dax_insert_entry");
    let file = vmf.file;
    let base = align_index(vmf.index, dax_entry_order(entry));
    let dirty = vmf.write && !vmf.sync;
    let w = cx.world();
    let unmap_shared = shared && !w.has(Mutant::M38);
    if unmap_shared || (dax_is_zero_entry(entry) && !dax_is_zero_entry(new)) {
        mm::unmap_mapping_pages(cx, file, base, base + dax_entry_pages(entry) - 1);
    }
    let replace = shared || dax_is_zero_entry(entry) || dax_is_empty_entry(entry);
    if replace && w.has(Mutant::M1) {
        // The association moved before the lock that serialises it.
        dax_disassociate_entry(cx, file, entry);
        dax_associate_entry(cx, file, new, vmf.index, shared);
    }
    let mut xa = cx.xa_lock(file);
    let mut entry = entry;
    if !replace && w.has(Mutant::B14) && dax_entry_order(entry) != dax_entry_order(new) {
        // Pre-1571c029a2ff: a PTE fault inside a PMD entry moves the
        // association to the PTE's page; the PMD entry stays.
        dax_disassociate_entry(cx, file, entry);
        dax_associate_entry(cx, file, new, vmf.index, shared);
    }
    if replace {
        if !w.has(Mutant::M1) {
            dax_disassociate_entry(cx, file, entry);
            dax_associate_entry(cx, file, new, vmf.index, shared);
        }
        let nbase = align_index(vmf.index, dax_entry_order(new));
        let old = dax_lock_entry(cx, &mut xa, file, nbase, new);
        cx.ev(What::XaStore {
            file,
            index: nbase,
            old,
            new: Some(new | DAX_LOCKED),
        });
        cx.warn_on(old != Some(entry | DAX_LOCKED), "fs/dax.c dax_insert_entry: WARN_ON_ONCE(old != xa_mk_value(xa_to_value(entry) | DAX_LOCKED))", || {
            format!("replaced {:?}, expected {}", old.map(crate::trace::entry_str), crate::trace::entry_str(entry | DAX_LOCKED))
        });
        entry = new;
    }
    let ebase = align_index(vmf.index, dax_entry_order(entry));
    if dirty {
        xa.dirty.insert(ebase);
    }
    if vmf.write && shared {
        xa.towrite.insert(ebase);
    }
    entry
}

/// The FS block map answer for a fault (`iomap_begin`).
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

/// `xfs_buffered/direct iomap_begin` for a DAX fault of `pages` pages at `base`.
pub fn iomap_begin(cx: &Cx, file: u8, base: u64, pages: u64) -> Iomap {
    let ino = cx.w.file(file);
    // xfs_ilock_for_iomap: the extent map is read under the ILOCK.
    let _i = cx.down_read(&ino.ilock, LockId::ILock(file));
    let block = |k: u64| ino.blocks.get((base + k) as usize).and_then(|b| b.get());
    let dirty = (0..pages).any(|k| {
        ino.meta_dirty
            .get((base + k) as usize)
            .is_some_and(|c| c.get())
    });
    match block(0) {
        // A hole extent covers the request only if every block is a hole.
        None => Iomap {
            pfn: None,
            shared: false,
            full: (0..pages).all(|k| block(k).is_none()),
            dirty,
        },
        Some(b0) => {
            let full = (0..pages)
                .all(|k| block(k).map(|b| (b.pfn, b.shared)) == Some((b0.pfn + k, b0.shared)))
                && b0.pfn % pages == 0;
            Iomap {
                pfn: Some(b0.pfn),
                shared: b0.shared,
                full,
                dirty,
            }
        }
    }
}

/// `dax_load_hole`: map the shared zero page read-only, no reference.
fn dax_load_hole(cx: &Cx, vmf: &Vmf, entry: u64) -> (u64, Fault) {
    let _f = cx.enter("dax_load_hole");
    let e = dax_insert_entry(
        cx,
        vmf,
        entry,
        dax_make_entry(ZERO_PFN, DAX_ZERO_PAGE),
        false,
    );
    (
        e,
        mm::vmf_insert_page_mkwrite(cx, vmf.mm, vmf.file, vmf.index, ZERO_PFN, false),
    )
}

/// `dax_pmd_load_hole`: map the huge zero folio, FALLBACK if the pmd is not none.
fn dax_pmd_load_hole(cx: &Cx, vmf: &Vmf, entry: u64) -> (u64, Fault) {
    let _f = cx.enter("dax_pmd_load_hole");
    let e = dax_insert_entry(
        cx,
        vmf,
        entry,
        dax_make_entry(HUGE_ZERO_PFN, DAX_PMD | DAX_ZERO_PAGE),
        false,
    );
    (e, mm::set_huge_zero_pmd(cx, vmf.mm, vmf.file, vmf.index))
}

/// `dax_fault_iter`: insert the entry, take the temporary reference, map,
/// drop the temporary reference.
fn dax_fault_iter(cx: &Cx, vmf: &Vmf, entry: u64, map: Iomap, pmd: bool) -> (u64, Fault) {
    let _f = cx.enter("dax_fault_iter");
    let Some(pfn) = map.pfn else {
        if !vmf.write {
            return if pmd {
                dax_pmd_load_hole(cx, vmf, entry)
            } else {
                dax_load_hole(cx, vmf, entry)
            };
        }
        cx.note("write fault on a hole: no allocation modelled");
        return (entry, if pmd { Fault::Fallback } else { Fault::SigBus });
    };
    if pmd && !map.full {
        return (entry, Fault::Fallback);
    }
    let new = dax_make_entry(pfn, if pmd { DAX_PMD } else { 0 });
    // dax_fault_is_synchronous: IOMAP_WRITE && VM_SYNC && IOMAP_F_DIRTY.
    let vmf = &Vmf {
        sync: vmf.sync && vmf.write && map.dirty,
        ..*vmf
    };
    let entry = dax_insert_entry(cx, vmf, entry, new, map.shared);
    let Some(folio) = dax_to_folio(cx, entry) else {
        return (entry, Fault::SigBus);
    };
    if vmf.sync {
        // dax_fault_synchronous_pfnp: hand the pfn back, map nothing and
        // take no reference; the FS fsyncs, then dax_finish_sync_fault.
        cx.pfnp.set(Some(pfn));
        cx.note(format!("NEEDDSYNC: pfn {pfn} returned to the FS"));
        return (entry, Fault::NeedDsync);
    }
    // The temporary reference: a raw increment, the refcount may be 0 (§4 Q2).
    if cx.w.has(Mutant::M2) {
        mm::folio_get(cx, folio);
    } else {
        mm::folio_ref_inc(cx, folio);
    }
    let ret = if pmd {
        match page_folio(cx, pfn) {
            Some(head) => {
                mm::vmf_insert_folio_pmd(cx, vmf.mm, vmf.file, vmf.index, head, vmf.write)
            }
            None => Fault::SigBus,
        }
    } else {
        mm::vmf_insert_page_mkwrite(cx, vmf.mm, vmf.file, vmf.index, pfn, vmf.write)
    };
    if !cx.w.has(Mutant::M27) {
        mm::folio_put(cx, folio);
    }
    (entry, ret)
}

fn i_size(cx: &Cx, file: u8) -> u64 {
    cx.w.file(file).i_size.get()
}

/// `dax_iomap_pte_fault`
pub fn dax_iomap_pte_fault(cx: &Cx, vmf: &Vmf) -> Fault {
    let _f = cx.enter("dax_iomap_pte_fault");
    if vmf.index >= i_size(cx, vmf.file) {
        cx.note("fault beyond i_size: SIGBUS");
        return Fault::SigBus;
    }
    let (_, entry) = match grab_mapping_entry(cx, vmf.file, vmf.index, 0) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let (entry, ret) = if mm::pmd_is_huge(cx, vmf.mm, vmf.file, vmf.index) {
        (entry, Fault::NoPage)
    } else {
        let map = iomap_begin(cx, vmf.file, vmf.index, 1);
        dax_fault_iter(cx, vmf, entry, map, false)
    };
    dax_unlock_entry(cx, vmf.file, vmf.index, entry);
    ret
}

/// `dax_iomap_pmd_fault`
pub fn dax_iomap_pmd_fault(cx: &Cx, vmf: &Vmf) -> Fault {
    let _f = cx.enter("dax_iomap_pmd_fault");
    let base = align_index(vmf.index, PMD_ORDER);
    let size = i_size(cx, vmf.file);
    if base >= size {
        cx.note("PMD fault beyond i_size: SIGBUS");
        return Fault::SigBus;
    }
    let mut ret = Fault::Fallback;
    if base + PG_PMD_NR <= size {
        match grab_mapping_entry(cx, vmf.file, base, PMD_ORDER) {
            Ok((_, entry)) => {
                let mut entry = entry;
                if mm::pmd_is_table(cx, vmf.mm, vmf.file, base) {
                    ret = Fault::NoPage;
                } else {
                    let map = iomap_begin(cx, vmf.file, base, PG_PMD_NR);
                    if map.full {
                        let pvmf = Vmf {
                            index: base,
                            ..*vmf
                        };
                        (entry, ret) = dax_fault_iter(cx, &pvmf, entry, map, true);
                    }
                }
                dax_unlock_entry(cx, vmf.file, base, entry);
            }
            Err(Fault::Fallback) => {}
            Err(f) => return f,
        }
    }
    if ret == Fault::Fallback {
        mm::split_huge_pmd(cx, vmf.mm, vmf.file, base);
        cx.note("THP_FAULT_FALLBACK");
    }
    ret
}

/// `dax_layout_busy_page_range`: unmap the range, then find a folio with
/// references beyond its mappings.
pub fn dax_layout_busy_page_range(cx: &Cx, file: u8, start: u64, end: u64) -> Option<u64> {
    let _f = cx.enter("dax_layout_busy_page_range");
    if cx.w.has(Mutant::B19) && !mm::mapping_mapped(cx, file) {
        // Pre-series shortcut: pinned but unmapped pages count as idle.
        return None;
    }
    // M14 scans without unmapping first (and counts refcount alone).
    if !cx.w.has(Mutant::M14) {
        mm::unmap_mapping_pages(cx, file, start, end);
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
                b + dax_entry_pages(e2)
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

/// `dax_page_is_idle`: the page's refcount is 0.
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

/// The FS callback that `wait_page_idle` runs as its schedule step.
pub enum BreakCb<'a, 'b> {
    /// `xfs_wait_dax_page`: drop MMAPLOCK_EXCL, schedule, retake it.
    XfsWait { fs: &'b mut Option<RwHeld<'a>> },
    /// `cb == NULL`: NOWAIT, a busy page fails with -ERESTARTSYS.
    NoWait,
}

/// -ERESTARTSYS
pub const ERESTARTSYS: i32 = -512;

/// `xfs_wait_dax_page`
fn xfs_wait_dax_page<'a>(cx: &'a Cx, file: u8, page: u64, fs: &mut Option<RwHeld<'a>>) {
    let _f = cx.enter("xfs_wait_dax_page");
    *fs = None;
    cx.w.var_wq.schedule(cx, WaitKey::Var { pfn: page });
    let w = cx.world();
    *fs = Some(cx.down_write(&w.files[file as usize].fs_lock, LockId::FsLock(file)));
}

/// `wait_page_idle` = `___wait_var_event(page, dax_page_is_idle(page),
/// TASK_INTERRUPTIBLE, 0, 0, cb(inode))`: enqueue, check, run the callback.
fn wait_page_idle<'a>(cx: &'a Cx, file: u8, page: u64, cb: &mut BreakCb<'a, '_>) {
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
            BreakCb::XfsWait { fs } => xfs_wait_dax_page(cx, file, page, fs),
            BreakCb::NoWait => break,
        }
    }
    cx.w.var_wq.finish_wait(cx, key);
}

/// `dax_break_layout`: wait until no folio in the range is busy, then delete
/// the range's entries. Returns 0 or -ERESTARTSYS (never here: no signals).
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
        if matches!(cb, BreakCb::NoWait) {
            cx.note(format!("busy page {page}, NOWAIT: -ERESTARTSYS"));
            return ERESTARTSYS;
        }
        wait_page_idle(cx, file, page, &mut cb);
    }
    dax_delete_mapping_range(cx, file, start, end);
    check_break_layout_done(cx, file, start, end);
    0
}

/// I8, checked where `dax_break_layout` returns 0 with the FS lock held.
fn check_break_layout_done(cx: &Cx, file: u8, start: u64, end: u64) {
    let w = cx.world();
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
        let (r, m) = (mm::peek_ref_count(w, head), mm::peek_mapcount(w, head));
        if r != 0 || m != 0 {
            cx.violate(Check::Inv(8), format!("dax_break_layout returned 0 while folio {head} ({}[{i}]) has refcount {r}, mapcount {m}", file_name(file)));
            return;
        }
    }
}

/// `dax_delete_mapping_range`: remove every entry of the range, waiting for
/// locked ones, with no refcount check (it trusts the busy scan).
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
        cursor = b + dax_entry_pages(e2);
    }
    let left: Vec<u64> = xa
        .entries()
        .filter(|&(i, _)| i >= start && i <= end)
        .map(|(i, _)| i)
        .collect();
    if !left.is_empty() {
        cx.violate(
            Check::Inv(8),
            format!(
                "dax_delete_mapping_range left entries at {}{left:?}",
                file_name(file)
            ),
        );
    }
}

/// `dax_delete_mapping_entry` → `__dax_invalidate_entry(trunc = true)`.
pub fn dax_delete_mapping_entry(cx: &Cx, file: u8, index: u64) {
    let _f = cx.enter("dax_delete_mapping_entry");
    let ret = crate::invalidate::__dax_invalidate_entry(cx, file, index, true);
    cx.warn_on(
        ret == 0,
        "fs/dax.c dax_delete_mapping_entry: WARN_ON_ONCE(!ret)",
        || format!("no entry at {}[{index}]", file_name(file)),
    );
}
