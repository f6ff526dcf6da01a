//! `fs/dax.c` (v6.15, 00c010e1): the memory-failure lockers (spec §3.11)
//! `dax_lock_folio` / `dax_lock_mapping_entry` and their unlocks.
//!
//! What is left out: RCU (the inode free at eviction is immediate, so a
//! dereference of an evicted mapping is reported only where the kernel holds
//! no RCU read lock: in `dax_unlock_folio` and in the kill step), device-dax
//! (`S_ISCHR` hosts).
//!
//! ## READ_ONCE of `folio->mapping`
//! `dax_lock_folio` reads `folio->mapping` without any lock, while faults,
//! truncate and eviction write it (plain stores) under their own `xa_lock`.
//! An aligned word store cannot tear, and the kernel re-checks the value
//! under the `xa_lock` it then takes, so this read is not a data race the
//! kernel cares about; read through `DataCell::get` it would be one to loom.
//! The model reads the `mapping_once` mirror that every store to
//! `folio->mapping` also writes (`dax::folio::set_mapping`): a marked atomic
//! read, so loom may return any value the memory model allows, and no data
//! race is reported for the lockless read itself.
//! The re-check, the `folio->index` read and `dax_unlock_folio`'s re-read
//! are plain reads in the kernel and stay plain (`get`) here.

use crate::cx::Cx;
use crate::dax::entry_lock::{dax_lock_entry, dax_unlock_entry, wait_entry_unlocked};
use crate::entry::*;
use crate::trace::{file_name, What};
use crate::violation::{Check, Inv};

/// `(dax_entry_t)~0UL`: "nothing to lock, nothing to unlock".
pub const COOKIE_NONE: u64 = u64::MAX;

/// `READ_ONCE(folio->mapping)`: a scheduling point, then the latest stored
/// value (module doc). A page that became a tail holds `TAIL_MAPPING`
/// poison there, which the model's frames do not store: reported here,
/// since `dax_mapping()` then dereferences the poison pointer.
pub fn read_once_mapping(cx: &Cx, folio: u64) -> Option<u8> {
    let fr = &cx.w.frames[folio as usize];
    let m = cx.read_once(
        folio,
        "mapping",
        &fr.mapping_once,
        crate::trace::Val::Mapping,
    );
    if let Some(head) = fr.compound_head.peek() {
        cx.violate(
            Check::Bug("fs/dax.c dax_lock_folio: dax_mapping() dereferences TAIL_MAPPING"),
            format!(
                "folio {folio} became a tail page of folio {head} after pfn_folio(): \
                 folio->mapping is the TAIL_MAPPING poison"
            ),
        );
    }
    m
}

/// I5 at a read of the union cell as `index`: `mapping` must be set.
pub(crate) fn read_index(cx: &Cx, folio: u64, site: &str) -> u64 {
    let fr = &cx.w.frames[folio as usize];
    if fr.mapping.peek().is_none() {
        cx.violate(
            Check::Inv(Inv::IndexShareUnion),
            format!(
                "{site} reads folio {folio}'s index/share cell as index while mapping is NULL \
                 (the cell is a share count, {})",
                fr.index_share.peek()
            ),
        );
    }
    fr.index_share.get()
}

/// B16: a dereference of `folio->mapping` outside RCU. None for NULL or a
/// freed inode: the kernel oopses there, so the thread stops (holding its
/// entry lock, as the oopsed task would).
pub(crate) fn deref_mapping(cx: &Cx, folio: u64, m: Option<u8>, site: &'static str) -> Option<u8> {
    let Some(m) = m else {
        cx.violate(
            Check::Bug("NULL pointer dereference of folio->mapping"),
            format!("{site}: folio {folio} has mapping NULL"),
        );
        return None;
    };
    if m == crate::world::MAPPING_GARBAGE {
        cx.violate(
            Check::Bug("dereference of a garbage folio->mapping (page[1] counter bits, H1)"),
            format!(
                "{site}: folio {folio}'s mapping word is {:#x}, left by a PMD rmap removal after the split",
                cx.w.frames[folio as usize]
                    .mapping_bits
                    .load(std::sync::atomic::Ordering::SeqCst)
            ),
        );
        return None;
    }
    if cx.w.file(m).evicted.peek() {
        cx.violate(
            Check::Bug("use-after-free of an evicted inode's address_space"),
            format!(
                "{site}: folio {folio}'s mapping {} was evicted and freed",
                file_name(m)
            ),
        );
        return None;
    }
    Some(m)
}

