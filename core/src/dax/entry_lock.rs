//! `fs/dax.c` (v6.15, 00c010e1): DAX entry locking and the entry waitqueues
//! (spec §3.1–§3.2): `dax_lock_entry`/`dax_unlock_entry`, the wait for an
//! unlocked entry (exclusive and, for the memory-failure lockers,
//! non-exclusive) and the wakes.

use crate::config::Mutant;
use crate::cx::{Cx, Held, LockId};
use crate::entry::*;
use crate::trace::{file_name, What};
use crate::violation::{Check, Inv};
use crate::wait::{WaitKey, WakeMode};

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

/// `fs/dax.c` `dax_entry_waitqueue`'s key: the caller's index, rounded down to
/// the PMD boundary when the entry is a PMD entry.
pub(crate) fn entry_key(cx: &Cx, file: u8, index: u64, e: u64) -> WaitKey {
    let index = if dax_is_pmd_entry(e) && !cx.w.has(Mutant::M4) {
        align_index(index, PMD_ORDER)
    } else {
        index
    };
    WaitKey::Entry { file, index }
}

/// `fs/dax.c` `dax_wake_entry`
pub fn dax_wake_entry(cx: &Cx, file: u8, index: u64, e: u64, mode: WakeMode) {
    cx.w.entry_wq
        .wake_up(cx, entry_key(cx, file, index, e), mode);
}

/// `fs/dax.c` `put_unlocked_entry`: pass on a wake we may have consumed; a
/// no-op for NULL and for the conflict sentinel.
pub fn put_unlocked_entry(cx: &Cx, file: u8, index: u64, l: Lookup, mode: WakeMode) {
    if let Lookup::Entry { e, .. } = l {
        dax_wake_entry(cx, file, index, e, mode);
    }
}

/// `fs/dax.c` `dax_lock_entry`: store `e|LOCKED` at the entry's position.
/// Caller holds `xa_lock`.
pub fn dax_lock_entry(
    cx: &Cx,
    xa: &mut Held<'_, Xarray>,
    file: u8,
    base: u64,
    e: u64,
) -> Option<u64> {
    // The replaced entry may be a multi-index entry: its owner is kept at
    // its canonical index.
    let obase = xa.slot_of(base).unwrap_or(base);
    let old = xa.store(base, dax_entry_order(e), Some(e | DAX_LOCKED));
    if let Some(o) = old {
        if dax_is_locked(o) {
            let owner = xa.owners.remove(&obase);
            if owner != Some(cx.tid) {
                cx.violate(
                    Check::Inv(Inv::EntryLockExclusion),
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
    let canonical = xa.slot_of(base).unwrap_or(base);
    xa.owners.insert(canonical, cx.tid);
    cx.ev(What::EntryLock {
        file,
        index: base,
        entry: e,
    });
    old
}

/// `fs/dax.c` `dax_unlock_entry`: store the unlocked value, drop `xa_lock`,
/// then wake one exclusive waiter (WAKE_NEXT) after the unlock.
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
    let canonical = xa.slot_of(base).unwrap_or(base);
    let old = xa.store(base, dax_entry_order(e), Some(e));
    let owner = xa.owners.remove(&canonical);
    drop(xa);
    match old {
        Some(o) if dax_is_locked(o) => {
            if owner != Some(cx.tid) {
                cx.violate(
                    Check::Inv(Inv::EntryLockExclusion),
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

/// `fs/dax.c` `get_next_unlocked_entry`: with `xa_lock` held, find the entry
/// covering `index` at `order` and sleep (exclusive) while it is locked.
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

/// `fs/dax.c` `wait_entry_unlocked_exclusive`: wait for the entry at the xas
/// position to unlock, then reload the same index (`xas_reset`, the B4 fix of
/// 6.15.3 and 6.16; the v6.15 tag's `xas_pause` reloads past it). Returns the
/// xas index it ended at and the entry found there.
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
        if !cx.w.cfg.kernel.has_b4_fix() || cx.w.cfg.any(&[Mutant::M15, Mutant::B4, Mutant::B20]) {
            // xas_pause: the walk restarts after the current entry.
            xas = xa.range_end(base);
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

/// I11: association state changes only under this mapping's `xa_lock`.
pub(crate) fn assert_xa_held(cx: &Cx, file: u8, what: &str) {
    if !cx.holds(LockId::XaLock(file)) {
        cx.violate(
            Check::Inv(Inv::AssociationUnderLocks),
            format!("{what} without xa_lock({})", file_name(file)),
        );
    }
}

/// `fs/dax.c` `wait_entry_unlocked`: sleep until the locked entry at `index` is
/// unlocked, as a non-exclusive waiter, and return without relocking. After
/// `xa_unlock` the mapping may be freed, so the guard is consumed here and the
/// caller gets nothing back to touch it with (B17).
pub fn wait_entry_unlocked<'a>(cx: &'a Cx, file: u8, xa: Held<'a, Xarray>, index: u64, e: u64) {
    let _f = cx.enter("wait_entry_unlocked");
    let key = entry_key(cx, file, index, e);
    // Non-exclusive: this locker may give up (mapping gone) without ever
    // passing on a WAKE_NEXT, so it must not take one from a waiter that will.
    cx.w.entry_wq.prepare_to_wait(cx, key, false);
    drop(xa);
    cx.w.entry_wq.schedule(cx, key);
    cx.w.entry_wq.finish_wait(cx, key);
}