/// I19: the cookie holder holds the entry lock of (folio.mapping,
/// folio.index), and the mapping is still the one it locked.
pub(crate) fn check_mf_lock(cx: &Cx, folio: u64, locked: u8, when: &str) {
    let fr = &cx.w.frames[folio as usize];
    let (m, cell) = (fr.mapping.peek(), fr.index_share.peek());
    if m != Some(locked) {
        cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "{when}: T{} holds a cookie for folio {folio} locked through {}, \
                 but folio->mapping is now {}",
                cx.tid,
                file_name(locked),
                crate::trace::mapping_name(m)
            ),
        );
        return;
    }
    let xa = cx.w.file(locked).xa.peek();
    let held = xa
        .load(cell)
        .filter(|&(_, e)| dax_is_locked(e))
        .and_then(|(b, _)| xa.owners.get(&b).copied());
    if held != Some(cx.tid) {
        cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "{when}: T{} holds a cookie for folio {folio} but not the entry lock of {}[{cell}] \
                 (owner {held:?})",
                cx.tid,
                file_name(locked)
            ),
        );
    }
}

/// I19 for `dax_lock_mapping_entry`'s result (model-side, shadow reads): a
/// DAX mapping always gets a cookie (the kernel's 0 means `!dax_mapping`); a
/// page comes with the lock of the real entry at (file, index), whose pfn it
/// is; no page comes with the ~0 cookie (no entry, a zero or an empty one).
pub(crate) fn check_mapping_entry_lock(
    cx: &Cx,
    file: u8,
    index: u64,
    cookie: u64,
    page: Option<u64>,
) {
    let site = format!("mf_dax_kill_procs: {}[{index}]", file_name(file));
    if cookie == 0 {
        cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "{site}: dax_lock_mapping_entry returned no cookie for a DAX mapping: \
                 the memory failure gives up (-EBUSY) and leaves the page mapped"
            ),
        );
        return;
    }
    let xa = cx.w.file(file).xa.peek();
    let found = xa.load(index);
    match page {
        Some(p) => {
            let ok = found.is_some_and(|(b, e)| {
                dax_is_locked(e)
                    && xa.owners.get(&b) == Some(&cx.tid)
                    && !dax_is_zero_entry(e)
                    && !dax_is_empty_entry(e)
                    && dax_to_pfn(e) == p
                    && e == cookie | DAX_LOCKED
            });
            if !ok {
                cx.violate(
                    Check::Inv(Inv::MemoryFailureLock),
                    format!(
                        "{site}: T{} is handed page {p} (cookie {}), but the entry there is {} \
                         (owner {:?}): not a real entry of that page locked by it",
                        cx.tid,
                        crate::trace::entry_str(cookie),
                        found.map_or("none".to_string(), |(_, e)| crate::trace::entry_str(e)),
                        found.and_then(|(b, _)| xa.owners.get(&b).copied()),
                    ),
                );
            }
        }
        // Nothing locked: the entry may change before the caller looks
        // again, so only the cookie is checked.
        None if cookie != COOKIE_NONE => cx.violate(
            Check::Inv(Inv::MemoryFailureLock),
            format!(
                "{site}: no page handed back, but cookie {} (not ~0): the caller will unlock \
                 an entry it does not hold",
                crate::trace::entry_str(cookie)
            ),
        ),
        None => {}
    }
}

/// Model-side, for I19: the file whose entry `cookie` this thread locked
/// (read from the lock owners, so a racing change of `folio->mapping`
/// cannot hide which mapping the lock was taken through).
pub(crate) fn locked_through(cx: &Cx, cookie: u64) -> Option<u8> {
    cx.w.files.iter().find_map(|ino| {
        let xa = ino.xa.peek();
        let mine = xa
            .entries()
            .any(|(b, e)| e == cookie | DAX_LOCKED && xa.owners.get(&b) == Some(&cx.tid));
        mine.then_some(ino.id)
    })
}

/// `fs/dax.c` `dax_lock_folio`: lock the entry of (folio->mapping,
/// folio->index). Returns the entry (the cookie), or 0 when the folio has no
/// single owner (free, just disassociated, or shared by reflink: the caller's
/// -EBUSY).
pub fn dax_lock_folio(cx: &Cx, folio: u64) -> u64 {
    let _f = cx.enter("dax_lock_folio");
    // rcu_read_lock(): not modelled; the inode free is checked only where
    // the kernel holds no RCU read lock.
    loop {
        let Some(m) = read_once_mapping(cx, folio) else {
            return 0;
        };
        // dax_mapping(m) dereferences `mapping->host`; it holds for every
        // modelled file (no S_ISCHR host), not for counter bits (H1).
        // (Under rcu_read_lock: an evicted inode is not reported here.)
        if m == crate::world::MAPPING_GARBAGE {
            deref_mapping(cx, folio, Some(m), "dax_lock_folio: dax_mapping()");
            return 0;
        }
        let mut xa = cx.xa_lock(m);
        let fr = &cx.w.frames[folio as usize];
        // M40 drops the re-check (pre-c93db7bb6ef3 shape, B16).
        if fr.mapping.get() != Some(m) && !cx.w.has(crate::config::Mutant::M40) {
            drop(xa);
            continue;
        }
        let index = read_index(cx, folio, "dax_lock_folio");
        match xa.load(index) {
            // M46 skips the wait and locks over the holder's lock.
            Some((_, e)) if dax_is_locked(e) && !cx.w.has(crate::config::Mutant::M46) => {
                // rcu_read_unlock(); wait; rcu_read_lock(); retry from the
                // READ_ONCE, since the mapping may be gone by then.
                wait_entry_unlocked(cx, m, xa, index, e);
            }
            Some((base, e)) => {
                dax_lock_entry(cx, &mut xa, m, base, e);
                return e;
            }
            None => {
                // Unreachable while I4 holds. The kernel would lock the NULL
                // it loaded: store xa_mk_value(DAX_LOCKED) and return 0, so
                // the caller never unlocks it.
                dax_lock_entry(cx, &mut xa, m, index, 0);
                cx.ev(What::XaStore {
                    file: m,
                    index,
                    old: None,
                    new: Some(DAX_LOCKED),
                });
                cx.violate(
                    Check::Inv(Inv::MemoryFailureLock),
                    format!(
                        "dax_lock_folio: folio {folio} says {}[{index}] but no entry is there; \
                         a locked NULL value is stored and cookie 0 returned",
                        file_name(m)
                    ),
                );
                return 0;
            }
        }
    }
}

/// `fs/dax.c` `dax_unlock_folio`: re-read `folio->mapping` (no NULL check, no
/// RCU) and unlock the entry at `folio->index` with the cookie.
pub fn dax_unlock_folio(cx: &Cx, folio: u64, cookie: u64) {
    let _f = cx.enter("dax_unlock_folio");
    let fr = &cx.w.frames[folio as usize];
    let m = fr.mapping.get();
    // `S_ISCHR(mapping->host->i_mode)` is the first dereference.
    let Some(m) = deref_mapping(cx, folio, m, "dax_unlock_folio") else {
        return;
    };
    check_mf_lock(cx, folio, m, "dax_unlock_folio");
    let index = read_index(cx, folio, "dax_unlock_folio");
    dax_unlock_entry(cx, m, index, cookie);
}

/// `fs/dax.c` `dax_lock_mapping_entry`: lock the entry at (mapping, index) for
/// an FS that has already resolved the failed block to file offsets. Returns
/// the cookie and the entry's page; `COOKIE_NONE` and no page for a hole, a
/// zero or an empty entry.
pub fn dax_lock_mapping_entry(cx: &Cx, file: u8, index: u64) -> (u64, Option<u64>) {
    let _f = cx.enter("dax_lock_mapping_entry");
    // The caller holds an inode reference: the mapping cannot be freed.
    loop {
        let mut xa = cx.xa_lock(file);
        match xa.load(index) {
            Some((_, e)) if dax_is_locked(e) => wait_entry_unlocked(cx, file, xa, index, e),
            None => return (COOKIE_NONE, None),
            Some((_, e))
                if (dax_is_zero_entry(e) && !cx.w.has(crate::config::Mutant::M44))
                    || dax_is_empty_entry(e) =>
            {
                return (COOKIE_NONE, None)
            }
            Some((base, e)) => {
                dax_lock_entry(cx, &mut xa, file, base, e);
                return (e, Some(dax_to_pfn(e)));
            }
        }
    }
}

/// `fs/dax.c` `dax_unlock_mapping_entry`
pub fn dax_unlock_mapping_entry(cx: &Cx, file: u8, index: u64, cookie: u64) {
    let _f = cx.enter("dax_unlock_mapping_entry");
    if cookie == COOKIE_NONE {
        return;
    }
    dax_unlock_entry(cx, file, index, cookie);
}
